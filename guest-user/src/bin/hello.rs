//! Prints a greeting from user mode and exits 0.
#![no_std]
#![no_main]

use ulib::{println, sys, Args};

#[no_mangle]
fn main(_args: Args) -> i32 {
    println!("hello from user mode (pid {})", sys::getpid());
    0
}
