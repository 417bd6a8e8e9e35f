//! Reads kernel memory (0xffffffff80100000, the kernel image) from user mode; must be killed (#PF).
//!
//! The kernel half is mapped in every address space (traps need it) but
//! with supervisor-only pages (U/S = 0). A user-mode read raises #PF
//! (vector 14) with error code 0x5 (P = 1: the page is present; W = 0: a
//! read; U = 1: from user mode) and CR2 = the address. The kernel must kill
//! the process.
#![no_std]
#![no_main]

use core::arch::asm;
use lde_abi::layout::{KERNEL_PHYS, KERNEL_VIRT};
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "kernel-read";

#[no_mangle]
fn main(args: Args) -> i32 {
    if args.len() > 1 {
        return usage(NAME);
    }
    let addr = KERNEL_VIRT + KERNEL_PHYS;
    println!("{NAME}: reading 8 bytes at {addr:#x} (kernel text) (expect #PF, error code 0x5)");
    let value: u64;
    // SAFETY: deliberately faulting: the page is supervisor-only, so the
    // read raises #PF and the kernel kills the process.
    unsafe {
        asm!("mov {v}, qword ptr [{a}]", a = in(reg) addr, v = out(reg) value,
             options(readonly, nostack));
    }
    println!("{NAME}: read {value:#x}");
    not_stopped(NAME)
}
