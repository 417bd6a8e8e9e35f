//! Uses N ticks of CPU time, then exits 0 (OSTEP's job of length N).
//!
//! The scheduling homework's job: pure computation that ends when it has
//! had N ticks of CPU time. It asks the kernel for a CPU budget of N ticks
//! (`cpu_budget`), so the kernel ends it at exactly the tick that completes
//! the job, as in OSTEP's model, instead of whenever it next gets to run.
//! It also checks `cpu_ticks` about every 50 µs of work: under `--sched
//! coop` there is no timer tick to end it, and the kernel counts CPU ticks
//! from the TSC.
#![no_std]
#![no_main]

use ulib::sys::{self, rdtsc};
use ulib::work::{busy, STEPS_PER_MS};
use ulib::{println, usage, Args};

#[no_mangle]
fn main(args: Args) -> i32 {
    let Some(n) = args.number_or(1, 1).filter(|_| args.len() <= 2) else {
        return usage("spin [N]   (N ticks of CPU time, default 1)");
    };
    let tsc_khz = match sys::clock().tsc_khz {
        0 => 2_400_000,
        khz => khz,
    };
    let check_every = tsc_khz / 20; // 50 µs of TSC
    println!("spin: using {n} ticks of CPU time");
    sys::cpu_budget(n);
    let mut seed = rdtsc();
    let used = loop {
        let ticks = sys::cpu_ticks();
        if ticks < 0 {
            println!("spin: cpu_ticks failed: {ticks}");
            return 1;
        }
        if ticks as u64 >= n {
            break ticks;
        }
        let start = rdtsc();
        while rdtsc() - start < check_every {
            seed = busy(seed, STEPS_PER_MS / 100); // about 10 µs
        }
    };
    println!("spin: used {used} ticks");
    0
}
