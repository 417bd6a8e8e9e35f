//! Executes the `syscall` instruction, which lde does not enable; the kernel must kill it (#UD).
//!
//! lde's system calls go through `int 0x80`. The kernel leaves EFER.SCE
//! clear, so SYSCALL is an undefined opcode and raises #UD (vector 6) with
//! RIP at the instruction (bytes 0F 05, not CD 80): the kernel must kill the
//! process rather than treat it as a system call or resume it. RAX holds
//! getpid's number, so a kernel that wrongly served it would show as
//! NOT STOPPED.
#![no_std]
#![no_main]

use core::arch::asm;
use lde_abi::syscall::GETPID;
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "syscall-insn";

#[no_mangle]
fn main(args: Args) -> i32 {
    if args.len() > 1 {
        return usage(NAME);
    }
    println!("{NAME}: executing syscall with rax = {GETPID} (expect #UD: EFER.SCE is clear)");
    let ret: u64;
    // SAFETY: deliberately faulting: SYSCALL with EFER.SCE = 0 raises #UD and
    // the kernel kills the process. Were it executed, it would clobber RCX
    // and R11 (and what else the C ABI allows, in case a handler ran).
    unsafe {
        asm!("syscall", inlateout("rax") GETPID => ret, lateout("rcx") _, lateout("r11") _,
             clobber_abi("C"));
    }
    println!("{NAME}: returned {ret:#x}");
    not_stopped(NAME)
}
