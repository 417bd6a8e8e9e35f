//! Writes to the kernel's direct map of RAM (0xffff800000100000) from user mode; must be killed (#PF).
//!
//! The direct map (all guest RAM at 0xffff800000000000 + physical) is
//! supervisor-only. A user-mode write raises #PF (vector 14) with error code
//! 0x7 (P = 1, W = 1: a write, U = 1: from user mode) and CR2 = the address.
//! The target is physical 0x100000, where the kernel image starts: were the
//! write let through, the process would overwrite kernel code.
#![no_std]
#![no_main]

use core::arch::asm;
use lde_abi::layout::{DIRECT_MAP, KERNEL_PHYS};
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "kernel-write";

#[no_mangle]
fn main(args: Args) -> i32 {
    if args.len() > 1 {
        return usage(NAME);
    }
    let addr = DIRECT_MAP + KERNEL_PHYS;
    println!("{NAME}: writing 8 bytes at {addr:#x} (direct map of the kernel image) (expect #PF, error code 0x7)");
    // SAFETY: deliberately faulting: the page is supervisor-only, so the
    // write raises #PF and the kernel kills the process.
    unsafe {
        asm!("mov qword ptr [{a}], {v}", a = in(reg) addr, v = in(reg) 0u64, options(nostack))
    };
    not_stopped(NAME)
}
