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
//! Charging: a tick is charged to the process on the CPU when the timer
//! fires (system calls count as its CPU time) if that process was put there
//! by the previous tick's scheduling decision, however long the switch
//! took: each tick belongs to the process the policy chose for it, as in
//! OSTEP's model, so figures in ticks do not depend on the host's speed. A
//! process switched in between two ticks (after another one yielded, slept
//! or exited) is charged the tick only if it was on the CPU for at least
//! half of it by the tick's due time (not the interrupt's arrival, which may
//! be late); otherwise the tick is unaccounted, and its event says why (as
//! for idle ticks).
//!
//! The hog rule: a process is ended ("last-hog") when it is the only one
//! left alive of several and has run [`HOG_TICKS`] ticks alone without a
//! system call that could give up the CPU (`write`, which the timer may interrupt,
//! `sched_yield`, `sleep_*`, `exit`) — under `rr` and `fifo` nothing else
//! could ever stop it. Other system calls (`getpid`, `clock`, an unknown
//! number, ...) and bare traps (`int3`) do not count: a loop of them holds
//! the CPU just as a loop without any. Ticks it ran while others were
//! alive do not count: the timer shared the CPU then, and a long job that
//! ends a few ticks after the others is no hog. `--cpu-limit` ends any process over
//! its CPU time, time in the kernel on its behalf included.

use lde_abi::boot::{BootInfo, MLFQ_IO_BUMP, MLFQ_IO_STAY, SCHED_COOP, SCHED_FIFO};
use lde_abi::boot::{SCHED_LOTTERY, SCHED_MLFQ, SCHED_SJF, SCHED_STCF, SCHED_STRIDE};
use lde_abi::layout::{PAGE_SIZE, RUN_TOTALS, USER_END, USER_STACK_GUARD};
use lde_abi::syscall::path;
use lde_abi::totals::RunTotals;
use lde_abi::trace::{kill_reason, switch_reason, uncharged, vector_name, KernelEvent};

use crate::boot::phys_to_virt;
use crate::console::{Hex, Say};
use crate::kcell::KernelCell;
use crate::process::{self, Process, State};
use crate::time::{self, rdtsc};
use crate::trace::{record, record_at};
use crate::trap_entry::TrapFrame;
use crate::{println, say};

/// Ticks alone without a system call that could give up the CPU after
/// which the last process alive is a hog.
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
    /// CPU or since it was left alone, whichever came later (the hog rule).
    pub ticks_since_trap: u64,
    /// TSC time on the CPU, and when its current run started.
    pub cpu_tsc: u64,
    pub run_start_tsc: u64,
    /// Nothing is to be judged at a charge before `cpu_ticks` reaches this
    /// (its length's end, its next I/O, the CPU limit, the hog rule's
    /// earliest verdict; 0 until its first judged charge): below it a tick
    /// may be a quiet one (timer.rs). Whatever lowers it between two ticks
    /// must also end the quiet ticks reckoned from it (`sched::end_quiet`).
    pub check_at: u64,
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
        check_at: 0,
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
    /// The policy's pick-next, in TSC cycles: [kept the one running (or
    /// found nobody), chose anew (a decision)].
    pick_cycles: [u64; 2],
    picks: [u64; 2],
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
    pick_cycles: [0; 2],
    picks: [0; 2],
});

/// Whether the first system call has said how calls arrive. A plain
/// `bool` (not an atomic): `getpid`'s path tests it with one compare.
static PATH_REPORTED: KernelCell<bool> = KernelCell::new(false);

/// A process was loaded from its boot module (it arrives later when
/// `arrival` > 0).
pub fn process_loaded(pid: u32, name: &[u8], args: &[u8], arrival: u64) {
    if arrival > 0 {
        say!(
            "process ",
            pid,
            ": ",
            name,
            " ",
            args,
            " (arrives at tick ",
            arrival,
            ")"
        );
    } else {
        say!("process ", pid, ": ", name, " ", args);
    }
}

/// `p`, from boot module `slot`, enters the system at its arrival tick.
pub fn arrived(p: &mut Process, slot: usize) {
    p.acct.ready_since = p.job.arrival_tick;
    record(
        p.pid,
        KernelEvent::ProcCreate {
            module: slot as u64,
            arrival: p.job.arrival_tick,
            length: p.job.length_ticks,
            tickets: p.job.tickets,
        },
    );
}

