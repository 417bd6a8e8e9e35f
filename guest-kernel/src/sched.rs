//! The scheduler: who runs next, and when the running process must stop.
//!
//! The policies (`sched/*.rs`: rr, fifo, coop, sjf, stcf, mlfq, lottery,
//! stride) are pure types behind [`Policy`] (`sched/decide.rs`), each with
//! its chapter's rules as its documentation; this file carries out what
//! they decide. Every runnable process, the running one included, is inside
//! the policy. At each timer tick ([`on_tick`]) the kernel charges the tick
//! that ended, lets the policy boost, admits the processes that arrive or
//! wake at this tick, and asks the policy who runs now: the order of OSTEP's
//! simulators, so that their answers and the kernel's agree tick for tick.
//! Under `coop` there is no timer; the kernel runs only at traps.
//!
//! The scheduler itself runs on the boot stack, like xv6's per-CPU
//! scheduler: a process gives up the CPU by switching to it ([`give_up`]),
//! and it switches to the process the policy chose ([`run`]). When nobody
//! is runnable it idles with interrupts on until the next interrupt.
//!
//! Charging: a tick is charged to the process on the CPU when the timer
//! fires if that process was put there by the previous tick's decision,
//! however long the switch took: each tick belongs to the process the
//! policy chose for it, as in OSTEP's model, so figures in ticks do not
//! depend on the host's speed. A process switched in between two ticks
//! (after another one yielded, slept or exited) is charged the tick only if
//! it was on the CPU for at least half of it by the tick's due time (not
//! the interrupt's arrival, which may be late); otherwise the tick is
//! unaccounted, and the trace says why (as for idle ticks).
//!
//! The hog rule: a process is ended ("last-hog") when it is the only one
//! left alive of several and has run [`HOG_TICKS`] ticks without entering
//! the kernel (a system call or a breakpoint) — with a timer but no
//! preemption nothing else could ever stop it. `--cpu-limit` ends any
//! process over its CPU time.

mod decide;
mod fifo;
mod lottery;
mod mlfq;
mod pyrandom;
mod queue;
mod rr;
mod sjf;
mod slice;
mod stcf;
mod stride;

use lde_abi::boot::{BootInfo, PolicyParams, MLFQ_IO_BUMP, MLFQ_IO_STAY};
use lde_abi::boot::{SCHED_COOP, SCHED_FIFO, SCHED_LOTTERY, SCHED_MLFQ, SCHED_SJF};
use lde_abi::boot::{SCHED_STCF, SCHED_STRIDE};
use lde_abi::trace::{self as ev, kill_reason, switch_reason, uncharged, why};

use crate::kcell::KernelCell;
use crate::process::{self, State};
use crate::switch::swtch;
use crate::trace::{rdtsc, record};
use crate::{apic, fpu, gdt, paging, println, time, vmexit};
use decide::{Admit, Leave, Pick, Policy, Then, Why};

/// Ticks without a trap after which the last process alive is a hog.
pub const HOG_TICKS: u64 = 50;

/// The policy in use: one of the pure types, stored in place.
// One static instance and no heap to box the large variants into.
#[allow(clippy::large_enum_variant)]
enum Active {
    Rr(rr::RoundRobin),
    Shortest(sjf::ShortestFirst),
    Mlfq(mlfq::Mlfq),
    Lottery(lottery::Lottery),
    Stride(stride::Stride),
}

