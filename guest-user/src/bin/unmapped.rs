//! Reads an unmapped address (null page 0x10; or high/non-canonical) from user mode; must be killed.
//!
//! `unmapped null` (default) reads address 0x10: the first page of every
//! address space is left unmapped so that null pointers fault. The CPU
//! raises #PF (vector 14) with error code 0x4 (P = 0: not present, W = 0,
//! U = 1) and CR2 = 0x10.
//!
//! `unmapped high` reads 0x700000000000, a user-half address nothing is
//! mapped at: the same #PF, error code 0x4, CR2 = the address.
//!
//! `unmapped noncanonical` reads 0x800000000000, just past the user half:
//! not a canonical address, so paging is never consulted and the CPU raises
//! #GP(0) (vector 13) instead, with no CR2.
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "unmapped";

#[no_mangle]
fn main(args: Args) -> i32 {
    let Some(which) = args.choice(1, &["null", "high", "noncanonical"]) else {
        return usage("unmapped [null|high|noncanonical]");
    };
    let (addr, what, expect): (u64, _, _) = match which {
        0 => (0x10, "null page", "#PF, error code 0x4"),
        1 => (
            0x7000_0000_0000,
            "unmapped user address",
            "#PF, error code 0x4",
        ),
        _ => (0x8000_0000_0000, "non-canonical address", "#GP(0)"),
    };
    println!("{NAME}: reading 8 bytes at {addr:#x} ({what}) (expect {expect})");
    let value: u64;
    // SAFETY: deliberately faulting: nothing is mapped at the address (or
    // it is not canonical), so the read faults and the kernel kills the
    // process.
    unsafe {
        asm!("mov {v}, qword ptr [{a}]", a = in(reg) addr, v = out(reg) value,
             options(readonly, nostack));
    }
    println!("{NAME}: read {value:#x}");
    not_stopped(NAME)
}
