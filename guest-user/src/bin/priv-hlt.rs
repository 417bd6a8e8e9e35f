//! Tries `hlt` in user mode; the kernel must kill it (#GP).
//!
//! HLT is a privileged instruction: at CPL 3 the CPU does not halt but
//! raises #GP(0) (vector 13, error code 0) at the `hlt`. The kernel must kill
//! the process. Let through, a process could stop the CPU at will.
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "priv-hlt";

#[no_mangle]
fn main(args: Args) -> i32 {
    if args.len() > 1 {
        return usage(NAME);
    }
    println!("{NAME}: executing hlt at CPL 3 (expect #GP(0))");
    // SAFETY: deliberately faulting: HLT at CPL 3 raises #GP(0) and the
    // kernel kills the process. Were it executed, it would only wait for
    // the next interrupt.
    unsafe { asm!("hlt", options(nomem, nostack)) };
    not_stopped(NAME)
}
