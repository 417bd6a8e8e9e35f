//! System calls: the table, and the checks on every argument.
//!
//! The trap handler hands over the caller's `TrapFrame`: number in RAX,
//! arguments in RDI, RSI, RDX (R10, R8, R9 unused so far); the result goes
//! back in RAX, a negative errno on error. A pointer from user space is
//! used only after the page tables say the whole range is mapped, user
//! accessible and (for output) writable, so the kernel never faults on a
//! user's behalf.

use lde_abi::syscall::{self as nr, errno, path, Clock};
use lde_abi::trace::{kind, Event};

use crate::trap_entry::TrapFrame;
use crate::{console, observe, paging, process, sched, time};

/// Most bytes one `write` prints (the rest is left for the next call, as a
/// short write).
const WRITE_MAX: u64 = 64 * 1024;
/// Bytes a `write` prints between two chances for the timer to interrupt
/// it. A long write must not keep the timer out for its whole length (the
/// CPU limit and preemption would not see it), but a write of up to this
/// many bytes is printed whole, so two processes' lines never mix on the
/// console (as POSIX promises for pipe writes up to `PIPE_BUF`, 4096).
const WRITE_CHUNK: usize = 4096;

/// How a system call arrived (`path::GATE` or `path::UD`), held as the
/// mark of a `getpid` event by that path: its flags byte is the path (ring
/// v4 `SYSCALL`). The trap dispatcher passes a constant, and `getpid`'s
/// event stores it as it is, so the path costs that event no instruction
/// (an `or` of the path into the mark, otherwise).
#[derive(Clone, Copy)]
pub struct Arrival(u32);

impl Arrival {
    pub const GATE: Arrival = Arrival::by(path::GATE);
    pub const UD: Arrival = Arrival::by(path::UD);

    const fn by(how: u64) -> Arrival {
        Arrival(Event::mark(how as u8, kind::SYSCALL, nr::GETPID as u16))
    }

    /// The path (`path::GATE` or `path::UD`).
    #[inline(always)]
    pub fn path(self) -> u64 {
        self.0 as u8 as u64
    }

    /// The mark of a `getpid` event that arrived this way.
    #[inline(always)]
    pub fn getpid_mark(self) -> u32 {
        self.0
    }
}

/// Serve the system call in `tf`, which arrived by `how` from user mode.
/// Every call passes here (a place to break in gdb); `getpid`, which only answers, is served right here without
/// calling anything, so that it needs no stack frame (every kernel
/// instruction is emulated on PVM hosts); every other call, and the first
/// call of all (which says how calls arrive), goes on to [`serve`].
#[inline(never)]
pub fn dispatch(tf: &mut TrapFrame, how: Arrival) {
    if tf.rax != nr::GETPID || !observe::syscall_path_reported() {
        return serve(tf, how);
    }
    let pid = process::pid_of_user_frame(tf);
    tf.rax = pid as u64;
    observe::getpid(pid, [tf.rdi, tf.rsi, tf.rdx], how, tf.cs);
}

/// Serve any system call: the table.
#[inline(never)]
fn serve(tf: &mut TrapFrame, how: Arrival) {
    let how = how.path();
    observe::syscall_path(how);
    let pid = process::pid_of_user_frame(tf);
    let (call, a0, a1, a2) = (tf.rax, tf.rdi, tf.rsi, tf.rdx);
    let result: i64 = match call {
        nr::WRITE => write(a0, a1, a2),
        nr::GETPID => pid as i64,
        nr::SCHED_YIELD => {
            observe::entered_kernel();
            sched::yield_now();
            0
        }
        nr::EXIT => {
            observe::syscall(pid, call, [a0, a1, a2], 0, how, tf.cs);
            process::exit_current(a0 as i32)
        }
        nr::CLOCK => clock(a0),
        nr::SLEEP_TICKS => sleep_ticks(a0),
        nr::SLEEP_NS if a0 > nr::SLEEP_MAX_NS => -errno::EINVAL,
        nr::SLEEP_NS => sleep_ticks(a0.div_ceil(time::tick_ns())),
        nr::CPU_TICKS => process::with_current(|p| p.acct.cpu_ticks_now()).unwrap_or(0) as i64,
        nr::CPU_BUDGET => {
            process::with_current(|p| p.set_cpu_budget(a0));
            // What is due for it changed: the quiet ticks reckoned without
            // the budget end here (timer.rs).
            sched::end_quiet();
            0
        }
        _ => -errno::ENOSYS,
    };
    tf.rax = result as u64;
    observe::syscall(pid, call, [a0, a1, a2], result as u64, how, tf.cs);
}

/// Is `[addr, addr + len)` a valid user range for the caller?
#[inline(always)]
fn user_ok(addr: u64, len: u64, write: bool) -> bool {
    process::current_pml4().is_some_and(|pml4| paging::user_range_ok(pml4, addr, len, write))
}

fn write(fd: u64, buf: u64, len: u64) -> i64 {
    if fd != 1 && fd != 2 {
        return -errno::EBADF;
    }
    // Only what this call will print must be valid (a short write).
    let n = len.min(WRITE_MAX);
    if !user_ok(buf, n, false) {
        return -errno::EFAULT;
    }
    if n > 0 {
        // SAFETY: the range is mapped and user-readable in the caller's
        // address space, which is the one loaded (checked just above).
        // If the timer switches away between chunks, the scheduler loads
        // this address space again before it resumes us.
        let bytes = unsafe { core::slice::from_raw_parts(buf as *const u8, n as usize) };
        for chunk in bytes.chunks(WRITE_CHUNK) {
            console::write_bytes(chunk);
            console::flush();
            // Output is progress (the hog rule); the tick that may come in
            // is charged to this process, and may preempt or end it.
            observe::entered_kernel();
            take_due_tick();
        }
    }
    n as i64
}

/// Take the timer tick if one is due: the one place where a tick can
/// interrupt the kernel (kcell.rs). The tick handler runs on this kernel
/// stack and may switch to another process (and come back later) or end
/// this one; no `KernelCell` borrow is live at the call.
///
/// A short `sti; nop; cli` window is not enough: on PVM hosts a pending
/// interrupt is seldom delivered between two emulated kernel instructions
/// (measured: most 64 KiB writes ran to their end). `sti; hlt` always takes
/// it, and waits for it if the TSC ran a little ahead of the APIC timer.
fn take_due_tick() {
    if time::tick_due() {
        x86_64::instructions::interrupts::enable_and_hlt();
        x86_64::instructions::interrupts::disable();
    }
}

fn clock(out: u64) -> i64 {
    let size = core::mem::size_of::<Clock>() as u64;
    if !user_ok(out, size, true) || out % 8 != 0 {
        return -errno::EFAULT;
    }
    let c = Clock {
        ticks: time::now(),
        tick_ns: time::tick_ns(),
        tsc: time::rdtsc(),
        tsc_khz: time::tsc_khz(),
    };
    // SAFETY: the range is mapped, user-writable and aligned (checked above).
    unsafe { (out as *mut Clock).write(c) };
    0
}

fn sleep_ticks(n: u64) -> i64 {
    if n.saturating_mul(time::tick_ns()) > nr::SLEEP_MAX_NS {
        return -errno::EINVAL;
    }
    observe::entered_kernel();
    if n == 0 {
        return 0;
    }
    process::sleep_until(time::now().saturating_add(n));
    0
}
