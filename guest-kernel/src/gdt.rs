//! Kernel mode and user mode: the GDT and the TSS.
//!
//! The privilege level the CPU runs at is the low two bits of CS. The GDT
//! holds the code and data segments for ring 0 (kernel) and ring 3 (user) in
//! the Linux x86-64 layout (kvm-host.md: PVM insists on user CS 0x33):
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
use x86_64::instructions::tables::load_tss;
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::{PrivilegeLevel, VirtAddr};

pub const KERNEL_CS: u16 = 0x10;
pub const KERNEL_DS: u16 = 0x18;
pub const USER_DS: u16 = 0x2b;
pub const USER_CS: u16 = 0x33;
const TSS_SEL: u16 = 0x38;

/// IST slot (1-based in the IDT gate) of the double-fault stack.
pub const DOUBLE_FAULT_IST: u8 = 1;

const DF_STACK_SIZE: usize = 16 * 1024;
#[repr(C, align(16))]
struct DfStack([u8; DF_STACK_SIZE]);
static mut DF_STACK: DfStack = DfStack([0; DF_STACK_SIZE]);

static mut TSS: TaskStateSegment = TaskStateSegment::new();
static mut GDT: GlobalDescriptorTable<9> = GlobalDescriptorTable::empty();

/// A 32-bit DPL 3 code segment: present only to keep the Linux layout.
const USER_CODE32: u64 = 0x00cf_fa00_0000_ffff;

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
        gdt.append(Descriptor::UserSegment(0)); // 0x08: unused
        let kcs = gdt.append(Descriptor::kernel_code_segment());
        let kds = gdt.append(Descriptor::kernel_data_segment());
        gdt.append(Descriptor::UserSegment(USER_CODE32)); // 0x23
        let uds = gdt.append(Descriptor::user_data_segment());
        let ucs = gdt.append(Descriptor::user_code_segment());
        let tss_sel = gdt.append(Descriptor::tss_segment(&*addr_of!(TSS)));
        debug_assert!(kcs.0 == KERNEL_CS && kds.0 == KERNEL_DS);
        debug_assert!(uds.0 == USER_DS && ucs.0 == USER_CS && tss_sel.0 == TSS_SEL);

        gdt.load_unsafe();
        CS::set_reg(SegmentSelector::new(2, PrivilegeLevel::Ring0));
        let data = SegmentSelector::new(3, PrivilegeLevel::Ring0);
        DS::set_reg(data);
        ES::set_reg(data);
        SS::set_reg(data);
        load_tss(SegmentSelector(TSS_SEL));
    }
}

/// Point TSS.RSP0 at `top`: the stack the CPU switches to on the next trap
/// from user mode.
pub fn set_kernel_stack(top: u64) {
    // SAFETY: the CPU only reads RSP0 on a trap from ring 3, which cannot
    // happen while the kernel runs with interrupts off (it always does).
    unsafe {
        (*core::ptr::addr_of_mut!(TSS)).privilege_stack_table[0] = VirtAddr::new(top);
    }
}
