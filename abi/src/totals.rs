//! The kernel's totals at the end of a run, which the VMM prints.
//!
//! When every process has ended, the kernel writes a [`RunTotals`] at
//! [`crate::layout::RUN_TOTALS`] (reserved RAM below the kernel image) and
//! ends the VM. The VMM reads it after the exit-device write and prints the
//! end-of-run lines from it ("all N processes have ended ...", the costs
//! lines) on the guest's console, where the kernel used to print them: on
//! PVM hosts every kernel instruction is emulated, and formatting those
//! lines in the guest cost about a seventh of a whole `lde run -p hello`.
//! The kernel hands over sums and counts; the VMM divides. The VMM treats
//! the block as untrusted input: no magic, no lines; a magic with figures
//! that cannot be (more killed than ended, more processes than modules)
//! breaks the contract.

/// `RunTotals::magic`: the block is written (guest RAM starts zeroed).
pub const MAGIC: u64 = u64::from_le_bytes(*b"LDETOTL1");

/// The end-of-run figures, all `u64` (no padding: any bytes are a value).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunTotals {
    pub magic: u64,
    /// Processes created, and how many of them were killed.
    pub processes: u64,
    pub killed: u64,
    pub switches: u64,
    /// Ticks since the scheduler started.
    pub ticks: u64,
    /// TSC cycles of the timer ticks handled, and how many were measured.
    pub tick_cycles: u64,
    pub ticks_measured: u64,
    /// TSC cycles from "a process gives up the CPU" to "the next one
    /// resumes", and how many switches were measured.
    pub switch_cycles: u64,
    pub switches_measured: u64,
    /// The policy's pick-next, in TSC cycles: [kept the one running or
    /// found none, chose anew (a decision)], and how many of each.
    pub pick_cycles: [u64; 2],
    pub picks: [u64; 2],
}

// Above the command line, below the kernel image.
const _: () = assert!(
    crate::layout::CMDLINE + crate::layout::CMDLINE_MAX as u64 <= crate::layout::RUN_TOTALS
        && crate::layout::RUN_TOTALS + core::mem::size_of::<RunTotals>() as u64
            <= crate::layout::KERNEL_PHYS
);
