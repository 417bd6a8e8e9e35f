//! Executes the `sysenter` instruction, which lde does not set up; the kernel must kill it (#GP or #UD).
//!
//! SYSENTER is the other fast system-call instruction; lde uses neither.
//! On Intel CPUs it is valid in 64-bit mode but raises #GP(0) (vector 13,
//! error code 0) while IA32_SYSENTER_CS is 0, which lde never changes. On
//! AMD CPUs it is an undefined opcode in long mode and raises #UD (vector 6;
//! bytes 0F 34). Either way the kernel must kill the process.
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "sysenter";

#[no_mangle]
fn main(args: Args) -> i32 {
    if args.len() > 1 {
        return usage(NAME);
    }
    println!("{NAME}: executing sysenter (expect #GP(0) on Intel, #UD on AMD)");
    // SAFETY: deliberately faulting: SYSENTER raises #GP(0) (Intel, with
    // IA32_SYSENTER_CS = 0) or #UD (AMD, long mode) and the kernel kills the
    // process. SYSENTER never falls through; were it ever resumed here, a
    // handler could have clobbered what the C ABI allows.
    unsafe { asm!("sysenter", clobber_abi("C")) };
    not_stopped(NAME)
}
