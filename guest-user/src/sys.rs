//! System calls: `int 0x80`, number in RAX, arguments in RDI, RSI, RDX, R10,
//! R8, R9, result in RAX (negative errno on error). See lde-abi `syscall`.
//!
//! Also the few unprivileged CPU reads programs use: the TSC and CS.

use core::arch::asm;
use lde_abi::syscall::*;
pub use lde_abi::syscall::{errno, Clock};

/// A raw system call with up to three arguments.
#[inline(always)]
pub fn syscall3(nr: u64, a0: u64, a1: u64, a2: u64) -> i64 {
    let ret: i64;
    // SAFETY: `int 0x80` enters the kernel, which preserves every register
    // but RAX (the result). Pointers in the arguments are checked by the
    // kernel, so a bad one cannot hurt this process beyond an error code.
    unsafe {
        asm!("int 0x80", inlateout("rax") nr as i64 => ret,
             in("rdi") a0, in("rsi") a1, in("rdx") a2,
             options(nostack));
    }
    ret
}

/// A raw system call with all six argument registers.
#[inline(always)]
pub fn syscall6(nr: u64, a: [u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY: as for `syscall3`: the kernel preserves every register but RAX
    // and checks the arguments.
    unsafe {
        asm!("int 0x80", inlateout("rax") nr as i64 => ret,
             in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
             in("r10") a[3], in("r8") a[4], in("r9") a[5],
             options(nostack));
    }
    ret
}

pub fn write(fd: u64, buf: &[u8]) -> i64 {
    syscall3(WRITE, fd, buf.as_ptr() as u64, buf.len() as u64)
}

/// `write` with any pointer and length, valid or not (for testing the
/// kernel's checks: it must answer `-EFAULT`, not fault).
pub fn write_raw(fd: u64, ptr: u64, len: u64) -> i64 {
    syscall3(WRITE, fd, ptr, len)
}

pub fn exit(code: i32) -> ! {
    syscall3(EXIT, code as u64, 0, 0);
    // The kernel never returns from exit.
    loop {
        core::hint::spin_loop();
    }
}

pub fn getpid() -> i64 {
    syscall3(GETPID, 0, 0, 0)
}

pub fn sched_yield() -> i64 {
    syscall3(SCHED_YIELD, 0, 0, 0)
}

/// The kernel's clock (all zero if the call failed).
pub fn clock() -> Clock {
    let mut c = Clock::default();
    clock_raw(&mut c as *mut Clock as u64);
    c
}

/// `clock` into any address, valid or not.
pub fn clock_raw(out: u64) -> i64 {
    syscall3(CLOCK, out, 0, 0)
}

pub fn sleep_ticks(n: u64) -> i64 {
    syscall3(SLEEP_TICKS, n, 0, 0)
}

pub fn sleep_ns(ns: u64) -> i64 {
    syscall3(SLEEP_NS, ns, 0, 0)
}

/// This process's CPU time in timer ticks.
/// Ask the kernel to end this process (status 0) at the tick that brings
/// its CPU time to `n` ticks.
pub fn cpu_budget(n: u64) -> i64 {
    syscall3(CPU_BUDGET, n, 0, 0)
}

pub fn cpu_ticks() -> i64 {
    syscall3(CPU_TICKS, 0, 0, 0)
}

/// Read the TSC (allowed in user mode: the kernel leaves CR4.TSD clear).
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC only reads the time-stamp counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Read the TSC with LFENCE on both sides, so that the read waits for the
/// instructions before it and the ones after it wait for the read: the
/// usual way to bracket a measured stretch of code.
#[inline(always)]
pub fn rdtsc_ordered() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: LFENCE and RDTSC only order and read; nothing is written but
    // EAX and EDX. (Inline asm, because the `_mm_lfence` intrinsic needs
    // SSE2 enabled, which x86_64-unknown-none does not, and is then a call.)
    unsafe {
        asm!("lfence", "rdtsc", "lfence", out("eax") lo, out("edx") hi,
             options(nomem, nostack, preserves_flags));
    }
    (hi as u64) << 32 | lo as u64
}

/// The CS selector; its low two bits (RPL) are the privilege level the code
/// runs at: 3 in user mode.
pub fn cs() -> u16 {
    let cs: u16;
    // SAFETY: reading a segment register is allowed at every privilege level
    // and changes nothing.
    unsafe { asm!("mov {0:x}, cs", out(reg) cs, options(nomem, nostack, preserves_flags)) };
    cs
}

/// Nanoseconds in `cycles` TSC cycles at `tsc_khz` (0 if the rate is unknown).
pub fn cycles_to_ns(cycles: u64, tsc_khz: u64) -> u64 {
    if tsc_khz == 0 {
        return 0;
    }
    (cycles as u128 * 1_000_000 / tsc_khz as u128) as u64
}
