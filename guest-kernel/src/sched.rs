//! The scheduler: who runs next, and when the running process must stop.
//!
//! All three policies share one run queue in FIFO order; they differ only
//! in how the kernel gets the CPU back ([`Policy`]):
//! - `rr`: the timer ticks every quantum and the running process is
//!   preempted at the end of its slice (one tick) if anyone else is waiting;
//! - `fifo`: the timer ticks (for accounting) but nobody is preempted;
//! - `coop`: no timer at all; the kernel runs only when the process traps
//!   (system call, fault), and switches only at yield, sleep, exit or kill.
//!
//! The scheduler itself runs on the boot stack, like xv6's per-CPU
//! scheduler: a process gives up the CPU by switching to it ([`give_up`]),
//! and it switches to the next runnable process ([`run`]). When nobody is
//! runnable it idles with interrupts on until the next interrupt.
//!
//! Accounting is xv6's: the process on the CPU when the timer fires is
//! charged the tick (system calls count as its CPU time), except a process
//! that started less than half a tick ago (the tick fired during the switch
//! to it).
//!
//! The hog rule: a process is ended ("last-hog") when it is the only one
//! left alive of several and has run [`HOG_TICKS`] ticks without entering
//! the kernel (a system call or a breakpoint) — under
//! `rr` and `fifo` nothing else could ever stop it. `--cpu-limit` ends any
//! process over its CPU time.

use lde_abi::boot::{SCHED_COOP, SCHED_FIFO};
use lde_abi::trace::{self as ev, kill_reason, switch_reason};

use crate::kcell::KernelCell;
use crate::process::{self, State, MAX_PROCS};
use crate::switch::swtch;
use crate::trace::{rdtsc, record};
use crate::{apic, fpu, gdt, paging, say, time, vmexit};

/// Ticks without a trap after which the last process alive is a hog.
pub const HOG_TICKS: u64 = 50;

/// How a policy takes the CPU back.
pub trait Policy {
    fn name(&self) -> &'static str;
    /// Does the APIC timer run?
    fn uses_timer(&self) -> bool;
    /// Must the running process give up the CPU after `slice_ticks` ticks of
    /// its current slice (when someone else is waiting)?
    fn preempts(&self, slice_ticks: u64) -> bool;
}

struct RoundRobin;
struct Fifo;
struct Cooperative;

impl Policy for RoundRobin {
    fn name(&self) -> &'static str {
        "rr"
    }
    fn uses_timer(&self) -> bool {
        true
    }
    fn preempts(&self, slice_ticks: u64) -> bool {
        slice_ticks >= 1
    }
}

impl Policy for Fifo {
    fn name(&self) -> &'static str {
        "fifo"
    }
    fn uses_timer(&self) -> bool {
        true
    }
    fn preempts(&self, _: u64) -> bool {
        false
    }
}

impl Policy for Cooperative {
    fn name(&self) -> &'static str {
        "coop"
    }
    fn uses_timer(&self) -> bool {
        false
    }
    fn preempts(&self, _: u64) -> bool {
        false
    }
}

/// Runnable processes (slots), in the order they will run.
struct RunQueue {
    slots: [usize; MAX_PROCS],
    head: usize,
    len: usize,
}

impl RunQueue {
    fn push(&mut self, slot: usize) {
        debug_assert!(self.len < MAX_PROCS);
        self.slots[(self.head + self.len) % MAX_PROCS] = slot;
        self.len += 1;
    }

    fn pop(&mut self) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let slot = self.slots[self.head];
        self.head = (self.head + 1) % MAX_PROCS;
        self.len -= 1;
        Some(slot)
    }
}

