//! Boot: the first instructions, entered by the VMM in 64-bit kernel mode.
//!
//! The VMM has already switched the vCPU into long mode with its own GDT and
//! page tables (identity map, direct map, kernel image in the top 2 GiB),
//! interrupts off, and RDI holding the physical address of the boot info.
//! All `_start` has to do is give the kernel a stack and call into Rust.

use lde_abi::boot::{BootInfo, MAGIC};
use lde_abi::layout::DIRECT_MAP;

const BOOT_STACK_SIZE: usize = 64 * 1024;

#[repr(C, align(16))]
struct BootStack([u8; BOOT_STACK_SIZE]);

/// The stack the kernel runs on until the first process starts, and the
/// stack of the idle loop afterwards.
static mut BOOT_STACK: BootStack = BootStack([0; BOOT_STACK_SIZE]);

core::arch::global_asm!(
    ".section .text.boot, \"ax\"",
    ".global _start",
    "_start:",
    // RDI = boot info (physical); keep it for kernel_main.
    "lea rsp, [rip + {stack} + {size}]",
    "xor ebp, ebp",
    "call {main}",
    "ud2",
    stack = sym BOOT_STACK,
    size = const BOOT_STACK_SIZE,
    main = sym crate::kernel_main,
);

/// Top of the boot stack (the idle stack).
#[allow(dead_code)] // for the scheduler's idle context
pub fn boot_stack_top() -> u64 {
    core::ptr::addr_of!(BOOT_STACK) as u64 + BOOT_STACK_SIZE as u64
}

/// A kernel virtual address for a guest-physical one.
pub fn phys_to_virt(phys: u64) -> u64 {
    DIRECT_MAP + phys
}

/// The boot info the VMM handed over, after checking it is one.
///
/// Returns `None` when the magic or the contract version is wrong (a VMM
/// that is not lde, or another version of it).
pub fn boot_info(phys: u64) -> Option<&'static BootInfo> {
    if phys == 0 || phys % 8 != 0 {
        return None;
    }
    // SAFETY: the VMM put the boot info at `phys`, inside RAM, which the
    // direct map covers; nothing writes it after boot, so a shared 'static
    // reference is sound. The magic check below rejects anything else.
    let info = unsafe { &*(phys_to_virt(phys) as *const BootInfo) };
    (info.magic == MAGIC && info.version == lde_abi::CONTRACT_VERSION).then_some(info)
}

/// The command line the VMM passed (`lde run -- ARGS`), as bytes (its words
/// are compared with ASCII names, so it needs no UTF-8 check).
pub fn cmdline(info: &BootInfo) -> &'static [u8] {
    let len = (info.cmdline_len as usize).min(lde_abi::layout::CMDLINE_MAX);
    if info.cmdline_addr == 0 || len == 0 {
        return &[];
    }
    // SAFETY: the VMM wrote `len` bytes at `cmdline_addr` in RAM (the
    // direct map covers it) and never changes them while the guest runs.
    unsafe { core::slice::from_raw_parts(phys_to_virt(info.cmdline_addr) as *const u8, len) }
}

/// The ELF note that tells the VMM this is an lde kernel of our contract.
#[used]
#[link_section = ".note.lde"]
static LDE_NOTE: lde_abi::note::Note = lde_abi::note::Note::current();
