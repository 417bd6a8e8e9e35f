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

use core::sync::atomic::{AtomicBool, Ordering};

use x86_64::instructions::segmentation::{Segment, FS, GS};
use x86_64::registers::control::{Cr4, Cr4Flags};
use x86_64::registers::model_specific::Msr;
use x86_64::structures::gdt::SegmentSelector;

use crate::kcell::KernelCell;

const FS_BASE: Msr = Msr::new(0xc000_0100);
const GS_BASE: Msr = Msr::new(0xc000_0101);

/// What a process left in FS and GS.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    /// FS in the low 16 bits, GS in the next 16 (one compare for both).
    selectors: u32,
    fs_base: u64,
    gs_base: u64,
}

impl Segments {
    /// A new process starts with null selectors and zero bases.
    pub const INITIAL: Segments = Segments {
        selectors: 0,
        fs_base: 0,
        gs_base: 0,
    };
}

/// What the CPU holds: the last segments saved or restored (most programs
/// never change theirs, so a switch between two of them writes nothing).
static LOADED: KernelCell<Segments> = KernelCell::new(Segments::INITIAL);

/// CR4.FSGSBASE is on: the kernel reads the bases with `rdfsbase` and
/// `rdgsbase` too, one instruction each where `rdmsr` takes four with its
/// operands (each one emulated on PVM hosts, which run both).
static FSGSBASE: AtomicBool = AtomicBool::new(false);

/// Start from null selectors and zero bases ([`LOADED`]), and let user code
/// use `rdfsbase`/`wrfsbase`/`rdgsbase`/`wrgsbase` where the CPU has them
/// (CPUID leaf 7, EBX bit 0).
pub fn init() {
    load(&Segments::INITIAL);
    let leaf7 = core::arch::x86_64::__cpuid_count(7, 0);
    if leaf7.ebx & 1 == 0 {
        return;
    }
    // SAFETY: sets a CR4 bit the CPU says it supports; nothing the kernel
    // does depends on it being clear.
    unsafe { Cr4::update(|f| f.insert(Cr4Flags::FSGSBASE)) };
    FSGSBASE.store(true, Ordering::Relaxed);
}

/// Save the running process's FS and GS.
#[inline(always)]
pub fn save(s: &mut Segments) {
    let (fs_base, gs_base): (u64, u64);
    if FSGSBASE.load(Ordering::Relaxed) {
        // SAFETY: CR4.FSGSBASE is on (`init`); they only read the bases.
        unsafe {
            core::arch::asm!(
                "rdfsbase {}",
                "rdgsbase {}",
                out(reg) fs_base,
                out(reg) gs_base,
                options(nomem, nostack, preserves_flags)
            )
        };
    } else {
        // SAFETY: reading the base MSRs has no side effects.
        (fs_base, gs_base) = unsafe { (FS_BASE.read(), GS_BASE.read()) };
    }
    let now = Segments {
        selectors: u32::from(FS::get_reg().0) | u32::from(GS::get_reg().0) << 16,
        fs_base,
        gs_base,
    };
    *s = now;
    LOADED.with(|l| *l = now);
}

/// Load a process's FS and GS, unless the CPU holds them already.
#[inline(always)]
pub fn restore(s: &Segments) {
    if LOADED.with(|l| *l != *s) {
        load(s);
    }
}

/// The selectors first (loading one also loads a base from its
/// descriptor), then the bases.
fn load(s: &Segments) {
    LOADED.with(|l| *l = *s);
    // SAFETY: the selectors are values user code had loaded itself (so they
    // load without a fault) or null; the kernel never uses FS or GS. The
    // bases were read from the MSRs, so they are canonical.
    unsafe {
        FS::set_reg(SegmentSelector(s.selectors as u16));
        GS::set_reg(SegmentSelector((s.selectors >> 16) as u16));
        let (mut fs_base, mut gs_base) = (FS_BASE, GS_BASE);
        fs_base.write(s.fs_base);
        gs_base.write(s.gs_base);
    }
}
