//! The FS and GS segment registers of user processes: selectors and bases,
//! saved and restored at every context switch, so a program that keeps its
//! thread-local storage at FS keeps it, and no process sees the bases
//! another one left.
//!
//! A user program can change them without the kernel: `mov fs, ax` (only
//! the null selector and the user data selector load without #GP) and, when
//! CR4.FSGSBASE is on, `wrfsbase`/`wrgsbase`. On PVM hosts user mode runs
//! with the host's CR4, where FSGSBASE is on whatever the guest sets; on
//! VMX/SVM hosts it is the guest's own bit. [`init`] turns it on wherever the
//! CPU has it (as Linux does), so programs see the same machine on both.
//!
//! The kernel itself never uses FS or GS (no `swapgs`, no per-CPU data
//! behind GS, no thread-local storage), so a base chosen by user code
//! cannot mislead it.

use x86_64::instructions::segmentation::{Segment, FS, GS};
use x86_64::registers::control::{Cr4, Cr4Flags};
use x86_64::registers::model_specific::{FsBase, GsBase};
use x86_64::structures::gdt::SegmentSelector;
use x86_64::VirtAddr;

/// What a process left in FS and GS.
#[derive(Clone, Copy)]
pub struct Segments {
    fs: u16,
    gs: u16,
    fs_base: u64,
    gs_base: u64,
}

impl Segments {
    /// A new process starts with null selectors and zero bases.
    pub const INITIAL: Segments = Segments {
        fs: 0,
        gs: 0,
        fs_base: 0,
        gs_base: 0,
    };
}

/// Let user code use `rdfsbase`/`wrfsbase`/`rdgsbase`/`wrgsbase` where the
/// CPU has them (CPUID leaf 7, EBX bit 0).
pub fn init() {
    let leaf7 = core::arch::x86_64::__cpuid_count(7, 0);
    if leaf7.ebx & 1 == 0 {
        return;
    }
    // SAFETY: sets a CR4 bit the CPU says it supports; nothing the kernel
    // does depends on it being clear.
    unsafe { Cr4::update(|f| f.insert(Cr4Flags::FSGSBASE)) };
}

/// Save the running process's FS and GS.
pub fn save(s: &mut Segments) {
    s.fs = FS::get_reg().0;
    s.gs = GS::get_reg().0;
    s.fs_base = FsBase::read().as_u64();
    s.gs_base = GsBase::read().as_u64();
}

/// Load a process's FS and GS: the selectors first (loading one also loads
/// a base from its descriptor), then the bases.
pub fn restore(s: &Segments) {
    // SAFETY: the selectors are values user code had loaded itself (so they
    // load without a fault) or null; the kernel never uses FS or GS. The
    // bases were read from the MSRs, so they are canonical.
    unsafe {
        FS::set_reg(SegmentSelector(s.fs));
        GS::set_reg(SegmentSelector(s.gs));
    }
    FsBase::write(VirtAddr::new_truncate(s.fs_base));
    GsBase::write(VirtAddr::new_truncate(s.gs_base));
}
