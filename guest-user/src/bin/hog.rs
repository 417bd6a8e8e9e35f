//! Spins forever without system calls: only the timer can take the CPU back.
//!
//! The process limited direct execution must be able to stop: it never
//! traps, never yields, never exits. Under round robin the timer interrupt
//! preempts it every quantum; under `--sched coop` it keeps the CPU for
//! good. The kernel ends it by `--cpu-limit` or when it is the last process
//! left (the `last-hog` kill).
//!
//! The loop body is an `asm!("pause")`, which the compiler must keep, so the
//! loop can be neither removed nor turned into a trap.
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::{println, usage, Args};

#[no_mangle]
fn main(args: Args) -> i32 {
    if args.len() > 1 {
        return usage("hog");
    }
    println!("hog: spinning forever without system calls");
    loop {
        // SAFETY: PAUSE only hints the CPU that this is a spin loop.
        unsafe { asm!("pause", options(nomem, nostack, preserves_flags)) };
    }
}
