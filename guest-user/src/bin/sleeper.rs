//! Sleeps TICKS timer ticks (default 5), then 15 ms, reporting the clock before and after.
//!
//! A process that blocks instead of computing: while it sleeps the kernel
//! runs others (or idles) and wakes it on the timer tick its time is up.
//! It prints the clock (ticks since boot and TSC), calls
//! `sleep_ticks(TICKS)`, prints how many ticks and milliseconds actually
//! passed, then does the same for `sleep_ns(15_000_000)`, which the kernel
//! rounds up to whole ticks. Usage: `sleeper [TICKS]`.
#![no_std]
#![no_main]

use ulib::sys::{self, cycles_to_ns, Clock};
use ulib::{println, usage, Args};

const NAME: &str = "sleeper";

/// Print what passed between `before` and now; returns now.
fn report(before: &Clock) -> Clock {
    let now = sys::clock();
    let ns = cycles_to_ns(now.tsc.wrapping_sub(before.tsc), now.tsc_khz);
    println!(
        "{NAME}: woke at ticks={} tsc={}: {} ticks, {}.{:03} ms passed",
        now.ticks,
        now.tsc,
        now.ticks.wrapping_sub(before.ticks),
        ns / 1_000_000,
        ns / 1000 % 1000
    );
    now
}

#[no_mangle]
fn main(args: Args) -> i32 {
    let Some(ticks) = args.number_or(1, 5).filter(|_| args.len() <= 2) else {
        return usage("sleeper [TICKS]   (default 5)");
    };
    let start = sys::clock();
    println!(
        "{NAME}: clock ticks={} tsc={} (tick {} ns, tsc_khz {})",
        start.ticks, start.tsc, start.tick_ns, start.tsc_khz
    );

    println!("{NAME}: sleep_ticks({ticks})");
    let r = sys::sleep_ticks(ticks);
    let mid = report(&start);
    if r != 0 {
        println!("{NAME}: sleep_ticks returned {r}");
        return 1;
    }

    let ns = 15_000_000;
    println!("{NAME}: sleep_ns({ns})");
    let r = sys::sleep_ns(ns);
    report(&mid);
    if r != 0 {
        println!("{NAME}: sleep_ns returned {r}");
        return 1;
    }
    0
}
