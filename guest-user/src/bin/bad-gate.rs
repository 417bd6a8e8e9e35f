//! Tries `int 0x81` (a trap-table gate user mode may not use); must be killed (#GP, #UD on PVM).
//!
//! A software interrupt `int n` from CPL 3 is allowed only through an IDT
//! gate whose DPL is 3. The lde kernel opens only vector 0x80 (system calls)
//! to user mode; for any other vector (DPL 0, or no gate at all) the CPU
//! raises #GP (vector 13) with error code n*8+2 (IDT flag set): 0x40a for
//! 0x81. Otherwise a process could fake a timer interrupt (`int 0x20`,
//! error code 0x102) or a page fault (`int 0xe`, error code 0x72) - hence
//! the variants `bad-gate 0x20` and `bad-gate 0xe`.
//!
//! On PVM hosts any `int n` but `int3` arrives as #UD (vector 6) with RIP at
//! the instruction (bytes CD 81): not the system call's CD 80, so the
//! kernel must kill the process there too.
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "bad-gate";

#[no_mangle]
fn main(args: Args) -> i32 {
    let Some(which) = args.choice(1, &["0x81", "0x20", "0xe"]) else {
        return usage("bad-gate [0x81|0x20|0xe]");
    };
    let (vector, what) = match which {
        0 => (0x81u64, "no gate"),
        1 => (0x20, "the timer"),
        _ => (0xe, "page fault"),
    };
    println!(
        "{NAME}: executing int {vector:#x} ({what}) (expect #GP, error code {:#x}; #UD on PVM)",
        vector * 8 + 2
    );
    // SAFETY: deliberately faulting: the gate's DPL is 0, so INT n from CPL 3
    // raises #GP and the kernel kills the process. Should the kernel ever
    // resume it, its handler may have clobbered what the C ABI allows.
    unsafe {
        match which {
            0 => asm!("int 0x81", clobber_abi("C")),
            1 => asm!("int 0x20", clobber_abi("C")),
            _ => asm!("int 0x0e", clobber_abi("C")),
        }
    }
    not_stopped(NAME)
}
