//! Tries `lidt`, `lgdt` or `ltr` (load the trap table, GDT, TSS) in user mode; must be killed (#GP).
//!
//! LIDT, LGDT and LTR are privileged: at CPL 3 the CPU raises #GP(0)
//! (vector 13, error code 0). The IDT is the trap table of OSTEP's limited
//! direct execution: a process that could replace it would own every trap,
//! system call and timer interrupt.
//!
//! `priv-lidt lidt` (default) loads an empty IDT (limit 0, base 0),
//! `priv-lidt lgdt` an empty GDT, `priv-lidt ltr` selector 0x28. (SIDT and
//! SGDT, which only read, are allowed in user mode unless CR4.UMIP is set.)
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "priv-lidt";

/// The operand of LIDT and LGDT.
#[repr(C, packed)]
struct TablePointer {
    limit: u16,
    base: u64,
}

#[no_mangle]
fn main(args: Args) -> i32 {
    let Some(which) = args.choice(1, &["lidt", "lgdt", "ltr"]) else {
        return usage("priv-lidt [lidt|lgdt|ltr]");
    };
    let empty = TablePointer { limit: 0, base: 0 };
    let ptr = &empty as *const TablePointer;
    match which {
        0 => {
            println!("{NAME}: executing lidt (limit 0, base 0) at CPL 3 (expect #GP(0))");
            // SAFETY: deliberately faulting: LIDT at CPL 3 raises #GP(0) and
            // the kernel kills the process. The operand is a valid local.
            unsafe { asm!("lidt [{0}]", in(reg) ptr, options(readonly, nostack)) };
        }
        1 => {
            println!("{NAME}: executing lgdt (limit 0, base 0) at CPL 3 (expect #GP(0))");
            // SAFETY: deliberately faulting: LGDT at CPL 3 raises #GP(0) and
            // the kernel kills the process. The operand is a valid local.
            unsafe { asm!("lgdt [{0}]", in(reg) ptr, options(readonly, nostack)) };
        }
        _ => {
            println!("{NAME}: executing ltr 0x28 at CPL 3 (expect #GP(0))");
            // SAFETY: deliberately faulting: LTR at CPL 3 raises #GP(0) and
            // the kernel kills the process.
            unsafe { asm!("ltr {0:x}", in(reg) 0x28u16, options(nomem, nostack)) };
        }
    }
    not_stopped(NAME)
}
