//! Uses N ticks of CPU time (default 1), then exits 0: a job of length N.
//!
//! The job of OSTEP's scheduling homework: it computes until the kernel
//! has charged it N timer ticks of CPU time, then exits at once, so its run
//! time is N ticks to within a tick's small fraction. Between checks it
//! does pure computation; it asks `cpu_ticks` about every 50 µs (by the
//! TSC), often enough to exit early in the tick after the N-th, rarely
//! enough that the system calls cost under 1% of the time.
//!
//! Under `--sched coop` there is no timer, and `cpu_ticks` may never move;
//! once the clock shows no ticks at all after more than N+2 ticks' worth of
//! TSC time, it counts N ticks' worth of TSC time instead (nothing preempts
//! it there, so that time is all its own).
#![no_std]
#![no_main]

use ulib::sys::{self, rdtsc};
use ulib::work::{busy, STEPS_PER_MS};
use ulib::{println, usage, Args};

const NAME: &str = "spin";

/// TSC rate to assume if the kernel reports none.
const DEFAULT_TSC_KHZ: u64 = 2_400_000;

#[no_mangle]
fn main(args: Args) -> i32 {
    let Some(n) = args.number_or(1, 1).filter(|_| args.len() <= 2) else {
        return usage("spin [N]   (N ticks of CPU time, default 1)");
    };
    let clock = sys::clock();
    let tsc_khz = if clock.tsc_khz != 0 {
        clock.tsc_khz
    } else {
        DEFAULT_TSC_KHZ
    };
    // Check cpu_ticks every 50 µs of TSC time.
    let check_every = tsc_khz / 20;
    // For the coop fallback: TSC cycles in one tick (0 if unknown).
    let tick_cycles = clock.tick_ns.saturating_mul(tsc_khz) / 1_000_000;
    println!("{NAME}: using {n} ticks of CPU time");

    let start = rdtsc();
    let mut seed = start;
    let mut last_check = start;
    // Whether the timer ticks: None until it matters.
    let mut timer: Option<bool> = None;
    let used = loop {
        let ticks = sys::cpu_ticks();
        if ticks < 0 {
            println!("{NAME}: cpu_ticks failed: {ticks}");
            return 1;
        }
        if ticks as u64 >= n {
            break ticks as u64;
        }
        let elapsed = rdtsc() - start;
        match timer {
            Some(false) if elapsed >= n.saturating_mul(tick_cycles) => break n,
            None if tick_cycles != 0
                && elapsed > n.saturating_add(2).saturating_mul(tick_cycles) =>
            {
                let ticking = sys::clock().ticks != 0;
                if !ticking {
                    println!("{NAME}: no timer ticks (coop?): counting ticks by the TSC");
                }
                timer = Some(ticking);
            }
            _ => {}
        }
        while rdtsc() - last_check < check_every {
            seed = busy(seed, STEPS_PER_MS / 100); // about 10 µs
        }
        last_check = rdtsc();
    };
    println!("{NAME}: used {used} ticks");
    0
}
