//! Executes `ud2` (an undefined instruction); the kernel must kill it (#UD).
//!
//! UD2 (bytes 0F 0B) always raises #UD (vector 6). On PVM hosts the kernel
//! also receives `int 0x80` as a #UD and tells the two apart by the bytes at
//! RIP (CD 80 is a system call); these are not, so it must kill the process.
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "bad-insn";

#[no_mangle]
fn main(args: Args) -> i32 {
    if args.len() > 1 {
        return usage(NAME);
    }
    println!("{NAME}: executing ud2 (expect #UD)");
    // SAFETY: deliberately faulting: UD2 raises #UD and the kernel kills the
    // process.
    unsafe { asm!("ud2", options(nomem, nostack)) };
    not_stopped(NAME)
}
