//! Calls or jumps into kernel text (0xffffffff80100000) from user mode; must be killed (#PF).
//!
//! Fetching an instruction from a supervisor-only page at CPL 3 raises #PF
//! (vector 14) before anything there runs, with RIP and CR2 both the kernel
//! address and error code 0x15 (P = 1, U = 1, I/D = 1: an instruction
//! fetch; the I/D bit is reported only with EFER.NXE set, 0x5 without).
//! The only way into the kernel from user mode is through a gate: a trap,
//! an interrupt or a system call.
//!
//! `kernel-jump call` (default) calls the address, pushing a return address
//! on the user stack first (that push succeeds); `kernel-jump jmp` jumps
//! there, which has no way back, so it cannot report NOT STOPPED.
#![no_std]
#![no_main]

use core::arch::asm;
use lde_abi::layout::{KERNEL_PHYS, KERNEL_VIRT};
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "kernel-jump";

#[no_mangle]
fn main(args: Args) -> i32 {
    let Some(which) = args.choice(1, &["call", "jmp"]) else {
        return usage("kernel-jump [call|jmp]");
    };
    let target = KERNEL_VIRT + KERNEL_PHYS;
    if which == 0 {
        println!("{NAME}: calling {target:#x} (kernel text) (expect #PF, error code 0x15)");
        // SAFETY: deliberately faulting: the instruction fetch from a
        // supervisor-only page raises #PF and the kernel kills the process.
        // Should it ever return, it may have clobbered what the C ABI lets a
        // callee clobber.
        unsafe { asm!("call {0}", in(reg) target, clobber_abi("C")) };
    } else {
        println!("{NAME}: jumping to {target:#x} (kernel text) (expect #PF, error code 0x15)");
        // SAFETY: deliberately faulting: as above; a jump never comes back.
        unsafe { asm!("jmp {0}", in(reg) target, options(noreturn, nostack)) };
    }
    not_stopped(NAME)
}
