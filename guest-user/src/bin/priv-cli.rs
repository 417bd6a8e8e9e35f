//! Tries `cli` (disable interrupts) in user mode; the kernel must kill it (#GP).
//!
//! CLI changes RFLAGS.IF only when CPL <= IOPL. The kernel runs processes
//! with IOPL 0 (and CR4.PVI clear), so at CPL 3 the CPU raises #GP(0)
//! (vector 13, error code 0) at the `cli`. Let through, a process could shut
//! out the timer interrupt and keep the CPU for ever.
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "priv-cli";

#[no_mangle]
fn main(args: Args) -> i32 {
    if args.len() > 1 {
        return usage(NAME);
    }
    println!("{NAME}: executing cli at CPL 3 (expect #GP(0))");
    // SAFETY: deliberately faulting: CLI at CPL 3 with IOPL 0 raises #GP(0)
    // and the kernel kills the process.
    unsafe { asm!("cli", options(nomem, nostack)) };
    not_stopped(NAME)
}
