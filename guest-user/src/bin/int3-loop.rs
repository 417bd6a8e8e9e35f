//! Executes `int3` forever: a process that enters the kernel all the time
//! but never makes a system call.
//!
//! Every `int3` is a bare trap (the kernel counts it and returns), so the
//! process never gives up the CPU and never makes progress the kernel can
//! see: the hog rule treats it like a process that never traps.
//! Usage: `int3-loop`.
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::{println, usage, Args};

#[no_mangle]
fn main(args: Args) -> i32 {
    if args.len() > 1 {
        return usage("int3-loop");
    }
    println!("int3-loop: trapping forever with int3");
    loop {
        // SAFETY: int3 traps to the kernel, which returns right after it.
        unsafe { asm!("int3", options(nomem, nostack)) };
    }
}
