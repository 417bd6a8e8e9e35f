//! Tries `invlpg` (flush a TLB entry) in user mode; the kernel must kill it (#GP).
//!
//! INVLPG is privileged: at CPL 3 the CPU raises #GP(0) (vector 13, error
//! code 0). The address flushed is one of this program's own pages.
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "priv-invlpg";

#[no_mangle]
fn main(args: Args) -> i32 {
    if args.len() > 1 {
        return usage(NAME);
    }
    let addr = main as *const () as usize;
    println!("{NAME}: executing invlpg [{addr:#x}] at CPL 3 (expect #GP(0))");
    // SAFETY: deliberately faulting: INVLPG at CPL 3 raises #GP(0) and the
    // kernel kills the process. Were it executed, flushing one TLB entry of
    // our own code would be harmless.
    unsafe { asm!("invlpg [{0}]", in(reg) addr, options(nostack)) };
    not_stopped(NAME)
}
