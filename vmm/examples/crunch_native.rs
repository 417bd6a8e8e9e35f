//! The host half of the direct-execution benchmark (scripts/bench_exec.py):
//! the very loop the guest program `crunch` runs (lde-abi `work::busy`),
//! run natively, several times in a row as if it were several processes
//! sharing one CPU one after the other.
//!
//! Usage: `crunch_native [N] [REPEATS]`: N million steps (default 100),
//! REPEATS runs (default 3). It prints one line per run and a total:
//!
//! ```text
//! crunch_native: run 1 steps=N cycles=C ns=T
//! crunch_native: total steps=3N cycles=C ns=T
//! ```
//!
//! Cycles are TSC cycles, the clock the guest's `crunch` reads (a KVM guest
//! sees the host's TSC rate); ns is `Instant` time.
//!
//! ```text
//! cargo run --release --example crunch_native -- 400 3
//! ```

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use lde_abi::work::busy;

/// TSC read bracketed by LFENCE, as ulib's `rdtsc_ordered`.
fn rdtsc_ordered() -> u64 {
    // SAFETY: LFENCE and RDTSC only order and read the time-stamp counter;
    // every x86-64 CPU has both (SSE2 is part of the baseline).
    unsafe {
        use std::arch::x86_64::{_mm_lfence, _rdtsc};
        _mm_lfence();
        let t = _rdtsc();
        _mm_lfence();
        t
    }
}

fn arg(args: &[String], i: usize, default: u64) -> Option<u64> {
    match args.get(i) {
        None => Some(default),
        Some(s) => s.parse().ok().filter(|&n| n > 0),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(millions), Some(repeats)) = (arg(&args, 1, 100), arg(&args, 2, 3)) else {
        eprintln!("usage: crunch_native [N] [REPEATS]   (N million steps, default 100; REPEATS default 3)");
        return ExitCode::from(2);
    };
    if args.len() > 3 {
        eprintln!("usage: crunch_native [N] [REPEATS]");
        return ExitCode::from(2);
    }
    let steps = millions.saturating_mul(1_000_000);
    let t0 = Instant::now();
    let first = rdtsc_ordered();
    for run in 1..=repeats {
        let start_ns = Instant::now();
        let start = rdtsc_ordered();
        black_box(busy(start, steps));
        let end = rdtsc_ordered();
        println!(
            "crunch_native: run {run} steps={steps} cycles={} ns={}",
            end - start,
            start_ns.elapsed().as_nanos()
        );
    }
    let last = rdtsc_ordered();
    println!(
        "crunch_native: total steps={} cycles={} ns={}",
        steps * repeats,
        last - first,
        t0.elapsed().as_nanos()
    );
    ExitCode::SUCCESS
}
