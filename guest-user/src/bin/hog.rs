//! Spins forever without system calls: only the timer can take the CPU back.
//!
//! The process limited direct execution must be able to stop: it never
//! traps, never yields, never exits. Under round robin the timer interrupt
//! preempts it every quantum; under `--sched coop` it keeps the CPU for
//! good. The kernel ends it by `--cpu-limit` or when it is the last process
//! left (the `last-hog` kill).
//!
//! `hog TICKS` asks the kernel for a CPU budget first (syscall 1004), so the
//! kernel ends it at exactly its TICKS-th tick of CPU: a job of known length
//! whose every tick is a bare timer interrupt, with no system call in
//! between (the benchmarks count what one tick costs this way).
//! `hog TICKS AFTER` first uses AFTER ticks of CPU (asking the kernel how
//! many it has had) and only then asks for the budget: the kernel must
//! honour a budget that comes while it holds the process's ticks quiet.
//!
//! The loop body is an `asm!("pause")`, which the compiler must keep, so the
//! loop can be neither removed nor turned into a trap.
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::{println, sys, usage, Args};

const USAGE: &str = "hog [TICKS [AFTER]]   (with TICKS, the kernel ends it after TICKS ticks of CPU, asked for after AFTER ticks)";

#[no_mangle]
fn main(args: Args) -> i32 {
    let ticks = args.number_or(1, 0).filter(|_| args.len() <= 3);
    let (Some(ticks), Some(after)) = (ticks, args.number_or(2, 0)) else {
        return usage(USAGE);
    };
    if ticks == 0 {
        println!("hog: spinning forever without system calls");
    } else {
        println!("hog: spinning without system calls until the kernel ends it at tick {ticks}");
        while (sys::cpu_ticks() as u64) < after {
            core::hint::spin_loop();
        }
        sys::cpu_budget(ticks);
    }
    loop {
        // SAFETY: PAUSE only hints the CPU that this is a spin loop.
        unsafe { asm!("pause", options(nomem, nostack, preserves_flags)) };
    }
}
