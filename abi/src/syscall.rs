//! The system-call ABI.
//!
//! User code executes `int 0x80` with the number in RAX and arguments in
//! RDI, RSI, RDX, R10, R8, R9; the result comes back in RAX, a negative errno
//! on error. Numbers are Linux x86-64's where the call exists there; the
//! calls lde adds (clock, sleep, CPU time) use numbers from 1000 up so they
//! can never be mistaken for a Linux call with another meaning.

/// The trap-table vector of the system-call gate.
pub const VECTOR: u8 = 0x80;

/// `write(fd, buf, len) -> bytes written`. fd 1 and 2 go to the console.
pub const WRITE: u64 = 1;
/// `sched_yield() -> 0`: give up the CPU.
pub const SCHED_YIELD: u64 = 24;
/// `getpid() -> pid`.
pub const GETPID: u64 = 39;
/// `exit(code) -> !`.
pub const EXIT: u64 = 60;

/// `clock(out: *mut Clock) -> 0`: ticks since boot and the tick length.
pub const CLOCK: u64 = 1000;
/// `sleep_ticks(n) -> 0`: block for `n` timer ticks; -EINVAL if that is
/// longer than [`SLEEP_MAX_NS`].
pub const SLEEP_TICKS: u64 = 1001;
/// `sleep_ns(ns) -> 0`: block for at least `ns` nanoseconds (rounded up to
/// whole ticks); -EINVAL if that is longer than [`SLEEP_MAX_NS`].
pub const SLEEP_NS: u64 = 1002;
/// The longest sleep, one hour: a longer one (`sleep_ticks(u64::MAX)`
/// would never wake) is refused rather than left to hold the process, and
/// with it the machine, for good.
pub const SLEEP_MAX_NS: u64 = 3600 * 1_000_000_000;
/// `cpu_ticks() -> n`: the caller's CPU time in timer ticks.
pub const CPU_TICKS: u64 = 1003;
/// `cpu_budget(n) -> 0`: end the caller with status 0 at the timer tick that
/// brings its CPU time to `n` ticks (a job of length `n`, as in OSTEP's
/// scheduling homework). 0 clears the budget.
pub const CPU_BUDGET: u64 = 1004;

/// What [`CLOCK`] writes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock {
    /// Timer ticks since boot (0 under `--sched coop`, which has no timer).
    pub ticks: u64,
    /// Length of one tick in nanoseconds (the quantum).
    pub tick_ns: u64,
    /// The TSC when the call was served, and its rate, so user code can
    /// time things finer than a tick.
    pub tsc: u64,
    pub tsc_khz: u64,
}

/// Errors, returned negated in RAX (Linux values).
pub mod errno {
    pub const EBADF: i64 = 9;
    pub const EFAULT: i64 = 14;
    pub const EINVAL: i64 = 22;
    pub const ENOSYS: i64 = 38;
}

/// How a system call reached the kernel (recorded with each call).
pub mod path {
    /// Through IDT vector 0x80, as on VMX/SVM hosts.
    pub const GATE: u64 = 0;
    /// As a #UD on the `int 0x80` bytes (`CD 80`), as on PVM hosts.
    pub const UD: u64 = 1;
}

/// How many arguments a system call takes (RDI, RSI, RDX in that order),
/// as strace shows them: a trace records only these. A number the kernel
/// does not know gets all three (what a caller may have meant is unknown).
pub const fn arity(nr: u64) -> usize {
    match nr {
        SCHED_YIELD | GETPID | CPU_TICKS => 0,
        EXIT | CLOCK | SLEEP_TICKS | SLEEP_NS | CPU_BUDGET => 1,
        _ => 3,
    }
}

/// The name of a system call, for traces and summaries.
pub fn name(nr: u64) -> Option<&'static str> {
    Some(match nr {
        WRITE => "write",
        SCHED_YIELD => "sched_yield",
        GETPID => "getpid",
        EXIT => "exit",
        CLOCK => "clock",
        SLEEP_TICKS => "sleep_ticks",
        SLEEP_NS => "sleep_ns",
        CPU_TICKS => "cpu_ticks",
        CPU_BUDGET => "cpu_budget",
        _ => return None,
    })
}
