//! Prints a greeting and its privilege level (CS RPL, 3 = user mode); exits 0.
//!
//! The smallest lde program: one `write`, one `getpid`, and a read of the CS
//! register, whose low two bits (the RPL of the selector the CPU runs with)
//! are the current privilege level. In a process they must read 3.
#![no_std]
#![no_main]

use ulib::{println, sys, Args};

#[no_mangle]
fn main(_args: Args) -> i32 {
    let cs = sys::cs();
    let cpl = cs & 3;
    let mode = if cpl == 3 {
        "user mode"
    } else {
        "NOT user mode"
    };
    println!(
        "hello from {} (pid {}, CS {:#x}, privilege level {})",
        mode,
        sys::getpid(),
        cs,
        cpl
    );
    0
}
