//! The trap table: the Interrupt Descriptor Table, installed at boot.
//!
//! One gate per vector says where the CPU goes when that trap happens and
//! who may raise it with `int n`. Every gate is an interrupt gate (the CPU
//! clears IF on entry), so the kernel always runs with interrupts off and
//! never has to think about being interrupted itself.
//!
//! | vector     | what                          | DPL | handler              |
//! |------------|-------------------------------|-----|----------------------|
//! | 0..=31     | CPU exceptions                | 0   | `trap_stub_N`        |
//! | 3 (#BP)    | breakpoint (`int3`)           | 3   | `trap_stub_3`        |
//! | 8 (#DF)    | double fault, on IST 1        | 0   | `trap_stub_8`        |
//! | 0x20       | APIC timer                    | 0   | `trap_stub_32`       |
//! | 0x80       | system call                   | 3   | `trap_stub_128`      |
//! | 0xff       | APIC spurious                 | 0   | `trap_stub_255`      |
//!
//! Only 0x80 and `int3` have DPL 3 (as in Linux): a user `int n` to any
//! other vector is a #GP (a not-present vector, #NP), which kills the
//! process. `int3` is the bare trap the kernel returns from at once.

use core::ptr::{addr_of, addr_of_mut};
use lde_abi::cpu::selector::KERNEL_CS;
use lde_abi::cpu::vector::{BREAKPOINT, DOUBLE_FAULT, SPURIOUS, SYSCALL, TIMER};
use lde_abi::trace::vector_name;

use crate::gdt;
use crate::trap_entry;

const GATE_PRESENT: u64 = 0x80;
const GATE_INTERRUPT: u64 = 0xe;

/// One 16-byte gate descriptor, as the CPU reads it, in two quadwords:
///
/// | bits (low)  | field                         | bits (high) | field         |
/// |-------------|-------------------------------|-------------|---------------|
/// | 0..16       | handler address, bits 0..16   | 0..32       | handler 32..64|
/// | 16..32      | code segment selector         | 32..64      | reserved      |
/// | 32..35      | IST slot (0 = none)           |             |               |
/// | 40..48      | type (0xe interrupt), DPL, P  |             |               |
/// | 48..64      | handler address, bits 16..32  |             |               |
#[derive(Clone, Copy)]
#[repr(C)]
struct Gate {
    low: u64,
    high: u64,
}

/// A present interrupt gate into the kernel's code segment, DPL 0, no IST.
const KERNEL_GATE: u64 = (KERNEL_CS as u64) << 16 | (GATE_PRESENT | GATE_INTERRUPT) << 40;

impl Gate {
    const MISSING: Gate = Gate { low: 0, high: 0 };

    /// A kernel gate to `handler`; [`dpl`](Self::dpl) and
    /// [`ist`](Self::ist) adjust it. Built with a few shifts and masks:
    /// on PVM hosts each of the 35 gates costs its instructions at every
    /// boot.
    #[inline(always)]
    fn new(handler: u64) -> Gate {
        Gate {
            low: KERNEL_GATE | (handler & 0xffff) | (handler & 0xffff_0000) << 32,
            high: handler >> 32,
        }
    }

    /// Who may raise the vector with `int n`: 0 the kernel only, 3 anyone.
    fn dpl(mut self, dpl: u8) -> Gate {
        self.low |= (dpl as u64 & 3) << 45;
        self
    }

    /// Switch to IST stack `ist` (1..=7) on entry.
    fn ist(mut self, ist: u8) -> Gate {
        self.low |= (ist as u64 & 7) << 32;
        self
    }

    fn handler(&self) -> u64 {
        self.low & 0xffff | (self.low >> 32) & 0xffff_0000 | self.high << 32
    }

    fn type_attr(&self) -> u8 {
        (self.low >> 40) as u8
    }

