//! Busy work: computation the compiler can neither remove nor fold, for
//! programs that must burn CPU time without system calls.
//!
//! The loop itself lives in lde-abi (`lde_abi::work`) so that host
//! benchmarks run the very same code; this module re-exports it.

pub use lde_abi::work::*;

use crate::sys::{self, rdtsc};

/// Compute until this process's CPU time reaches `target` ticks; returns
/// the CPU time then, or the error of `cpu_ticks`. It checks the time about
/// every 50 µs of work: under `--sched coop` no timer tick ends a job, the
/// kernel counts CPU ticks from the TSC.
pub fn compute_until(target: u64) -> Result<u64, i64> {
    let tsc_khz = match sys::clock().tsc_khz {
        0 => 2_400_000,
        khz => khz,
    };
    let check_every = tsc_khz / 20; // 50 µs of TSC
    let mut seed = rdtsc();
    loop {
        let ticks = sys::cpu_ticks();
        if ticks < 0 {
            return Err(ticks);
        }
        if ticks as u64 >= target {
            return Ok(ticks as u64);
        }
        let start = rdtsc();
        while rdtsc() - start < check_every {
            seed = busy(seed, STEPS_PER_MS / 100); // about 10 µs
        }
    }
}
