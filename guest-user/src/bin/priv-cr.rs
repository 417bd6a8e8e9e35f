//! Tries `mov` from and to CR3 (the page-table root) in user mode; must be killed (#GP).
//!
//! Moves to and from control registers are privileged: at CPL 3 the CPU
//! raises #GP(0) (vector 13, error code 0). CR3 holds the root of the
//! address space; a process that could load it could map any memory.
//!
//! `priv-cr read` (default) executes `mov rax, cr3`; `priv-cr write`
//! executes `mov cr3, rax` with rax = 0.
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "priv-cr";

#[no_mangle]
fn main(args: Args) -> i32 {
    let Some(which) = args.choice(1, &["read", "write"]) else {
        return usage("priv-cr [read|write]");
    };
    if which == 0 {
        println!("{NAME}: executing mov rax, cr3 at CPL 3 (expect #GP(0))");
        let cr3: u64;
        // SAFETY: deliberately faulting: MOV from CR3 at CPL 3 raises #GP(0)
        // and the kernel kills the process.
        unsafe { asm!("mov {0}, cr3", out(reg) cr3, options(nomem, nostack)) };
        println!("{NAME}: read cr3 = {cr3:#x}");
    } else {
        println!("{NAME}: executing mov cr3, rax (rax = 0) at CPL 3 (expect #GP(0))");
        // SAFETY: deliberately faulting: MOV to CR3 at CPL 3 raises #GP(0)
        // and the kernel kills the process.
        unsafe { asm!("mov cr3, {0}", in(reg) 0u64, options(nostack)) };
    }
    not_stopped(NAME)
}