    fn ist_slot(&self) -> u8 {
        (self.low >> 32) as u8 & 7
    }
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

static mut IDT: Idt = Idt([Gate::MISSING; 256]);

/// Fill in the gates and `lidt` the table.
pub fn init() {
    // SAFETY: runs once at boot with interrupts off, before any trap can be
    // delivered; the table is a static so the CPU's pointer stays valid.
    unsafe {
        let idt = &mut (*addr_of_mut!(IDT)).0;
        // The exception stubs lie in vector order, each aligned to the
        // stride (trap_entry.rs), so each starts at least a stride after
        // the one before: if the last is exactly 31 strides after the
        // first, all are at their place. If also none crosses a 64 KiB
        // boundary, the gates differ only in `offset_low`, by the stride:
        // fill those in. If not, build every gate in full from the table.
        let first = trap_entry::stub(0);
        let last = trap_entry::stub(31);
        let gate = Gate::new(first);
        let mut low = gate.low;
        for g in &mut idt[..32] {
            *g = Gate {
                low,
                high: gate.high,
            };
            low += trap_entry::STUB_STRIDE;
        }
        if last != first + 31 * trap_entry::STUB_STRIDE || (last ^ first) >> 16 != 0 {
            for v in 0..32u8 {
                idt[v as usize] = Gate::new(trap_entry::stub(v));
            }
        }
        idt[BREAKPOINT as usize] = idt[BREAKPOINT as usize].dpl(3);
        idt[DOUBLE_FAULT as usize] = idt[DOUBLE_FAULT as usize].ist(gdt::DOUBLE_FAULT_IST);
        idt[TIMER as usize] = Gate::new(trap_entry::stub(TIMER));
        idt[SYSCALL as usize] = Gate::new(trap_entry::stub(SYSCALL)).dpl(3);
        idt[SPURIOUS as usize] = Gate::new(trap_entry::stub(SPURIOUS));
        let ptr = x86_64::structures::DescriptorTablePointer {
            limit: (core::mem::size_of::<Idt>() - 1) as u16,
            base: x86_64::VirtAddr::new(addr_of!(IDT) as u64),
        };
        x86_64::instructions::tables::lidt(&ptr);
    }
}

/// The first quadword of the `int3` gate (its handler's low 32 bits, its
/// IST slot and its DPL), where it is in the table, and what it holds
/// when it leads to `handler` on IST stack `ist` instead: upcall.rs swaps
/// the two around each upcall. `handler` must lie in the same 4 GiB as
/// `trap_stub_3` (the gate's second quadword stays as it is).
pub fn breakpoint_gate(handler: u64, ist: u8) -> (*mut u64, u64) {
    let gate = Gate::new(handler).dpl(3).ist(ist);
    // SAFETY: `init` filled the table; this only takes an address in it.
    let kernel = unsafe { &mut (*addr_of_mut!(IDT)).0[BREAKPOINT as usize] };
    assert_eq!(
        gate.high, kernel.high,
        "the upcall's int3 handler is too far"
    );
    (&mut kernel.low as *mut u64, gate.low)
}

/// `show-idt`: print the installed gates, read back from the table itself.
pub fn print() {
    crate::println!("trap table (IDT) at {:#x}:", addr_of!(IDT) as u64);
    crate::println!("  vec  name                        handler             DPL  type       IST");
    // SAFETY: the IDT is only written by `init`, before this runs.
    let idt = unsafe { &(*addr_of!(IDT)).0 };
    for (v, g) in idt.iter().enumerate() {
        if g.type_attr() as u64 & GATE_PRESENT == 0 {
            continue;
        }
        let kind = match g.type_attr() & 0xf {
            0xe => "interrupt",
            0xf => "trap",
            _ => "?",
        };
        crate::println!(
            "  {:#04x} {:<27} {:#018x}  {}    {:<9}  {}",
            v,
            vector_name(v as u64),
            g.handler(),
            (g.type_attr() >> 5) & 3,
            kind,
            g.ist_slot()
        );
    }
}
