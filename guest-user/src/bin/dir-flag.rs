//! Makes a system call with the direction flag set; the kernel must not care.
//!
//! `std` is legal in user mode, and the flag stays set across `int 0x80`
//! (an interrupt gate does not clear it). The kernel's string instructions
//! (`rep outsb` to the console, `rep movsq` copies) would run backwards if
//! the trap entry did not clear it (`cld` in trap_entry.rs), printing
//! garbage or faulting in kernel mode.
#![no_std]
#![no_main]

use lde_abi::syscall::WRITE;
use ulib::{println, Args};

static LINE: &[u8] = b"dir-flag: written with DF set\n";

#[no_mangle]
fn main(_args: Args) -> i32 {
    let ret: i64;
    // SAFETY: sets DF only around the system call and clears it again
    // before any Rust code runs; `int 0x80` preserves all but RAX.
    unsafe {
        core::arch::asm!(
            "std",
            "int 0x80",
            "cld",
            inlateout("rax") WRITE as i64 => ret,
            in("rdi") 1u64,
            in("rsi") LINE.as_ptr(),
            in("rdx") LINE.len(),
            options(nostack)
        );
    }
    println!("dir-flag: write returned {ret}");
    if ret == LINE.len() as i64 {
        0
    } else {
        1
    }
}
