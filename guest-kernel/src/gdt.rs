//! Kernel mode and user mode: the GDT and the TSS.
//!
//! The privilege level the CPU runs at is the low two bits of CS. The GDT
//! holds the code and data segments for ring 0 (kernel) and ring 3 (user) in
//! the Linux x86-64 layout (lde-abi `cpu::selector`: PVM hosts insist on
//! user CS 0x33, and the VMM's boot GDT uses the same kernel selectors):
//!
//! | selector | segment                                  |
//! |----------|------------------------------------------|
//! | 0x10     | kernel code, 64-bit, DPL 0               |
//! | 0x18     | kernel data, DPL 0                       |
//! | 0x23     | user code, 32-bit (unused, keeps layout) |
//! | 0x2b     | user data, DPL 3                         |
//! | 0x33     | user code, 64-bit, DPL 3                 |
//! | 0x38     | TSS                                      |
//!
//! The TSS tells the CPU which stack to switch to when a trap arrives from
//! user mode: RSP0, which the scheduler points at the kernel stack of the
//! process about to run. A double fault gets its own stack (IST 1) so that
//! even a kernel stack overflow is reported instead of triple-faulting.

use core::ptr::addr_of;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::{lgdt, load_tss};
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::structures::gdt::Descriptor;
use x86_64::structures::tss::TaskStateSegment;
use x86_64::structures::DescriptorTablePointer;
use x86_64::VirtAddr;

use lde_abi::cpu::selector::{KERNEL_CS, KERNEL_DS, TSS as TSS_SEL};

/// IST slot (1-based in the IDT gate) of the double-fault stack.
pub const DOUBLE_FAULT_IST: u8 = 1;
/// IST slot of the stack an upcall's `int3` comes back on (upcall.rs).
pub const UPCALL_IST: u8 = 2;

const DF_STACK_SIZE: usize = 16 * 1024;
#[repr(C, align(16))]
struct DfStack([u8; DF_STACK_SIZE]);
static mut DF_STACK: DfStack = DfStack([0; DF_STACK_SIZE]);

static mut TSS: TaskStateSegment = TaskStateSegment::new();

/// A 32-bit DPL 3 code segment: present only to keep the Linux layout.
const USER_CODE32: u64 = 0x00cf_fa00_0000_ffff;

/// The raw value of a code or data segment descriptor.
const fn raw(d: Descriptor) -> u64 {
    match d {
        Descriptor::UserSegment(v) => v,
        Descriptor::SystemSegment(..) => panic!("not a code or data segment"),
    }
}

/// The GDT, laid out at compile time (cheap to install where kernel
/// instructions are emulated); only the TSS descriptor (slots 7 and 8)
/// needs the TSS's address and is filled in at boot.
static mut GDT: [u64; 9] = [
    0,
    0, // 0x08: unused
    raw(Descriptor::kernel_code_segment()),
    raw(Descriptor::kernel_data_segment()),
    USER_CODE32,
    raw(Descriptor::user_data_segment()),
    raw(Descriptor::user_code_segment()),
    0, // 0x38: TSS, low
    0, // 0x38: TSS, high
];

/// Build and load the GDT and the TSS. Called once at boot.
pub fn init() {
    // SAFETY: runs once at boot on the only CPU, before anything else uses
    // GDT or TSS; both are statics, so the 'static references the CPU keeps
    // stay valid.
    unsafe {
        let tss = &mut *core::ptr::addr_of_mut!(TSS);
        tss.interrupt_stack_table[(DOUBLE_FAULT_IST - 1) as usize] =
            VirtAddr::new(addr_of!(DF_STACK) as u64 + DF_STACK_SIZE as u64);
        tss.privilege_stack_table[0] = VirtAddr::new(crate::boot::boot_stack_top());

        let gdt = &mut *core::ptr::addr_of_mut!(GDT);
        if let Descriptor::SystemSegment(low, high) = Descriptor::tss_segment(&*addr_of!(TSS)) {
            gdt[(TSS_SEL / 8) as usize] = low;
            gdt[(TSS_SEL / 8) as usize + 1] = high;
        }
        lgdt(&DescriptorTablePointer {
            limit: (core::mem::size_of::<[u64; 9]>() - 1) as u16,
            base: VirtAddr::new(gdt.as_ptr() as u64),
        });
        CS::set_reg(SegmentSelector(KERNEL_CS));
        let data = SegmentSelector(KERNEL_DS);
        DS::set_reg(data);
        ES::set_reg(data);
        SS::set_reg(data);
        load_tss(SegmentSelector(TSS_SEL));
    }
}

/// Point IST slot `ist` (1..=7) at the stack top `top`. Called at boot.
pub fn set_interrupt_stack(ist: u8, top: u64) {
    // SAFETY: runs at boot with interrupts off, before any gate that names
    // the slot is used; the TSS is a static the CPU reads by address.
    unsafe {
        let tss = &mut *core::ptr::addr_of_mut!(TSS);
        tss.interrupt_stack_table[(ist - 1) as usize] = VirtAddr::new(top);
    }
}

/// Point TSS.RSP0 at `top`: the stack the CPU switches to on the next trap
/// from user mode.
#[inline(always)]
pub fn set_kernel_stack(top: u64) {
    // SAFETY: the CPU only reads RSP0 on a trap from ring 3, which cannot
    // happen while the kernel runs with interrupts off (it always does).
    // `top` is a kernel stack address, canonical: stored as it is.
    unsafe {
        core::ptr::addr_of_mut!((*core::ptr::addr_of_mut!(TSS)).privilege_stack_table[0])
            .cast::<u64>()
            .write_unaligned(top);
    }
}