struct Scheduler {
    policy: &'static dyn Policy,
    queue: RunQueue,
    /// The scheduler's own saved stack pointer (while a process runs).
    context: u64,
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

static SCHED: KernelCell<Scheduler> = KernelCell::new(Scheduler {
    policy: &RoundRobin,
    queue: RunQueue {
        slots: [0; MAX_PROCS],
        head: 0,
        len: 0,
    },
    context: 0,
    last: (0, switch_reason::START),
    cpu_limit_ticks: 0,
    switches: 0,
    tick_cycles: 0,
    ticks_measured: 0,
    switch_started: 0,
    switch_cycles: 0,
    switches_measured: 0,
});

/// Pick the policy, queue every created process, start the clock (and the
/// timer), and run the scheduler for good.
pub fn start(policy: u32, quantum_us: u64, cpu_limit_us: u64, tsc_khz: u64) -> ! {
    let s = SCHED.get();
    s.policy = match policy {
        SCHED_FIFO => &Fifo,
        SCHED_COOP => &Cooperative,
        _ => &RoundRobin,
    };
    s.cpu_limit_ticks = if cpu_limit_us == 0 {
        0
    } else {
        cpu_limit_us.div_ceil(quantum_us)
    };
    let t = process::table();
    for slot in 0..t.count {
        if t.procs[slot].state == State::Runnable {
            s.queue.push(slot);
        }
    }
    let timer = s.policy.uses_timer();
    say!(
        "scheduler: ",
        s.policy.name(),
        if timer {
            " (timer preemption)"
        } else {
            " (no timer: the kernel runs only at traps)"
        },
        ", quantum ",
        quantum_us,
        " us",
        if timer && !s.policy.preempts(1) {
            ", timer for accounting only"
        } else {
            ""
        }
    );
    time::start(tsc_khz, quantum_us, timer);
    if timer {
        apic::start_periodic(quantum_us, tsc_khz);
    }
    scheduler()
}

/// The scheduler loop, on the boot stack. Never returns: when every process
/// has ended it ends the VM.
fn scheduler() -> ! {
    loop {
        wake_sleepers();
        match SCHED.get().queue.pop() {
            Some(slot) => run(slot),
            None if !any_alive() => finish(),
            None => idle(),
        }
    }
}

/// Switch to the process in `slot`; returns when it gives up the CPU.
fn run(slot: usize) {
    let now = time::now();
    let t = process::table();
    let p = &mut t.procs[slot];
    if p.first_run.is_none() {
        p.first_run = Some(now);
        record(ev::kind::PROC_FIRST_RUN, p.pid, [now, 0, 0, 0, 0, 0]);
    }
    p.wait_ticks += now.saturating_sub(p.ready_since);
    p.state = State::Running;
    p.slice_used = 0;
    p.run_start_tsc = rdtsc();
    let s = SCHED.get();
    record(
        ev::kind::SWITCH,
        s.last.0,
        [p.pid as u64, s.last.1, 0, 0, 0, 0],
    );
    s.switches += 1;
    if s.switch_started != 0 {
        s.switch_cycles += rdtsc() - s.switch_started;
        s.switches_measured += 1;
        s.switch_started = 0;
    }
    t.current = Some(slot);
    gdt::set_kernel_stack(process::kstack_top(slot));
    if let Some(space) = p.space.as_ref() {
        paging::switch_to(space.pml4);
    }
    fpu::restore(&p.fpu);
    let target = p.context;
    let save = &mut s.context as *mut u64;
    // SAFETY: `target` is the saved stack of a process that is not running
    // (a fresh one built by process::create or one saved by give_up); we
    // save our own stack pointer in the scheduler's context slot.
    unsafe { swtch(save, target) };

    // Back from the process. Its page tables stay loaded (the kernel half
    // is the same everywhere) unless it is gone.
    let t = process::table();
    t.current = None;
    let p = &mut t.procs[slot];
    fpu::save(&mut p.fpu);
    p.cpu_tsc += rdtsc() - p.run_start_tsc;
    if !time::timer_on() {
        p.cpu_ticks = time::tsc_to_ticks(p.cpu_tsc);
    }
    if matches!(p.state, State::Exited | State::Killed) {
        paging::switch_to_kernel();
        reap(slot);
    }
}

/// The running process gives up the CPU to the scheduler, for `reason`;
/// returns when the scheduler runs it again. Its state must already say
/// what happens next (runnable and queued, sleeping, exited, killed).
fn give_up(slot: usize, reason: u64) {
    let p = &mut process::table().procs[slot];
    let s = SCHED.get();
    s.last = (p.pid, reason);
    s.switch_started = rdtsc();
    let save = &mut p.context as *mut u64;
    let target = s.context;
    // SAFETY: we are on this process's kernel stack; save it in its slot
    // and resume the scheduler's saved context.
    unsafe { swtch(save, target) };
}

fn make_runnable(slot: usize) {
    let p = &mut process::table().procs[slot];
    p.state = State::Runnable;
    p.ready_since = time::now();
    SCHED.get().queue.push(slot);
}

/// `sched_yield`: back of the queue.
pub fn yield_now() {
    if let Some(slot) = process::current() {
        make_runnable(slot);
        give_up(slot, switch_reason::YIELD);
    }
}

/// Block the running process until tick `wake`.
pub fn sleep_until(wake: u64) {
    if let Some(slot) = process::current() {
        let t = process::table();
        t.sleeping += 1;
        let p = &mut t.procs[slot];
        p.state = State::Sleeping;
        p.wake_tick = wake;
        record(ev::kind::SLEEP, p.pid, [wake, 0, 0, 0, 0, 0]);
        give_up(slot, switch_reason::SLEEP);
    }
}

/// `exit(code)`: never returns.
pub fn exit_current(code: i32) -> ! {
    let slot = process::current().expect("exit without a process");
    let now = time::now();
    let p = &mut process::table().procs[slot];
    p.state = State::Exited;
    p.exit_code = code;
    p.end = now;
    record(
        ev::kind::PROC_EXIT,
        p.pid,
        [code as i64 as u64, now, 0, 0, 0, 0],
    );
    give_up(slot, switch_reason::EXIT);
    unreachable!("an exited process was scheduled again");
}

/// Kill the running process: never returns to it. `fault` = (vector, rip,
/// error code, address) for fault kills.
pub fn kill_current(reason: u64, fault: [u64; 4]) -> ! {
    let slot = process::current().expect("kill without a process");
    let now = time::now();
    let p = &mut process::table().procs[slot];
    p.state = State::Killed;
    p.kill_reason = reason;
    p.end = now;
    record(
        ev::kind::PROC_KILL,
        p.pid,
        [reason, fault[0], fault[1], fault[2], fault[3], now],
    );
    give_up(slot, switch_reason::KILL);
    unreachable!("a killed process was scheduled again");
}

/// The running process entered the kernel on purpose (a system call or a
/// breakpoint): the hog rule's clock restarts.
pub fn note_trap() {
    if let Some(slot) = process::current() {
        process::table().procs[slot].ticks_since_trap = 0;
    }
}

/// A timer interrupt: account the tick, wake sleepers, enforce the CPU limit
/// and the hog rule, and preempt if the policy says so.
pub fn on_tick() {
    let start = rdtsc();
    apic::eoi();
    let tick = time::tick();
    let current = process::current();
    let pid = current.map(|s| process::table().procs[s].pid).unwrap_or(0);
    record(ev::kind::TICK, pid, [tick, 0, 0, 0, 0, 0]);
    wake_sleepers();
    let Some(slot) = current else { return };
    let several = process::table().count > 1;
    let p = &mut process::table().procs[slot];
    // A tick that fired while the kernel was switching is delivered right
    // after the next process starts; it belongs to the switch, not to that
    // process, which has hardly run. Charge a tick only to a process that
    // has been on the CPU for at least half of it.
    if start - p.run_start_tsc < time::tsc_per_tick() / 2 {
        return;
    }
    p.cpu_ticks += 1;
    p.slice_used += 1;
    p.ticks_since_trap += 1;
    if p.cpu_budget != 0 && p.cpu_ticks >= p.cpu_budget {
        exit_current(0);
    }
    let s = SCHED.get();
    if s.cpu_limit_ticks != 0 && p.cpu_ticks >= s.cpu_limit_ticks {
        say!(
            "lde kernel: pid ",
            p.pid,
            " (",
            p.name(),
            ") killed: used its CPU limit of ",
            s.cpu_limit_ticks,
            " ticks"
        );
        kill_current(kill_reason::CPU_LIMIT, [0; 4]);
    }
    // Only a run of several processes has an "every other process is done";
    // a program run alone is left to the watchdog or --cpu-limit.
    if s.queue.len == 0 && several && p.ticks_since_trap >= HOG_TICKS && alive_count() == 1 {
        say!(
            "lde kernel: pid ",
            p.pid,
            " (",
            p.name(),
            ") killed: every other process is done and it has run ",
            p.ticks_since_trap,
            " ticks without entering the kernel"
        );
        kill_current(kill_reason::LAST_HOG, [0; 4]);
    }
    // The handler's own cost, whether or not a switch follows.
    s.tick_cycles += rdtsc() - start;
    s.ticks_measured += 1;
    if s.queue.len > 0 && s.policy.preempts(p.slice_used) {
        make_runnable(slot);
        give_up(slot, switch_reason::PREEMPT);
    }
}

/// Move sleepers whose time has come to the run queue.
fn wake_sleepers() {
    let t = process::table();
    if t.sleeping == 0 {
        return;
    }
    let now = time::now();
    for slot in 0..t.count {
        let p = &t.procs[slot];
        if p.state == State::Sleeping && now >= p.wake_tick {
            record(ev::kind::WAKE, p.pid, [now, 0, 0, 0, 0, 0]);
            t.sleeping -= 1;
            make_runnable(slot);
        }
    }
}

fn alive_count() -> usize {
    let t = process::table();
    t.procs[..t.count]
        .iter()
        .filter(|p| p.state.is_alive())
        .count()
}

fn any_alive() -> bool {
    alive_count() > 0
}

/// Nothing to run: wait for an interrupt (with the timer) or for the next
/// sleeper's time (without one, by watching the clock).
fn idle() {
    let s = SCHED.get();
    if s.last.0 != 0 {
        record(ev::kind::SWITCH, s.last.0, [0, s.last.1, 0, 0, 0, 0]);
        s.last = (0, switch_reason::WAKE);
    }
    record(ev::kind::IDLE, 0, [1, 0, 0, 0, 0, 0]);
    if time::timer_on() {
        // `sti; hlt` is atomic: the interrupt cannot slip in between.
        x86_64::instructions::interrupts::enable_and_hlt();
        x86_64::instructions::interrupts::disable();
    } else {
        let t = process::table();
        let next = t.procs[..t.count]
            .iter()
            .filter(|p| p.state == State::Sleeping)
            .map(|p| p.wake_tick)
            .min()
            .unwrap_or(0);
        while time::now() < next {
            core::hint::spin_loop();
        }
    }
    record(ev::kind::IDLE, 0, [0, 0, 0, 0, 0, 0]);
}

/// A process has ended and is off the CPU: free its memory, report its
/// figures.
fn reap(slot: usize) {
    let p = &mut process::table().procs[slot];
    if let Some(space) = p.space.take() {
        space.free();
    }
    let killed = p.state == State::Killed;
    let code = if killed {
        p.kill_reason as i32
    } else {
        p.exit_code
    };
    record(
        ev::kind::PROC_STATS,
        p.pid,
        [
            p.cpu_ticks,
            p.arrival,
            p.first_run.unwrap_or(p.end),
            p.end,
            p.wait_ticks,
            ev::stats_end(killed, code),
        ],
    );
}

/// Every process has ended: say so and end the VM with status 0.
fn finish() -> ! {
    let t = process::table();
    let killed = t.procs[..t.count]
        .iter()
        .filter(|p| p.state == State::Killed)
        .count();
    let s = SCHED.get();
    say!(
        "lde kernel: all ",
        t.procs[..t.count]
            .iter()
            .filter(|p| p.state != State::Unused)
            .count(),
        " processes have ended (",
        killed,
        " killed); ",
        s.switches,
        " context switches, ",
        time::now(),
        " ticks"
    );
    say!(
        "lde kernel: costs: timer tick ",
        s.tick_cycles.checked_div(s.ticks_measured).unwrap_or(0),
        " cycles (mean of ",
        s.ticks_measured,
        "), context switch ",
        s.switch_cycles
            .checked_div(s.switches_measured)
            .unwrap_or(0),
        " cycles (mean of ",
        s.switches_measured,
        ")"
    );
    vmexit::exit(0)
}
