//! Tries port I/O (`out` to the VMM's exit port 0xf4, or `in`) in user mode; must be killed (#GP).
//!
//! `out 0xf4` is how the lde kernel ends the VM, so a process that could do
//! it would stop the whole machine. IN and OUT need CPL <= IOPL or
//! permission in the TSS I/O bitmap; with IOPL 0 and no bitmap the CPU
//! raises #GP(0) (vector 13, error code 0) at the instruction, before any
//! VM exit happens.
//!
//! `priv-io out` (default) writes exit status 66 to port 0xf4: if lde ever
//! ends with status 66, a user process ended the VM. `priv-io in` reads the
//! serial line-status register (port 0x3fd).
#![no_std]
#![no_main]

use core::arch::asm;
use lde_abi::{exit, ports};
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "priv-io";

#[no_mangle]
fn main(args: Args) -> i32 {
    let Some(which) = args.choice(1, &["out", "in"]) else {
        return usage("priv-io [out|in]");
    };
    if which == 0 {
        let value = exit::encode(exit::KIND_EXIT, 66);
        println!(
            "{NAME}: executing out {:#x}, eax={value:#x} (the exit device) at CPL 3 (expect #GP(0))",
            ports::EXIT
        );
        // SAFETY: deliberately faulting: OUT at CPL 3 with IOPL 0 and no I/O
        // bitmap raises #GP(0) and the kernel kills the process.
        unsafe {
            asm!("out dx, eax", in("dx") ports::EXIT, in("eax") value, options(nomem, nostack))
        };
    } else {
        let port = ports::COM1 + 5;
        println!("{NAME}: executing in al, {port:#x} (serial status) at CPL 3 (expect #GP(0))");
        // SAFETY: deliberately faulting: IN at CPL 3 with IOPL 0 and no I/O
        // bitmap raises #GP(0) and the kernel kills the process.
        unsafe { asm!("in al, dx", in("dx") port, out("al") _, options(nomem, nostack)) };
    }
    not_stopped(NAME)
}