impl Active {
    fn new(sched: u32, p: &PolicyParams) -> Active {
        match sched {
            SCHED_FIFO => Active::Rr(fifo::fifo("fifo")),
            SCHED_COOP => Active::Rr(fifo::fifo("coop")),
            SCHED_SJF => Active::Shortest(sjf::sjf()),
            SCHED_STCF => Active::Shortest(stcf::stcf()),
            SCHED_MLFQ => {
                let mut cfg = mlfq::MlfqConfig::DEFAULT;
                cfg.levels = p.levels as usize;
                for l in 0..mlfq::MAX_LEVELS {
                    cfg.quantum[l] = p.level_quantum[l].max(1) as u64;
                    cfg.allot[l] = p.level_allot[l].max(1) as u64;
                }
                cfg.boost = p.boost_ticks;
                cfg.stay = p.flags & MLFQ_IO_STAY != 0;
                cfg.bump = p.flags & MLFQ_IO_BUMP != 0;
                Active::Mlfq(mlfq::Mlfq::new(cfg))
            }
            SCHED_LOTTERY => Active::Lottery(lottery::Lottery::new(p.seed, p.slice_ticks)),
            SCHED_STRIDE => Active::Stride(stride::Stride::new(p.slice_ticks)),
            _ => Active::Rr(rr::RoundRobin::new(p.slice_ticks)),
        }
    }

    fn get(&mut self) -> &mut dyn Policy {
        match self {
            Active::Rr(p) => p,
            Active::Shortest(p) => p,
            Active::Mlfq(p) => p,
            Active::Lottery(p) => p,
            Active::Stride(p) => p,
        }
    }
}

struct Scheduler {
    policy: Active,
    /// The scheduler's own saved stack pointer (while a process runs).
    context: u64,
    /// The last process to give up the CPU and why (for the switch event).
    last: (u32, u64),
    /// The process a tick's decision chose, to run once the CPU is free.
    next: Option<usize>,
    /// The next dispatch carries out a tick's decision (see "Charging").
    at_boundary: bool,
    /// Processes that have not arrived yet.
    unborn: usize,
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
    policy: Active::Rr(rr::RoundRobin::new(1)),
    context: 0,
    last: (0, switch_reason::START),
    next: None,
    at_boundary: false,
    unborn: 0,
    cpu_limit_ticks: 0,
    switches: 0,
    tick_cycles: 0,
    ticks_measured: 0,
    switch_started: 0,
    switch_cycles: 0,
    switches_measured: 0,
});

fn policy() -> &'static mut dyn Policy {
    SCHED.get().policy.get()
}

/// Pick the policy, start the clock (and the timer), admit the processes
/// that arrive at tick 0, and run the scheduler for good.
pub fn start(info: &BootInfo, quantum_us: u64, cpu_limit_us: u64, tsc_khz: u64) -> ! {
    let s = SCHED.get();
    s.policy = Active::new(info.sched, &info.policy);
    s.cpu_limit_ticks = if cpu_limit_us == 0 {
        0
    } else {
        cpu_limit_us.div_ceil(quantum_us)
    };
    let timer = info.sched != SCHED_COOP;
    announce(info, quantum_us, timer);
    time::start(tsc_khz, quantum_us, timer);
    if timer {
        apic::start_periodic(quantum_us, tsc_khz);
    }
    SCHED.get().unborn = count(|s| s == State::Embryo);
    arrivals_and_wakes(0);
    SCHED.get().at_boundary = true;
    scheduler()
}

