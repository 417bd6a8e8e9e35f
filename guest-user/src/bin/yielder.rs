//! Prints yielder: round i, then gives up the CPU with sched_yield, N times (default 5).
//!
//! The cooperative way to share the CPU: the process itself hands control
//! back to the kernel after each line. Under `--sched coop` this is the only
//! way another process gets to run before this one ends.
//! Usage: `yielder [N]`.
#![no_std]
#![no_main]

use ulib::{println, sys, usage, Args};

#[no_mangle]
fn main(args: Args) -> i32 {
    let Some(n) = args.number_or(1, 5).filter(|_| args.len() <= 2) else {
        return usage("yielder [N]   (rounds, default 5)");
    };
    for i in 1..=n {
        println!("yielder: round {i}");
        let r = sys::sched_yield();
        if r != 0 {
            println!("yielder: sched_yield returned {r}");
            return 1;
        }
    }
    0
}
