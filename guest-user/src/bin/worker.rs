//! Prints NAME: step i/COUNT lines with ~8 ms of pure computation between them (defaults w, 5).
//!
//! A CPU-bound job that shows scheduling on the console: between its lines
//! it makes no system call and never yields, so only the timer can take the
//! CPU away from it. Under round robin with a 10 ms quantum two workers'
//! lines interleave; under `--sched coop` (or fifo) one worker prints all
//! its lines before the other starts.
//!
//! The work is a fixed number of LCG steps (ulib `work::busy`), calibrated
//! with RDTSC on the project's machines to about 8 ms: a fixed amount of
//! computation, not of time, so a preempted worker takes longer.
//! Usage: `worker [NAME [COUNT]]`.
#![no_std]
#![no_main]

use ulib::work::{busy, STEPS_PER_MS};
use ulib::{println, usage, Args};

/// Busy steps between two lines: about 8 ms.
const STEPS_PER_LINE: u64 = 8 * STEPS_PER_MS;

#[no_mangle]
fn main(args: Args) -> i32 {
    let name = args.get(1).unwrap_or("w");
    let Some(count) = args.number_or(2, 5).filter(|_| args.len() <= 3) else {
        return usage("worker [NAME [COUNT]]   (defaults: w 5)");
    };
    let mut x = count;
    for i in 1..=count {
        x = busy(x, STEPS_PER_LINE);
        println!("{name}: step {i}/{count}");
    }
    // The result means nothing; keep it so the work is never dead code.
    core::hint::black_box(x);
    0
}