/// The scheduler starts under the policy `name`: the console says which
/// and with what settings.
pub fn scheduler_started(name: &str, info: &BootInfo, timer: bool) {
    let quantum_us = info.quantum_us;
    OBSERVER.with(|o| {
        o.cpu_limit_ticks = if info.cpu_limit_us == 0 {
            0
        } else {
            info.cpu_limit_us.div_ceil(quantum_us)
        }
    });
    // The fixed text around "how" is part of each literal: every piece
    // `say!` prints costs a few dozen emulated instructions on PVM hosts.
    let how = if !timer {
        " (no timer: the kernel runs only at traps), quantum "
    } else if info.sched == SCHED_FIFO || info.sched == SCHED_SJF {
        " (timer for accounting only), quantum "
    } else {
        " (timer preemption), quantum "
    };
    say!("scheduler: ", name, how, quantum_us, " us");
    let p = &info.policy;
    match info.sched {
        SCHED_MLFQ => {
            let n = (p.levels as usize).clamp(1, lde_abi::boot::MAX_LEVELS);
            println!(
                "mlfq: {n} levels, quanta {:?} ticks, allotments {:?} quanta (top first), \
                 boost every {} ticks{}{}",
                &p.level_quantum[..n],
                &p.level_allot[..n],
                p.boost_ticks,
                if p.flags & MLFQ_IO_STAY != 0 {
                    ", I/O keeps the level (-S)"
                } else {
                    ""
                },
                if p.flags & MLFQ_IO_BUMP != 0 {
                    ", back from I/O to the front (-I)"
                } else {
                    ""
                },
            );
        }
        SCHED_LOTTERY => say!("lottery: slice ", p.slice_ticks, " ticks, seed ", p.seed),
        SCHED_STRIDE => say!(
            "stride: slice ",
            p.slice_ticks,
            " ticks, stride 10000 / tickets"
        ),
        SCHED_COOP | SCHED_FIFO | SCHED_SJF | SCHED_STCF => {}
        _ => say!("rr: slice ", p.slice_ticks, " ticks"),
    }
}

/// The policy chose the process in `slot` at `tick`, for `why`.
pub fn decision(tick: u64, slot: usize, why: crate::sched::Why) {
    let pid = process::with_table(|t| t.procs[slot].pid);
    record(pid, KernelEvent::Decision { tick, why });
}

/// MLFQ: the process in `slot` went from level `from` to `to` at `tick`.
pub fn level(tick: u64, slot: usize, from: u8, to: u8) {
    let pid = process::with_table(|t| t.procs[slot].pid);
    record(
        pid,
        KernelEvent::Level {
            tick,
            from: from as u64,
            to: to as u64,
        },
    );
}

/// MLFQ: every job went back to the top level at `tick`.
pub fn boost(tick: u64) {
    record(0, KernelEvent::Boost { tick });
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
    OBSERVER.with(|o| {
        record(
            o.last.0,
            KernelEvent::Switch {
                to: p.pid,
                reason: o.last.1,
            },
        );
        let tsc = rdtsc();
        p.acct.run_start_tsc = tsc;
        o.switches += 1;
        if o.switch_started != 0 {
            o.switch_cycles += tsc - o.switch_started;
            o.switches_measured += 1;
            o.switch_started = 0;
        }
    });
}

/// `p` gives up the CPU for `reason` (`switch_reason`): charge its run (by
/// TSC; in ticks too when no timer charges them), and start the switch's
/// clock.
#[inline(always)]
pub fn giving_up(p: &mut Process, reason: u64) {
    let tsc = rdtsc();
    let a = &mut p.acct;
    a.cpu_tsc += tsc - a.run_start_tsc;
    if !time::timer_on() {
        a.cpu_ticks = time::tsc_to_ticks(a.cpu_tsc);
    }
    OBSERVER.with(|o| {
        o.last = (p.pid, reason);
        o.switch_started = tsc;
    });
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
    if !syscall_path_reported() {
        say_syscall_path(how);
    }
}

/// Has the first system call said which way calls arrive?
#[inline(always)]
pub fn syscall_path_reported() -> bool {
    PATH_REPORTED.with(|r| *r)
}

