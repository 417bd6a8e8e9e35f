//! Observation: everything that measures or judges what the mechanisms do.
//!
//! The mechanisms (sched.rs, process.rs, timer.rs, trap.rs, syscall.rs) call
//! in here at named points — a process is created, becomes ready, is
//! switched in and out, enters the kernel, is charged a tick, sleeps,
//! wakes, ends, is reaped — and this module keeps OSTEP's accounting,
//! records the trace events (trace.rs), measures what ticks and switches
//! cost, narrates on the console, and judges: the CPU limit and the hog
//! rule are verdicts the timer carries out.
//!
//! Accounting is xv6's: the process on the CPU when the timer fires is
//! charged the tick (system calls count as its CPU time), except a process
//! that started less than half a tick ago (the tick fired during the switch
//! to it).
//!
//! The hog rule: a process is ended ("last-hog") when it is the only one
//! left alive of several and has run [`HOG_TICKS`] ticks without a system
//! call that could give up the CPU (`write`, which the timer may interrupt,
//! `sched_yield`, `sleep_*`, `exit`) — under `rr` and `fifo` nothing else
//! could ever stop it. Other system calls (`getpid`, `clock`, an unknown
//! number, ...) and bare traps (`int3`) do not count: a loop of them holds
//! the CPU just as a loop without any. `--cpu-limit` ends any process over
//! its CPU time, time in the kernel on its behalf included.

use core::sync::atomic::{AtomicBool, Ordering};

use lde_abi::layout::{PAGE_SIZE, USER_END, USER_STACK_GUARD};
use lde_abi::syscall::path;
use lde_abi::trace::{kill_reason, switch_reason, vector_name, KernelEvent};

use crate::console::{Hex, Say};
use crate::kcell::KernelCell;
use crate::process::{self, Process, State};
use crate::say;
use crate::sched::Policy;
use crate::time::{self, rdtsc};
use crate::trace::record;
use crate::trap_entry::TrapFrame;

/// Ticks without a system call that could give up the CPU after which the
/// last process alive is a hog.
pub const HOG_TICKS: u64 = 50;

/// A process's figures, in ticks (time.rs) unless named `_tsc`.
#[derive(Clone, Copy)]
pub struct Accounting {
    pub cpu_ticks: u64,
    pub arrival: u64,
    pub first_run: Option<u64>,
    pub end: u64,
    pub wait_ticks: u64,
    /// When it last became runnable (for `wait_ticks`).
    pub ready_since: u64,
    /// Ticks on the CPU since its last system call that could give up the
    /// CPU (the hog rule).
    pub ticks_since_trap: u64,
    /// TSC time on the CPU, and when its current run started.
    pub cpu_tsc: u64,
    pub run_start_tsc: u64,
}

impl Accounting {
    pub const ZERO: Accounting = Accounting {
        cpu_ticks: 0,
        arrival: 0,
        first_run: None,
        end: 0,
        wait_ticks: 0,
        ready_since: 0,
        ticks_since_trap: 0,
        cpu_tsc: 0,
        run_start_tsc: 0,
    };

    /// A process that arrives (and is ready) at tick `arrival`.
    pub fn arrived(arrival: u64) -> Accounting {
        Accounting {
            arrival,
            ready_since: arrival,
            ..Accounting::ZERO
        }
    }

    /// CPU time in ticks, including the current run when there is no timer
    /// to charge ticks.
    pub fn cpu_ticks_now(&self) -> u64 {
        if time::timer_on() {
            self.cpu_ticks
        } else {
            time::tsc_to_ticks(self.cpu_tsc + (rdtsc() - self.run_start_tsc))
        }
    }
}

struct Observer {
    /// The last process to give up the CPU and why (for the switch event).
    last: (u32, u64),
    cpu_limit_ticks: u64,
    switches: u64,
    /// Cost accounting, in TSC cycles: timer ticks handled without a switch,
    /// and switches from "a process gives up" to "the next one resumes".
    tick_cycles: u64,
    ticks_measured: u64,
    switch_started: u64,
    switch_cycles: u64,
    switches_measured: u64,
}

