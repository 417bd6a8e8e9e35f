//! Tries `sti` (enable interrupts) in user mode; the kernel must kill it (#GP).
//!
//! Like CLI, STI needs CPL <= IOPL: with IOPL 0 (and CR4.PVI clear) it
//! raises #GP(0) (vector 13, error code 0) at CPL 3, even though interrupts
//! are already enabled while a process runs.
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "priv-sti";

#[no_mangle]
fn main(args: Args) -> i32 {
    if args.len() > 1 {
        return usage(NAME);
    }
    println!("{NAME}: executing sti at CPL 3 (expect #GP(0))");
    // SAFETY: deliberately faulting: STI at CPL 3 with IOPL 0 raises #GP(0)
    // and the kernel kills the process.
    unsafe { asm!("sti", options(nomem, nostack)) };
    not_stopped(NAME)
}
