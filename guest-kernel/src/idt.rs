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

const GATE_PRESENT: u8 = 0x80;
const GATE_INTERRUPT: u8 = 0xe;

/// One 16-byte gate descriptor, as the CPU reads it.
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

impl Gate {
    const MISSING: Gate = Gate {
        offset_low: 0,
        selector: 0,
        ist: 0,
        type_attr: 0,
        offset_mid: 0,
        offset_high: 0,
        reserved: 0,
    };

    fn new(handler: u64, dpl: u8, ist: u8) -> Gate {
        Gate {
            offset_low: handler as u16,
            selector: KERNEL_CS,
            ist,
            type_attr: GATE_PRESENT | (dpl << 5) | GATE_INTERRUPT,
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }

    fn handler(&self) -> u64 {
        self.offset_low as u64 | (self.offset_mid as u64) << 16 | (self.offset_high as u64) << 32
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
        for v in 0..32u8 {
            let ist = if v == DOUBLE_FAULT {
                gdt::DOUBLE_FAULT_IST
            } else {
                0
            };
            let dpl = if v == BREAKPOINT { 3 } else { 0 };
            idt[v as usize] = Gate::new(trap_entry::stub(v), dpl, ist);
        }
        idt[TIMER as usize] = Gate::new(trap_entry::stub(TIMER), 0, 0);
        idt[SYSCALL as usize] = Gate::new(trap_entry::stub(SYSCALL), 3, 0);
        idt[SPURIOUS as usize] = Gate::new(trap_entry::stub(SPURIOUS), 0, 0);
        let ptr = x86_64::structures::DescriptorTablePointer {
            limit: (core::mem::size_of::<Idt>() - 1) as u16,
            base: x86_64::VirtAddr::new(addr_of!(IDT) as u64),
        };
        x86_64::instructions::tables::lidt(&ptr);
    }
}

/// `show-idt`: print the installed gates, read back from the table itself.
pub fn print() {
    crate::println!("trap table (IDT) at {:#x}:", addr_of!(IDT) as u64);
    crate::println!("  vec  name                        handler             DPL  type       IST");
    // SAFETY: the IDT is only written by `init`, before this runs.
    let idt = unsafe { &(*addr_of!(IDT)).0 };
    for (v, g) in idt.iter().enumerate() {
        if g.type_attr & GATE_PRESENT == 0 {
            continue;
        }
        let kind = match g.type_attr & 0xf {
            0xe => "interrupt",
            0xf => "trap",
            _ => "?",
        };
        crate::println!(
            "  {:#04x} {:<27} {:#018x}  {}    {:<9}  {}",
            v,
            vector_name(v as u64),
            g.handler(),
            (g.type_attr >> 5) & 3,
            kind,
            g.ist
        );
    }
}