static OBSERVER: KernelCell<Observer> = KernelCell::new(Observer {
    last: (0, switch_reason::START),
    cpu_limit_ticks: 0,
    switches: 0,
    tick_cycles: 0,
    ticks_measured: 0,
    switch_started: 0,
    switch_cycles: 0,
    switches_measured: 0,
});

static PATH_REPORTED: AtomicBool = AtomicBool::new(false);

/// A process was created from boot module `slot`.
pub fn process_created(pid: u32, slot: usize, name: &str, args: &str) {
    record(
        pid,
        KernelEvent::ProcCreate {
            module: slot as u64,
            arrival: 0,
        },
    );
    say!("process ", pid, ": ", name, " ", args);
}

/// The scheduler starts under `policy`.
pub fn scheduler_started(policy: &impl Policy, quantum_us: u64, cpu_limit_us: u64) {
    OBSERVER.with(|o| {
        o.cpu_limit_ticks = if cpu_limit_us == 0 {
            0
        } else {
            cpu_limit_us.div_ceil(quantum_us)
        }
    });
    let timer = policy.uses_timer();
    say!(
        "scheduler: ",
        policy.name(),
        if timer {
            " (timer preemption)"
        } else {
            " (no timer: the kernel runs only at traps)"
        },
        ", quantum ",
        quantum_us,
        " us",
        if timer && !policy.preempts(1) {
            ", timer for accounting only"
        } else {
            ""
        }
    );
}

/// `p` became runnable.
#[inline(always)]
pub fn ready(p: &mut Process) {
    p.acct.ready_since = time::now();
}

/// `p` is about to run: its first run, its wait, the switch event and what
/// the switch cost.
#[inline(always)]
pub fn switching_in(p: &mut Process) {
    let now = time::now();
    let a = &mut p.acct;
    if a.first_run.is_none() {
        a.first_run = Some(now);
        record(p.pid, KernelEvent::ProcFirstRun { tick: now });
    }
    a.wait_ticks += now.saturating_sub(a.ready_since);
    a.run_start_tsc = rdtsc();
    OBSERVER.with(|o| {
        record(
            o.last.0,
            KernelEvent::Switch {
                to: p.pid,
                reason: o.last.1,
            },
        );
        o.switches += 1;
        if o.switch_started != 0 {
            o.switch_cycles += rdtsc() - o.switch_started;
            o.switches_measured += 1;
            o.switch_started = 0;
        }
    });
}

/// Process `pid` gives up the CPU for `reason` (`switch_reason`).
#[inline(always)]
pub fn giving_up(pid: u32, reason: u64) {
    OBSERVER.with(|o| {
        o.last = (pid, reason);
        o.switch_started = rdtsc();
    });
}

/// `p` is off the CPU: charge the run (by TSC; in ticks too when no timer
/// charges them).
#[inline(always)]
pub fn switched_out(p: &mut Process) {
    let a = &mut p.acct;
    a.cpu_tsc += rdtsc() - a.run_start_tsc;
    if !time::timer_on() {
        a.cpu_ticks = time::tsc_to_ticks(a.cpu_tsc);
    }
}

/// The CPU idles (`true`) or stops idling (`false`).
pub fn idle(starts: bool) {
    if starts {
        OBSERVER.with(|o| {
            if o.last.0 != 0 {
                record(
                    o.last.0,
                    KernelEvent::Switch {
                        to: 0,
                        reason: o.last.1,
                    },
                );
                o.last = (0, switch_reason::WAKE);
            }
        });
    }
    record(0, KernelEvent::Idle { starts });
}

/// The running process made a system call that could give up the CPU, or
/// `write` printed a piece: the hog rule's clock restarts.
#[inline(always)]
pub fn entered_kernel() {
    process::with_current(|p| p.acct.ticks_since_trap = 0);
}

/// A system call arrived by `how` (`path::GATE` or `path::UD`): the first
/// one says which way calls arrive on this host.
#[inline(always)]
pub fn syscall_path(how: u64) {
    if !PATH_REPORTED.swap(true, Ordering::Relaxed) {
        say!(
            "lde kernel: system calls arrive ",
            if how == path::GATE {
                "through the int 0x80 gate"
            } else {
                "as #UD on the int 0x80 bytes (this host, PVM, does not deliver int 0x80 through the gate)"
            }
        );
    }
}

