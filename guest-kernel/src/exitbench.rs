//! `exitbench=N`: time N VM exit round trips from the guest's side.
//!
//! The kernel writes N times to `NULL_PORT`, an I/O port the VMM ignores,
//! and reads the TSC before and after. Each `out` is a VM exit that reaches
//! the VMM (the same path as a byte to the serial port: KVM returns from
//! `KVM_RUN`, lde records the exit, enters the guest again), so the cycles
//! per write are one exit round trip as the guest sees it, including what
//! the VMM does to record it (`--trace` or not). Used by
//! scripts/bench_exec.py. Ends the VM with status 0.
//!
//! The writes are unrolled by [`UNROLL`] so that the loop's own instructions
//! (which PVM hosts emulate, like all kernel-mode code) weigh little.

use lde_abi::ports::NULL_PORT;

use crate::time::rdtsc;
use crate::{println, vmexit};

/// `out` instructions per loop iteration.
const UNROLL: u64 = 8;

/// Do `n` exits (rounded up to a multiple of [`UNROLL`]), print the cost
/// and end the VM.
pub fn run(n: u64, tsc_khz: u64) -> ! {
    let rounds = n.div_ceil(UNROLL).max(1);
    let exits = rounds * UNROLL;
    let start = rdtsc();
    for _ in 0..rounds {
        // SAFETY: a write to NULL_PORT only causes a VM exit that the VMM
        // records and ignores; `out` reads DX and AL and touches no memory,
        // no other register and not the flags.
        unsafe {
            core::arch::asm!(
                "out dx, al", "out dx, al", "out dx, al", "out dx, al",
                "out dx, al", "out dx, al", "out dx, al", "out dx, al",
                in("dx") NULL_PORT, in("al") 0u8,
                options(nomem, nostack, preserves_flags)
            );
        }
    }
    let cycles = rdtsc() - start;
    let per_exit = cycles / exits;
    let ns = (per_exit as u128 * 1_000_000)
        .checked_div(tsc_khz as u128)
        .unwrap_or(0);
    println!("exitbench: {exits} exits, {per_exit} cycles/exit ({ns} ns/exit at {tsc_khz} kHz)");
    vmexit::exit(0)
}
