//! Tries `rdmsr`/`wrmsr` of IA32_APIC_BASE (0x1b) in user mode; must be killed (#GP).
//!
//! RDMSR and WRMSR are privileged: at CPL 3 the CPU raises #GP(0) (vector
//! 13, error code 0) whatever the MSR. IA32_APIC_BASE is the register that
//! switches the local APIC (and with it the timer) on and off.
//!
//! `priv-msr rdmsr` (default) reads it; `priv-msr wrmsr` writes it with the
//! value an x2APIC boot CPU has anyway (0xfee00d00: base, x2APIC and enable
//! bits, BSP), so that even if it got through nothing would change and the
//! NOT STOPPED line would still appear.
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "priv-msr";
const IA32_APIC_BASE: u32 = 0x1b;

#[no_mangle]
fn main(args: Args) -> i32 {
    let Some(which) = args.choice(1, &["rdmsr", "wrmsr"]) else {
        return usage("priv-msr [rdmsr|wrmsr]");
    };
    if which == 0 {
        println!(
            "{NAME}: executing rdmsr {IA32_APIC_BASE:#x} (IA32_APIC_BASE) at CPL 3 (expect #GP(0))"
        );
        let (lo, hi): (u32, u32);
        // SAFETY: deliberately faulting: RDMSR at CPL 3 raises #GP(0) and
        // the kernel kills the process.
        unsafe {
            asm!("rdmsr", in("ecx") IA32_APIC_BASE, out("eax") lo, out("edx") hi,
                 options(nomem, nostack));
        }
        println!("{NAME}: read {:#x}", (hi as u64) << 32 | lo as u64);
    } else {
        let value: u64 = 0xfee0_0d00;
        println!("{NAME}: executing wrmsr {IA32_APIC_BASE:#x} (IA32_APIC_BASE) <- {value:#x} at CPL 3 (expect #GP(0))");
        // SAFETY: deliberately faulting: WRMSR at CPL 3 raises #GP(0) and
        // the kernel kills the process.
        unsafe {
            asm!("wrmsr", in("ecx") IA32_APIC_BASE, in("eax") value as u32,
                 in("edx") (value >> 32) as u32, options(nomem, nostack));
        }
    }
    not_stopped(NAME)
}
