//! System calls: the table, and the checks on every argument.
//!
//! The trap handler hands over the caller's `TrapFrame`: number in RAX,
//! arguments in RDI, RSI, RDX (R10, R8, R9 unused so far); the result goes
//! back in RAX, a negative errno on error. A pointer from user space is
//! used only after the page tables say the whole range is mapped, user
//! accessible and (for output) writable, so the kernel never faults on a
//! user's behalf.

use core::sync::atomic::{AtomicBool, Ordering};

use lde_abi::syscall::{self as nr, errno, path, Clock};
use lde_abi::trace::kind;

use crate::trap_entry::TrapFrame;
use crate::{console, process, say, sched, time, trace};

/// Most bytes one `write` prints (the rest is left for the next call, as a
/// short write).
const WRITE_MAX: u64 = 64 * 1024;

static PATH_REPORTED: AtomicBool = AtomicBool::new(false);

/// Serve the system call in `tf`, which arrived by `how` (`path::GATE` or
/// `path::UD`).
pub fn dispatch(tf: &mut TrapFrame, how: u64) {
    if !PATH_REPORTED.swap(true, Ordering::Relaxed) {
        report_path(how);
    }
    sched::note_trap();
    let call = tf.rax;
    let result = serve(tf, how);
    tf.rax = result as u64;
    trace::record(
        kind::SYSCALL,
        current().pid,
        [
            call,
            tf.rdi,
            tf.rsi,
            tf.rdx,
            result as u64,
            how | tf.cs << 16,
        ],
    );
}

/// Run the call: number in RAX, arguments in RDI, RSI, RDX. Kept apart from
/// `dispatch` so the common calls do not pay for the rare ones' registers.
#[inline(never)]
fn serve(tf: &TrapFrame, how: u64) -> i64 {
    let (call, a0, a1, a2) = (tf.rax, tf.rdi, tf.rsi, tf.rdx);
    match call {
        nr::GETPID => current().pid as i64,
        nr::WRITE => write(a0, a1, a2),
        nr::SCHED_YIELD => {
            sched::yield_now();
            0
        }
        nr::EXIT => exit(tf, how),
        nr::CLOCK => clock(a0),
        nr::SLEEP_TICKS => sleep_ticks(a0),
        nr::SLEEP_NS => sleep_ticks(a0.div_ceil(time::tick_ns())),
        nr::CPU_TICKS => cpu_ticks() as i64,
        nr::CPU_BUDGET => {
            current().cpu_budget = a0;
            0
        }
        _ => -errno::ENOSYS,
    }
}

/// `exit(code)`: recorded now, as the call never returns.
#[inline(never)]
fn exit(tf: &TrapFrame, how: u64) -> ! {
    trace::record(
        kind::SYSCALL,
        current().pid,
        [tf.rax, tf.rdi, tf.rsi, tf.rdx, 0, how | tf.cs << 16],
    );
    sched::exit_current(tf.rdi as i32)
}

#[cold]
fn report_path(how: u64) {
    say!(
        "lde kernel: system calls arrive ",
        if how == path::GATE {
            "through the int 0x80 gate"
        } else {
            "as #UD on the int 0x80 bytes (this host, PVM, does not deliver int 0x80 through the gate)"
        }
    );
}

fn current() -> &'static mut process::Process {
    let slot = process::current().expect("system call without a process");
    &mut process::table().procs[slot]
}

/// Is `[addr, addr + len)` a valid user range for the caller?
fn user_ok(addr: u64, len: u64, write: bool) -> bool {
    current()
        .space
        .as_ref()
        .is_some_and(|s| s.user_range_ok(addr, len, write))
}

#[inline(never)]
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
        let bytes = unsafe { core::slice::from_raw_parts(buf as *const u8, n as usize) };
        console::write_bytes(bytes);
        console::flush();
    }
    n as i64
}

#[inline(never)]
fn clock(out: u64) -> i64 {
    let size = core::mem::size_of::<Clock>() as u64;
    if !user_ok(out, size, true) || out % 8 != 0 {
        return -errno::EFAULT;
    }
    let c = Clock {
        ticks: time::now(),
        tick_ns: time::tick_ns(),
        tsc: trace::rdtsc(),
        tsc_khz: time::tsc_khz(),
    };
    // SAFETY: the range is mapped, user-writable and aligned (checked above).
    unsafe { (out as *mut Clock).write(c) };
    0
}

#[inline(never)]
fn sleep_ticks(n: u64) -> i64 {
    if n == 0 {
        return 0;
    }
    sched::sleep_until(time::now().saturating_add(n));
    0
}

/// The caller's CPU time in ticks, including the current run under `coop`.
#[inline(never)]
fn cpu_ticks() -> u64 {
    let p = current();
    if time::timer_on() {
        p.cpu_ticks
    } else {
        time::tsc_to_ticks(p.cpu_tsc + (trace::rdtsc() - p.run_start_tsc))
    }
}
