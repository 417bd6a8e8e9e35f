//! Guest memory layout: where the VMM puts things and where the kernel lives.
//!
//! Guest-physical (set up by the VMM before the first instruction):
//!
//! | address            | what                                               |
//! |--------------------|----------------------------------------------------|
//! | `BOOT_GDT`         | boot GDT (null, kernel code, kernel data)          |
//! | `BOOT_PML4`        | boot page tables: PML4, two PDPTs, PDs             |
//! | `BOOT_INFO`        | [`crate::boot::BootInfo`]                          |
//! | `CMDLINE`          | kernel command line (`CMDLINE_MAX` bytes)          |
//! | `RUN_TOTALS`       | the kernel's end-of-run totals ([`crate::totals`]) |
//! | `KERNEL_PHYS`      | kernel image (ELF segments, by their p_paddr)      |
//! | after the kernel   | boot modules (user programs), page aligned         |
//! | top of RAM         | event ring ([`crate::trace`])                      |
//!
//! Virtual (boot page tables, 2 MiB pages):
//! - `0..RAM` identity (only for the first instructions; processes drop it),
//! - `DIRECT_MAP + phys` for all of RAM (supervisor only),
//! - `KERNEL_VIRT + phys` for the first GiB: the kernel image, linked with
//!   `-C code-model=kernel`.

pub const PAGE_SIZE: u64 = 4096;
pub const HUGE_PAGE_SIZE: u64 = 2 << 20;

pub const BOOT_GDT: u64 = 0x1000;
pub const BOOT_PML4: u64 = 0x2000;
/// PDPT of the identity map.
pub const BOOT_PDPT_LOW: u64 = 0x3000;
/// PDPT of the top 512 GiB: the direct map and the kernel image.
pub const BOOT_PDPT_HIGH: u64 = 0x4000;
/// First of the page directories (one per GiB of RAM).
pub const BOOT_PD: u64 = 0x5000;
/// Most RAM the boot page tables cover (one PD per GiB, up to `BOOT_INFO`).
pub const MAX_RAM: u64 = 3 << 30;

pub const BOOT_INFO: u64 = 0x8000;
/// Room for the boot info below: 256 boot modules and more (checked at
/// compile time in `boot.rs`).
pub const CMDLINE: u64 = 0x8_0000;
pub const CMDLINE_MAX: usize = 4096;
/// Where the kernel leaves its end-of-run totals for the VMM
/// ([`crate::totals`]), just above the command line.
pub const RUN_TOTALS: u64 = 0x8_1000;

/// The kernel is linked to run at `KERNEL_VIRT + KERNEL_PHYS`.
pub const KERNEL_PHYS: u64 = 0x10_0000;
pub const KERNEL_VIRT: u64 = 0xffff_ffff_8000_0000;
/// All guest RAM is visible to the kernel at `DIRECT_MAP + phys`.
///
/// It shares the last PML4 slot with the kernel image, so the whole kernel
/// half is one PML4 entry that every address space copies.
pub const DIRECT_MAP: u64 = 0xffff_ff80_0000_0000;

/// Smallest RAM `lde run --mem` accepts.
pub const MIN_RAM: u64 = 8 << 20;

/// User programs live in the lower half: below this address.
pub const USER_END: u64 = 0x0000_8000_0000_0000;
/// Lowest address a user segment may use (the first page stays unmapped so
/// that null pointers fault).
pub const USER_MIN: u64 = 0x1000;
/// Top of a user stack (the stack grows down from here).
pub const USER_STACK_TOP: u64 = 0x0000_7fff_ffff_0000;
/// Pages of user stack mapped at start. Below it one guard page stays
/// unmapped so an overflow faults.
pub const USER_STACK_PAGES: u64 = 16;
/// The unmapped guard page below the user stack: a fault here is a stack
/// overflow, and user segments must end below it.
pub const USER_STACK_GUARD: u64 = USER_STACK_TOP - (USER_STACK_PAGES + 1) * PAGE_SIZE;
/// The kernel's own pages at the very top of every user half, above the
/// stack (the kernel's xstate.rs): the process's extended-register save
/// area, memory of its own, and the stub that runs `xsave`/`xrstor` in
/// user mode, shared read-only by all.
pub const USER_XSTATE_PAGES: u64 = 2;
pub const USER_XSTATE_BASE: u64 = USER_END - USER_XSTATE_PAGES * PAGE_SIZE;

/// Guest physical RAM is one slot starting at 0.
pub const RAM_START: u64 = 0;