/// A system call was served: `call(a0, a1, a2) = result`, arrived by `how`
/// with the caller's CS `cs` (RPL 3 shows it came from user mode).
#[inline(always)]
pub fn syscall(pid: u32, call: u64, args: [u64; 3], result: u64, how: u64, cs: u64) {
    record(
        pid,
        KernelEvent::Syscall {
            nr: call,
            args,
            result,
            path: how,
            cs,
        },
    );
}

/// A trap that is not a system call (a breakpoint, a fault).
#[inline(always)]
pub fn trap(tf: &TrapFrame, cr2: u64) {
    record(
        process::current_pid(),
        KernelEvent::Trap {
            vector: tf.vector,
            rip: tf.rip,
            error: tf.error,
            from_user: tf.is_from_user(),
            cr2,
        },
    );
}

/// A user process faulted (`tf`, CR2 `cr2`) and is about to be killed: the
/// trap event, and the console line saying why.
pub fn user_fault(tf: &TrapFrame, cr2: u64) {
    trap(tf, cr2);
    process::with_table(|t| {
        let (pid, name) = match t.current {
            Some(s) => (t.procs[s].pid, t.procs[s].name()),
            None => (0, "?"),
        };
        fault_line(tf, cr2, pid, name)
    });
}

/// ", address 0x… (hint)" of a page fault's kill message.
struct FaultAddress(u64, &'static str);

impl Say for FaultAddress {
    fn say(&self) {
        ", address ".say();
        Hex(self.0).say();
        self.1.say();
    }
}

fn fault_line(tf: &TrapFrame, cr2: u64, pid: u32, name: &str) {
    let what = vector_name(tf.vector);
    let address = (tf.vector == lde_abi::cpu::vector::PAGE_FAULT as u64).then(|| {
        let hint = if (USER_STACK_GUARD..USER_STACK_GUARD + PAGE_SIZE).contains(&cr2) {
            " (stack overflow)"
        } else if cr2 >= USER_END {
            " (kernel memory)"
        } else if tf.error & 1 == 0 {
            " (not mapped)"
        } else {
            " (protection)"
        };
        FaultAddress(cr2, hint)
    });
    say!(
        "lde kernel: pid ",
        pid,
        " (",
        name,
        ") killed: ",
        what,
        " at rip ",
        Hex(tf.rip),
        address,
        ", error ",
        Hex(tf.error)
    );
}

/// Timer tick number `tick`, which interrupted the process in `slot`.
#[inline(always)]
pub fn tick(tick: u64, slot: Option<usize>) {
    let pid = slot.map_or(0, |s| process::with_table(|t| t.procs[s].pid));
    record(pid, KernelEvent::Tick { tick });
}

/// Charge the tick that interrupted `p` (the tick handler began at TSC
/// `start`): `false` if the tick belongs to the switch instead. A tick that
/// fired while the kernel was switching is delivered right after the next
/// process starts; it belongs to the switch, not to that process, which has
/// hardly run. Only a process that has been on the CPU for at least half a
/// tick is charged.
#[inline(always)]
pub fn charge_tick(p: &mut Process, start: u64) -> bool {
    let a = &mut p.acct;
    if start - a.run_start_tsc < time::tsc_per_tick() / 2 {
        return false;
    }
    a.cpu_ticks += 1;
    a.ticks_since_trap += 1;
    true
}

/// Judge the running process (in `slot`) after a charged tick, knowing
/// whether anyone else waits for the CPU: the kill reason if it is over
/// the CPU limit or a hog, with the console line.
#[inline(always)]
pub fn verdict(slot: usize, nobody_waits: bool) -> Option<u64> {
    let limit = OBSERVER.with(|o| o.cpu_limit_ticks);
    let reason = process::with_table(|t| {
        let a = &t.procs[slot].acct;
        if limit != 0 && a.cpu_ticks >= limit {
            return Some(kill_reason::CPU_LIMIT);
        }
        // Only a run of several processes has an "every other process is
        // done"; a program run alone is left to the watchdog or --cpu-limit.
        if a.ticks_since_trap >= HOG_TICKS && nobody_waits && t.count > 1 && t.alive_count() == 1 {
            return Some(kill_reason::LAST_HOG);
        }
        None
    })?;
    say_why_killed(slot, reason, limit);
    Some(reason)
}

/// The console line for a verdict (out of the tick's way: it is rare).
#[cold]
#[inline(never)]
fn say_why_killed(slot: usize, reason: u64, limit: u64) {
    process::with_table(|t| {
        let p = &t.procs[slot];
        if reason == kill_reason::CPU_LIMIT {
            say!(
                "lde kernel: pid ",
                p.pid,
                " (",
                p.name(),
                ") killed: used its CPU limit of ",
                limit,
                " ticks"
            );
        } else {
            say!(
                "lde kernel: pid ",
                p.pid,
                " (",
                p.name(),
                ") killed: every other process is done and it has run ",
                p.acct.ticks_since_trap,
                " ticks without a system call that could give up the CPU"
            );
        }
    })
}

/// The tick handler that began at TSC `start` is done (whether or not a
/// switch follows): its cost.
#[inline(always)]
pub fn tick_handled(start: u64) {
    OBSERVER.with(|o| {
        o.tick_cycles += rdtsc() - start;
        o.ticks_measured += 1;
    });
}

/// `p` goes to sleep until tick `wake`.
#[inline(always)]
pub fn sleeping(p: &Process, wake: u64) {
    record(p.pid, KernelEvent::Sleep { wake });
}

/// `p` wakes at tick `now`.
#[inline(always)]
pub fn woke(p: &Process, now: u64) {
    record(p.pid, KernelEvent::Wake { tick: now });
}

/// `p` exits with `code`.
#[inline(always)]
pub fn exited(p: &mut Process, code: i32) {
    let now = time::now();
    p.acct.end = now;
    record(p.pid, KernelEvent::ProcExit { code, tick: now });
}

/// `p` is killed for `reason`; `fault` = (vector, rip, error, address).
#[inline(always)]
pub fn killed(p: &mut Process, reason: u64, fault: [u64; 4]) {
    let now = time::now();
    p.acct.end = now;
    record(
        p.pid,
        KernelEvent::ProcKill {
            reason,
            vector: fault[0],
            rip: fault[1],
            error: fault[2],
            addr: fault[3],
            tick: now,
        },
    );
}

/// `p` has ended and is gone: its final figures.
#[inline(always)]
pub fn reaped(p: &Process) {
    let killed = p.state == State::Killed;
    let code = if killed {
        p.kill_reason as i32
    } else {
        p.exit_code
    };
    let a = &p.acct;
    record(
        p.pid,
        KernelEvent::ProcStats {
            cpu_ticks: a.cpu_ticks,
            arrival: a.arrival,
            first_run: a.first_run.unwrap_or(a.end),
            end: a.end,
            wait_ticks: a.wait_ticks,
            killed,
            code,
        },
    );
}

/// Every process has ended: say so, and what ticks and switches cost.
pub fn all_ended() {
    let (ended, killed) = process::with_table(|t| {
        let procs = &t.procs[..t.count];
        (
            procs.iter().filter(|p| p.state != State::Unused).count(),
            procs.iter().filter(|p| p.state == State::Killed).count(),
        )
    });
    OBSERVER.with(|o| {
        say!(
            "lde kernel: all ",
            ended,
            " processes have ended (",
            killed,
            " killed); ",
            o.switches,
            " context switches, ",
            time::now(),
            " ticks"
        );
        say!(
            "lde kernel: costs: timer tick ",
            o.tick_cycles.checked_div(o.ticks_measured).unwrap_or(0),
            " cycles (mean of ",
            o.ticks_measured,
            "), context switch ",
            o.switch_cycles
                .checked_div(o.switches_measured)
                .unwrap_or(0),
            " cycles (mean of ",
            o.switches_measured,
            ")"
        );
    });
}
