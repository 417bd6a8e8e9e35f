//! System calls: `int 0x80`, number in RAX, arguments in RDI, RSI, RDX, R10,
//! R8, R9, result in RAX (negative errno on error). See lde-abi `syscall`.

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

pub fn write(fd: u64, buf: &[u8]) -> i64 {
    syscall3(WRITE, fd, buf.as_ptr() as u64, buf.len() as u64)
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

pub fn clock() -> Clock {
    let mut c = Clock::default();
    syscall3(CLOCK, &mut c as *mut Clock as u64, 0, 0);
    c
}

pub fn sleep_ticks(n: u64) -> i64 {
    syscall3(SLEEP_TICKS, n, 0, 0)
}

pub fn sleep_ns(ns: u64) -> i64 {
    syscall3(SLEEP_NS, ns, 0, 0)
}

pub fn cpu_ticks() -> i64 {
    syscall3(CPU_TICKS, 0, 0, 0)
}

/// Read the TSC (allowed in user mode: the kernel leaves CR4.TSD clear).
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC only reads the time-stamp counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}