/// The scheduler line of the console: the policy and its settings.
fn announce(info: &BootInfo, quantum_us: u64, timer: bool) {
    let name = policy().name();
    let how = if !timer {
        "no timer: the kernel runs only at traps"
    } else if info.sched == SCHED_FIFO || info.sched == SCHED_SJF {
        "timer for accounting only"
    } else {
        "timer preemption"
    };
    println!("scheduler: {name} ({how}), quantum {quantum_us} us");
    let p = &info.policy;
    match info.sched {
        SCHED_MLFQ => {
            let n = (p.levels as usize).clamp(1, mlfq::MAX_LEVELS);
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
        SCHED_LOTTERY => println!("lottery: slice {} ticks, seed {}", p.slice_ticks, p.seed),
        SCHED_STRIDE => println!(
            "stride: slice {} ticks, stride {} / tickets",
            p.slice_ticks,
            stride::BIG
        ),
        SCHED_COOP | SCHED_FIFO | SCHED_SJF | SCHED_STCF => {}
        _ => println!("rr: slice {} ticks", p.slice_ticks),
    }
}

/// The scheduler loop, on the boot stack. Never returns: when every process
/// has ended it ends the VM.
fn scheduler() -> ! {
    loop {
        if !time::timer_on() {
            arrivals_and_wakes(time::now());
        }
        let next = SCHED.get().next.take().or_else(|| decide(time::now()));
        match next {
            Some(slot) => run(slot),
            None if !any_alive() => finish(),
            None => idle(),
        }
    }
}

/// Ask the policy who runs now; record the decision if it made one.
fn decide(tick: u64) -> Option<usize> {
    let Pick { slot, why } = policy().pick()?;
    if let Some(why) = why {
        let pid = process::table().procs[slot].pid;
        let (code, a, b) = match why {
            Why::Next => (why::NEXT, 0, 0),
            Why::SliceUsed => (why::SLICE_USED, 0, 0),
            Why::Demoted { from, to } => (why::DEMOTED, from as u64, to as u64),
            Why::Boost => (why::BOOST, 0, 0),
            Why::Ahead { level } => (why::AHEAD, level as u64, 0),
            Why::Shortest { remaining } => (why::SHORTEST, remaining, 0),
            Why::Preempts { remaining } => (why::PREEMPTS, remaining, 0),
            Why::Lottery { winner, total } => (why::LOTTERY, winner, total),
            Why::Stride { pass } => (why::STRIDE, pass, 0),
        };
        record(ev::kind::DECISION, pid, [tick, code, a, b, 0, 0]);
    }
    Some(slot)
}

/// Switch to the process in `slot`; returns when it gives up the CPU.
fn run(slot: usize) {
    let now = time::now();
    let s = SCHED.get();
    let boundary = core::mem::take(&mut s.at_boundary);
    let t = process::table();
    let p = &mut t.procs[slot];
    if p.first_run.is_none() {
        p.first_run = Some(now);
        record(ev::kind::PROC_FIRST_RUN, p.pid, [now, 0, 0, 0, 0, 0]);
    }
    p.wait_ticks += now.saturating_sub(p.ready_since);
    p.state = State::Running;
    p.owns_next_tick = boundary;
    p.run_start_tsc = rdtsc();
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
/// what happens next (runnable, sleeping, exited, killed) and the policy
/// must know.
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

/// `sched_yield`: behind the others, as the policy sees it.
pub fn yield_now() {
    if let Some(slot) = process::current() {
        policy().leave(slot, Leave::Yields);
        let p = &mut process::table().procs[slot];
        p.state = State::Runnable;
        p.ready_since = time::now();
        give_up(slot, switch_reason::YIELD);
    }
}

/// Block the running process until tick `wake`.
pub fn sleep_until(wake: u64) {
    if let Some(slot) = process::current() {
        policy().leave(slot, Leave::Sleeps);
        block(slot, wake);
        give_up(slot, switch_reason::SLEEP);
    }
}

fn block(slot: usize, wake: u64) {
    let t = process::table();
    t.sleeping += 1;
    let p = &mut t.procs[slot];
    p.state = State::Sleeping;
    p.wake_tick = wake;
    record(ev::kind::SLEEP, p.pid, [wake, 0, 0, 0, 0, 0]);
}

/// `exit(code)`: never returns.
pub fn exit_current(code: i32) -> ! {
    let slot = process::current().expect("exit without a process");
    policy().leave(slot, Leave::Exits);
    mark_exited(slot, code);
    give_up(slot, switch_reason::EXIT);
    unreachable!("an exited process was scheduled again");
}

fn mark_exited(slot: usize, code: i32) {
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
}

/// Kill the running process: never returns to it. `fault` = (vector, rip,
/// error code, address) for fault kills.
pub fn kill_current(reason: u64, fault: [u64; 4]) -> ! {
    let slot = process::current().expect("kill without a process");
    policy().leave(slot, Leave::Exits);
    mark_killed(slot, reason, fault);
    give_up(slot, switch_reason::KILL);
    unreachable!("a killed process was scheduled again");
}

fn mark_killed(slot: usize, reason: u64, fault: [u64; 4]) {
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
}

/// The running process entered the kernel on purpose (a system call or a
/// breakpoint): the hog rule's clock restarts.
pub fn note_trap() {
    if let Some(slot) = process::current() {
        process::table().procs[slot].ticks_since_trap = 0;
    }
}

/// A timer interrupt, the start of tick `t`: charge the tick that ended,
/// carry out what it means (length done, I/O due, CPU limit, hog rule),
/// let the policy boost, admit arrivals and wake-ups, and run the process
/// the policy chooses for this tick.
pub fn on_tick() {
    let start = rdtsc();
    apic::eoi();
    let t = time::tick();
    let current = process::current();
    if let Some(slot) = current {
        charge(slot, t);
    } else {
        record(ev::kind::TICK, 0, [t, 0, uncharged::IDLE, 0, 0, 0]);
    }
    if policy().tick(t) {
        record(ev::kind::BOOST, 0, [t, 0, 0, 0, 0, 0]);
    }
    arrivals_and_wakes(t);
    let next = decide(t);
    let s = SCHED.get();
    s.tick_cycles += rdtsc() - start;
    s.ticks_measured += 1;
    let Some(slot) = current else {
        s.next = next;
        s.at_boundary = next.is_some();
        return;
    };
    let p = &mut process::table().procs[slot];
    if p.state == State::Running && next == Some(slot) {
        // It goes on: this tick's decision is to keep it.
        p.owns_next_tick = true;
        return;
    }
    let reason = match p.state {
        State::Running => {
            p.state = State::Runnable;
            p.ready_since = t;
            switch_reason::PREEMPT
        }
        State::Sleeping => switch_reason::SLEEP,
        State::Killed => switch_reason::KILL,
        _ => switch_reason::EXIT,
    };
    s.next = next;
    s.at_boundary = next.is_some();
    give_up(slot, reason);
}

/// Charge tick `t` to the process in `slot` if it is its (see "Charging"),
/// and carry out what the tick means for it.
fn charge(slot: usize, t: u64) {
    let p = &mut process::table().procs[slot];
    let ran = time::due_tsc(t).saturating_sub(p.run_start_tsc);
    let owned = p.owns_next_tick || ran >= time::tsc_per_tick() / 2;
    p.owns_next_tick = false;
    let reason = if owned {
        uncharged::NONE
    } else {
        uncharged::SWITCH
    };
    record(ev::kind::TICK, p.pid, [t, owned as u64, reason, 0, 0, 0]);
    if !owned {
        return;
    }
    p.cpu_ticks += 1;
    p.ticks_since_trap += 1;
    // Its length done, then its I/O (the simulators' order).
    let io = p.job.io_due(p.cpu_ticks);
    let then = if p.cpu_budget != 0 && p.cpu_ticks >= p.cpu_budget {
        Then::Exits
    } else if io.is_some() {
        Then::Sleeps
    } else {
        Then::Runs
    };
    let pid = p.pid;
    if let Some((from, to)) = policy().charge(slot, then).demoted {
        record(ev::kind::LEVEL, pid, [t, from as u64, to as u64, 0, 0, 0]);
    }
    match then {
        Then::Exits => mark_exited(slot, 0),
        Then::Sleeps => block(slot, t + io.unwrap_or(0)),
        Then::Runs => {
            if let Some(reason) = verdict(slot) {
                policy().leave(slot, Leave::Exits);
                mark_killed(slot, reason, [0; 4]);
            }
        }
    }
}

/// The CPU limit and the hog rule, after a charged tick.
fn verdict(slot: usize) -> Option<u64> {
    let limit = SCHED.get().cpu_limit_ticks;
    let several = process::table().count > 1;
    let p = &process::table().procs[slot];
    if limit != 0 && p.cpu_ticks >= limit {
        println!(
            "lde kernel: pid {} ({}) killed: used its CPU limit of {} ticks",
            p.pid,
            p.name(),
            limit
        );
        return Some(kill_reason::CPU_LIMIT);
    }
    // Only a run of several processes has an "every other process is done";
    // a program run alone is left to the watchdog or --cpu-limit.
    if several && p.ticks_since_trap >= HOG_TICKS && runnable_count() == 0 && alive_count() == 1 {
        println!(
            "lde kernel: pid {} ({}) killed: every other process is done and it has run {} ticks \
             without entering the kernel",
            p.pid,
            p.name(),
            p.ticks_since_trap
        );
        return Some(kill_reason::LAST_HOG);
    }
    None
}

/// Processes that arrive at tick `now` enter the system, then sleepers
/// whose time has come wake up (mlfq.py's order: arrivals before I/O
/// completions); both join the policy.
fn arrivals_and_wakes(now: u64) {
    let t = process::table();
    for slot in 0..t.count {
        if SCHED.get().unborn == 0 {
            break;
        }
        let p = &mut t.procs[slot];
        if p.state == State::Embryo && p.arrival <= now {
            SCHED.get().unborn -= 1;
            p.state = State::Runnable;
            record(
                ev::kind::PROC_CREATE,
                p.pid,
                [
                    slot as u64,
                    p.arrival,
                    p.job.length_ticks,
                    p.job.tickets,
                    0,
                    0,
                ],
            );
            let job = job_of(p);
            policy().admit(slot, &job, Admit::Arrive);
        }
    }
    if t.sleeping == 0 {
        return;
    }
    for slot in 0..t.count {
        let p = &mut t.procs[slot];
        if p.state == State::Sleeping && now >= p.wake_tick {
            record(ev::kind::WAKE, p.pid, [now, 0, 0, 0, 0, 0]);
            p.state = State::Runnable;
            p.ready_since = now;
            t.sleeping -= 1;
            let job = job_of(p);
            policy().admit(slot, &job, Admit::Wake);
        }
    }
}

fn job_of(p: &process::Process) -> decide::Job {
    decide::Job {
        length: p.job.length_ticks,
        tickets: p.job.tickets,
    }
}

fn count(state: impl Fn(State) -> bool) -> usize {
    let t = process::table();
    t.procs[..t.count].iter().filter(|p| state(p.state)).count()
}

fn alive_count() -> usize {
    count(State::is_alive)
}

fn runnable_count() -> usize {
    count(|s| s == State::Runnable)
}

fn any_alive() -> bool {
    alive_count() > 0
}

/// Nothing to run: wait for an interrupt (with the timer) or for the next
/// arrival or sleeper's time (without one, by watching the clock).
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
            .filter_map(|p| match p.state {
                State::Sleeping => Some(p.wake_tick),
                State::Embryo => Some(p.arrival),
                _ => None,
            })
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
    println!(
        "lde kernel: all {} processes have ended ({} killed); {} context switches, {} ticks",
        t.procs[..t.count]
            .iter()
            .filter(|p| p.state != State::Unused)
            .count(),
        killed,
        SCHED.get().switches,
        time::now()
    );
    let s = SCHED.get();
    println!(
        "lde kernel: costs: timer tick {} cycles (mean of {}), context switch {} cycles (mean of {})",
        s.tick_cycles.checked_div(s.ticks_measured).unwrap_or(0),
        s.ticks_measured,
        s.switch_cycles.checked_div(s.switches_measured).unwrap_or(0),
        s.switches_measured
    );
    vmexit::exit(0)
}