#[cold]
#[inline(never)]
fn say_syscall_path(how: u64) {
    PATH_REPORTED.with(|r| *r = true);
    say!(
        "lde kernel: system calls arrive ",
        if how == path::GATE {
            "through the int 0x80 gate"
        } else {
            "as #UD on the int 0x80 bytes (this host, PVM, does not deliver int 0x80 through the gate)"
        }
    );
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

/// `getpid` was served (its result is the pid): [`syscall`] with the mark
/// the arrival carries.
#[inline(always)]
pub fn getpid(pid: u32, args: [u64; 3], how: crate::syscall::Arrival, cs: u64) {
    crate::trace::record_marked(
        pid,
        KernelEvent::Syscall {
            nr: lde_abi::syscall::GETPID,
            args,
            result: pid as u64,
            path: how.path(),
            cs,
        },
        how.getpid_mark(),
    );
}

/// A trap from user mode that is not a system call (a breakpoint, a
/// fault).
#[inline(always)]
pub fn trap(tf: &TrapFrame, cr2: u64) {
    record(
        process::pid_of_user_frame(tf),
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

/// Timer tick number `tick`, begun at TSC `start`, found the CPU idle:
/// nobody's tick.
pub fn idle_tick(tick: u64, start: u64) {
    record_at(
        0,
        KernelEvent::Tick {
            tick,
            charged: false,
            uncharged: uncharged::IDLE,
        },
        start,
    );
}

/// Timer tick number `tick`, begun at TSC `start`, interrupted `p`: charge
/// it if it is `p`'s (see "Charging"), and record it either way. `false`:
/// unaccounted.
#[inline(always)]
pub fn charge_tick(p: &mut Process, tick: u64, start: u64) -> bool {
    let ran = time::due_tsc(tick).saturating_sub(p.acct.run_start_tsc);
    let owned = p.owns_next_tick || ran >= time::tsc_per_tick() / 2;
    p.owns_next_tick = false;
    tick_charged(p, tick, start, owned);
    owned
}

/// Tick `t`'s decision kept `p` on the CPU: the first tick after `t` whose
/// charge has something to judge (see `check_at`). The ticks before it may
/// be quiet ones (timer.rs): `p` owns each, and each only charges it.
pub fn quiet_until(p: &Process, t: u64) -> u64 {
    // At tick t + k, k - 1 quiet ticks later, it has run cpu_ticks + k - 1
    // ticks; the charge judges nothing while that plus one is below
    // check_at.
    t.saturating_add(p.acct.check_at.saturating_sub(p.acct.cpu_ticks))
}

/// Charge the quiet tick `tick`, begun at TSC `start`, to `p`, which the
/// policy keeps on the CPU: it owns the next tick too.
#[inline(always)]
pub fn charge_quiet(p: &mut Process, tick: u64, start: u64) {
    tick_charged(p, tick, start, true);
}

/// Tick `tick` found `p` on the CPU: its event, stamped with the tick's
/// start (`start`, already read for the cost meter: no second `rdtsc`),
/// and its charge if `owned`.
#[inline(always)]
fn tick_charged(p: &mut Process, tick: u64, start: u64, owned: bool) {
    // The charge first: then nothing of `p` is needed after the event,
    // whose record may call out (trace.rs, `look`); the quiet tick
    // (timer.rs) needs no stack frame for it.
    if owned {
        p.acct.cpu_ticks += 1;
        p.acct.ticks_since_trap += 1;
    }
    record_at(
        p.pid,
        KernelEvent::Tick {
            tick,
            charged: owned,
            uncharged: if owned {
                uncharged::NONE
            } else {
                uncharged::SWITCH
            },
        },
        start,
    );
}

/// Judge the running process (in `slot`) after a charged tick: the kill
/// reason if it is over the CPU limit or a hog, with the console line.
/// Otherwise it goes on, and this sets when it must next be judged.
#[inline(always)]
pub fn verdict(slot: usize) -> Option<u64> {
    let limit = OBSERVER.with(|o| o.cpu_limit_ticks);
    let reason = process::with_table(|t| {
        let p = &t.procs[slot];
        let a = &p.acct;
        if limit != 0 && a.cpu_ticks >= limit {
            return Some(kill_reason::CPU_LIMIT);
        }
        // Only a run of several processes has an "every other process is
        // done"; a program run alone is left to the watchdog or --cpu-limit.
        // A job with a CPU budget (a known length) ends by itself.
        let hog_rule = p.cpu_budget == 0 && t.count > 1;
        if a.ticks_since_trap >= HOG_TICKS && hog_rule && t.alive_count() == 1 {
            return Some(kill_reason::LAST_HOG);
        }
        let p = &mut t.procs[slot];
        p.acct.check_at = next_check(p, limit, hog_rule);
        None
    })?;
    say_why_killed(slot, reason, limit);
    Some(reason)
}

/// The CPU time at which `p`, judged now and not ended, must be judged
/// again: the first of its length's end, its next I/O, the CPU `limit`
/// and, under the `hog_rule`, its first tick at `HOG_TICKS` without a
/// system call that could give up the CPU (a call meanwhile only moves
/// that later: judging early is harmless) or the next tick while it is
/// there already and others are alive.
fn next_check(p: &Process, limit: u64, hog_rule: bool) -> u64 {
    let a = &p.acct;
    let mut at = p.job.next_io(a.cpu_ticks).unwrap_or(u64::MAX);
    if p.cpu_budget != 0 {
        at = at.min(p.cpu_budget);
    }
    if limit != 0 {
        at = at.min(limit);
    }
    if hog_rule {
        let hog = a.cpu_ticks.saturating_sub(a.ticks_since_trap) + HOG_TICKS;
        at = at.min(hog.max(a.cpu_ticks + 1));
    }
    at
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
                " ticks alone without a system call that could give up the CPU"
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

/// The policy's pick-next that began at TSC `start` returned; `decided`:
/// it chose anew (a `decision`), rather than keeping the one running. (A
/// quiet tick, timer.rs, calls no pick-next: its cost is the tick's.)
#[inline(always)]
pub fn picked(start: u64, decided: bool) {
    OBSERVER.with(|o| {
        o.pick_cycles[decided as usize] += rdtsc() - start;
        o.picks[decided as usize] += 1;
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

/// A process of the table `t` has ended. If that leaves one alive, of
/// several, the hog rule's clock of that one starts now (a verdict due
/// earlier, `check_at`, finds it short and sets the next).
#[inline(always)]
pub fn ended(t: &mut process::ProcessTable) {
    if t.count > 1 && t.alive_count() == 1 {
        if let Some(last) = t.procs[..t.count].iter_mut().find(|p| p.state.is_alive()) {
            last.acct.ticks_since_trap = 0;
        }
    }
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

/// Every process has ended: leave the run's totals (how many ended and
/// were killed, switches, ticks, what ticks, switches and pick-next cost)
/// where the VMM reads them once the VM ends, and prints the end-of-run
/// lines (lde-abi `totals`): formatting them here cost about 700 emulated
/// instructions.
pub fn all_ended() {
    let (processes, killed) = process::with_table(|t| {
        let (mut ended, mut killed) = (0, 0);
        for p in &t.procs[..t.count] {
            ended += (p.state != State::Unused) as u64;
            killed += (p.state == State::Killed) as u64;
        }
        (ended, killed)
    });
    // Every process has been reaped: all its frames went back.
    let leaked = crate::frames::not_given_back();
    if leaked != 0 {
        say!(
            "lde kernel: ",
            leaked,
            " frames of ended processes were never given back (a leak)"
        );
    }
    let ticks = time::now();
    OBSERVER.with(|o| {
        let totals = RunTotals {
            magic: lde_abi::totals::MAGIC,
            processes,
            killed,
            switches: o.switches,
            ticks,
            tick_cycles: o.tick_cycles,
            ticks_measured: o.ticks_measured,
            switch_cycles: o.switch_cycles,
            switches_measured: o.switches_measured,
            pick_cycles: o.pick_cycles,
            picks: o.picks,
        };
        // SAFETY: `RUN_TOTALS` is reserved RAM for this block (lde-abi
        // layout; the frame allocator never hands it out), in the direct
        // map; the kernel writes it once, just before the VM ends.
        unsafe { (phys_to_virt(RUN_TOTALS) as *mut RunTotals).write(totals) };
    });
}
