//! Prints its process id; exits 0.
//!
//! One system call and its answer: `getpid` through `int 0x80`.
#![no_std]
#![no_main]

use ulib::{println, sys, Args};

#[no_mangle]
fn main(_args: Args) -> i32 {
    println!("getpid: pid {}", sys::getpid());
    0
}
