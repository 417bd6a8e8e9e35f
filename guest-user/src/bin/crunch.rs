//! Runs N million steps of the benchmark loop (lde-abi work::busy) without system calls and prints its TSC start/end.
//!
//! The guest half of the direct-execution benchmark (scripts/bench_exec.py):
//! pure user-mode computation, the very loop `vmm/examples/crunch_native.rs`
//! runs on the host. It reads the TSC, runs the loop, reads the TSC again
//! and only then makes its first system call, to print one line:
//! `crunch: steps=N start_tsc=S end_tsc=E cycles=E-S`. Several crunch
//! processes under `--sched rr` share the CPU, so the useful work per second
//! of the whole machine is their steps over (last end - first start).
//! Usage: `crunch [N]`, N million steps, default 100.
#![no_std]
#![no_main]

use ulib::sys::rdtsc_ordered;
use ulib::work::busy;
use ulib::{println, usage, Args};

#[no_mangle]
fn main(args: Args) -> i32 {
    let Some(millions) = args.number_or(1, 100).filter(|&n| n > 0 && args.len() <= 2) else {
        return usage("crunch [N]   (N > 0 million steps of the benchmark loop, default 100)");
    };
    let steps = millions.saturating_mul(1_000_000);
    let start = rdtsc_ordered();
    let x = busy(start, steps);
    let end = rdtsc_ordered();
    core::hint::black_box(x);
    println!(
        "crunch: steps={steps} start_tsc={start} end_tsc={end} cycles={}",
        end - start
    );
    0
}
