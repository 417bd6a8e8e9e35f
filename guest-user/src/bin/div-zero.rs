//! Divides by zero (or i64::MIN by -1) with `div`/`idiv`; the kernel must kill it (#DE).
//!
//! An integer division whose divisor is 0 or whose quotient does not fit
//! raises #DE (vector 0, no error code) with RIP at the division. A fault,
//! not a restricted operation: the kernel has no way to resume the process
//! sensibly and kills it. The division is inline asm so that the compiler
//! can neither fold it nor replace it with its own panic.
//!
//! `div-zero zero` (default) executes `div` by 0; `div-zero overflow`
//! executes `idiv` of i64::MIN by -1.
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "div-zero";

#[no_mangle]
fn main(args: Args) -> i32 {
    let Some(which) = args.choice(1, &["zero", "overflow"]) else {
        return usage("div-zero [zero|overflow]");
    };
    let quotient: u64;
    if which == 0 {
        println!("{NAME}: executing div: 1 / 0 (expect #DE)");
        // SAFETY: deliberately faulting: DIV by 0 raises #DE and the kernel
        // kills the process.
        unsafe {
            asm!("div {d}", d = in(reg) 0u64, inout("rax") 1u64 => quotient,
                 inout("rdx") 0u64 => _, options(nomem, nostack));
        }
    } else {
        println!("{NAME}: executing idiv: i64::MIN / -1 (expect #DE)");
        // SAFETY: deliberately faulting: the quotient 2^63 does not fit in
        // i64, so IDIV raises #DE and the kernel kills the process. RDX:RAX
        // is i64::MIN sign-extended to 128 bits.
        unsafe {
            asm!("idiv {d}", d = in(reg) -1i64, inout("rax") i64::MIN as u64 => quotient,
                 inout("rdx") u64::MAX => _, options(nomem, nostack));
        }
    }
    println!("{NAME}: quotient {quotient:#x}");
    not_stopped(NAME)
}
