//! The scheduler: the policy, who runs next, and the switch to it.
//!
//! The policies (`sched/*.rs`: rr, fifo, coop, sjf, stcf, mlfq, lottery,
//! stride) are pure types behind [`Policy`] (`sched/policy.rs`), each with
//! its chapter's rules as its documentation, unit-tested on the host. Every
//! runnable process, the running one included, is inside the policy. At
//! each timer tick (timer.rs) the kernel charges the tick that ended, then
//! [`at_tick`] lets the policy boost, admits the processes that arrive or
//! wake at this tick, and asks the policy who runs now: the order of OSTEP's
//! simulators, so that their answers and the kernel's agree tick for tick.
//!
//! The scheduler itself runs on the boot stack, like xv6's per-CPU
//! scheduler: a process gives up the CPU by switching to it ([`give_up`]),
//! and it switches to the process the policy chose ([`run`]). When nobody
//! is runnable it idles with interrupts on until the next interrupt. What
//! is measured on the way (accounting, events, costs) is observe.rs's.

mod coop;
mod fifo;
mod lottery;
mod mlfq;
mod policy;
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
use lde_abi::trace::switch_reason;

pub use policy::{Admit, Job, Leave, Policy, Then, Why, MAX_PROCS};

use crate::kcell::KernelCell;
use crate::process::{self, SlotAt, State};
use crate::switch::swtch;
use crate::{fpu, fsgs, gdt, observe, paging, time, timer, vmexit, xstate};
use policy::Pick;

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
    /// Become the policy `sched` asks for. Each arm assigns its own variant
    /// so that it is built in place: a `match` that returned an `Active`
    /// would build the whole (largest-variant-sized) enum on the stack and
    /// copy it in, hundreds of emulated instructions on PVM hosts.
    fn set(&mut self, sched: u32, p: &PolicyParams) {
        match sched {
            SCHED_FIFO => *self = Active::Rr(fifo::fifo()),
            SCHED_COOP => *self = Active::Rr(coop::coop()),
            SCHED_SJF => *self = Active::Shortest(sjf::sjf()),
            SCHED_STCF => *self = Active::Shortest(stcf::stcf()),
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
                *self = Active::Mlfq(mlfq::Mlfq::new(cfg));
            }
            SCHED_LOTTERY => *self = Active::Lottery(lottery::Lottery::new(p.seed, p.slice_ticks)),
            SCHED_STRIDE => *self = Active::Stride(stride::Stride::new(p.slice_ticks)),
            _ => *self = Active::Rr(rr::RoundRobin::new(p.slice_ticks)),
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
    /// The process a tick's decision chose, to run once the CPU is free.
    next: Option<usize>,
    /// The next dispatch carries out a tick's decision (observe.rs,
    /// "Charging").
    at_boundary: bool,
    quiet: Quiet,
}

/// The quiet ticks ahead (timer.rs): after tick `t`'s decision kept the
/// process in `slot` on the CPU, every tick before `until` only charges it
/// — nothing arrives or wakes, nothing is due to be judged, the policy
/// would keep it without a decision — so long as nothing else happens.
/// Anything else asks the policy first (a tick that is not quiet, a
/// process that leaves the CPU or is admitted), and that ends them
/// ([`Scheduler::end_quiet`]). `untold`: quiet ticks the policy has not
/// yet heard of ([`Policy::ran_quietly`]).
struct Quiet {
    until: u64,
    /// A byte: indexing the process table with it needs no bounds check.
    slot: u8,
    /// `slot`, as the quiet tick finds its process.
    at: SlotAt,
    untold: u64,
}

const _: () = assert!(MAX_PROCS <= 1 << u8::BITS);

impl Scheduler {
    /// No more quiet ticks until a tick's decision says so again; first
    /// the policy hears of those that passed.
    #[inline(always)]
    fn end_quiet(&mut self) {
        self.quiet.until = 0;
        if self.quiet.untold != 0 {
            self.tell_quiet();
        }
    }

    #[inline(never)]
    fn tell_quiet(&mut self) {
        let q = &mut self.quiet;
        self.policy.get().ran_quietly(q.slot as usize, q.untold);
        q.untold = 0;
    }
}

static SCHED: KernelCell<Scheduler> = KernelCell::new(Scheduler {
    policy: Active::Rr(rr::RoundRobin::new(1)),
    context: 0,
    next: None,
    at_boundary: false,
    quiet: Quiet {
        until: 0,
        slot: 0,
        at: SlotAt::new(0),
        untold: 0,
    },
});

/// Lend the policy to `f` (told first of the quiet ticks that passed).
#[inline(always)]
pub fn with_policy<R>(f: impl FnOnce(&mut dyn Policy) -> R) -> R {
    SCHED.with(|s| {
        s.end_quiet();
        f(s.policy.get())
    })
}

/// Charge the tick that ended to the process in `slot`, which does `then`
/// next (told first of the quiet ticks that passed): the levels it went
/// down between, if the policy demoted it. Round robin's (also fifo's and
/// coop's) charge inline, on the concrete type, as [`pick`] does.
#[inline(always)]
pub fn charge(slot: usize, then: Then) -> Option<(u8, u8)> {
    SCHED.with(|s| {
        s.end_quiet();
        match &mut s.policy {
            Active::Rr(p) => p.charge(slot, then),
            other => others_charge(other, slot, then),
        }
        .demoted
    })
}

/// [`charge`] for the other policies, out of round robin's way.
#[inline(never)]
fn others_charge(policy: &mut Active, slot: usize, then: Then) -> policy::Charged {
    policy.get().charge(slot, then)
}

/// No quiet ticks on the present reckoning: what is due for the process on
/// the CPU changed between two ticks (its CPU budget).
pub fn end_quiet() {
    SCHED.with(|s| s.end_quiet());
}

/// Is tick `t` a quiet one (timer.rs)? The slot of the process it is
/// charged to, if so: the policy is not asked (it hears of it later).
#[inline(always)]
pub fn quiet_tick(t: u64) -> Option<SlotAt> {
    SCHED.with(|s| {
        let q = &mut s.quiet;
        if t >= q.until {
            return None;
        }
        q.untold += 1;
        Some(q.at)
    })
}

/// Pick the policy, start the clock (and the timer), admit the processes
/// that arrive at tick 0, and run the scheduler for good.
pub fn start(info: &BootInfo) -> ! {
    let name = SCHED.with(|s| {
        s.policy.set(info.sched, &info.policy);
        s.policy.get().name()
    });
    let timer = info.sched != SCHED_COOP;
    observe::scheduler_started(name, info, timer);
    time::start(info.tsc_khz, info.quantum_us, timer);
    if timer {
        timer::start(info.quantum_us, info.tsc_khz);
    }
    process::arrivals_and_wakes(0);
    SCHED.with(|s| s.at_boundary = true);
    scheduler()
}

/// The scheduler loop, on the boot stack. Never returns: when every process
/// has ended it ends the VM.
fn scheduler() -> ! {
    loop {
        if !time::timer_on() {
            process::arrivals_and_wakes(time::now());
        }
        let next = SCHED
            .with(|s| s.next.take())
            .or_else(|| decide(time::now()));
        match next {
            Some(slot) => run(slot),
            None if !process::any_alive() => {
                observe::all_ended();
                vmexit::exit(0)
            }
            None => idle(),
        }
    }
}

/// Ask the policy who runs now; the decision is recorded if it made one.
#[inline(always)]
fn decide(tick: u64) -> Option<usize> {
    let start = time::rdtsc();
    let pick = pick();
    observe::picked(start, pick.as_ref().is_some_and(|p| p.why.is_some()));
    let Pick { slot, why } = pick?;
    if let Some(why) = why {
        observe::decision(tick, slot, why);
    }
    Some(slot)
}

/// The policy's pick-next; round robin's (also fifo's and coop's) inline,
/// as for [`keeps_running`].
#[inline(always)]
fn pick() -> Option<Pick> {
    SCHED.with(|s| match &mut s.policy {
        Active::Rr(p) => p.pick(),
        other => others_pick(other),
    })
}

/// [`pick`] for the other policies, out of round robin's way.
#[inline(never)]
fn others_pick(policy: &mut Active) -> Option<Pick> {
    policy.get().pick()
}

/// A timer tick `t`, after the tick that ended was charged: the policy's
/// boost, arrivals and wake-ups, then this tick's decision. The process that
/// was on the CPU (`current`) goes on, or gives up the CPU for the reason
/// its state says (preempted, asleep, exited, killed).
pub fn at_tick(t: u64, current: Option<usize>) {
    // On the concrete types: the policies without a boost answer inline.
    let boosted = SCHED.with(|s| {
        s.end_quiet();
        match &mut s.policy {
            Active::Rr(p) => p.tick(t),
            Active::Shortest(p) => p.tick(t),
            Active::Mlfq(p) => p.tick(t),
            Active::Lottery(p) => p.tick(t),
            Active::Stride(p) => p.tick(t),
        }
    });
    if boosted {
        observe::boost(t);
    }
    process::arrivals_and_wakes(t);
    let next = decide(t);
    SCHED.with(|s| {
        s.next = next;
        s.at_boundary = next.is_some();
    });
    let Some(slot) = current else { return };
    /// What the process that was on the CPU does now.
    enum After {
        /// It goes on; quiet ticks may follow, up to (not including)
        /// `until` as far as it and the arrivals and wake-ups go.
        GoesOn { until: u64 },
        /// It gives up the CPU for this reason (`switch_reason`).
        GivesUp(u64),
    }
    let after = process::with_table(|tab| {
        let due = tab.next_due;
        let p = &mut tab.procs[slot];
        match p.state {
            State::Running if next == Some(slot) => {
                // It goes on: this tick's decision is to keep it.
                p.owns_next_tick = true;
                After::GoesOn {
                    until: due.min(observe::quiet_until(p, t)),
                }
            }
            State::Running => {
                p.state = State::Runnable;
                observe::ready(p);
                After::GivesUp(switch_reason::PREEMPT)
            }
            State::Sleeping => After::GivesUp(switch_reason::SLEEP),
            State::Killed => After::GivesUp(switch_reason::KILL),
            _ => After::GivesUp(switch_reason::EXIT),
        }
    });
    match after {
        // Quiet ticks until then, or until the policy's next decision if
        // that comes first.
        After::GoesOn { until } => SCHED.with(|s| {
            s.next = None;
            s.at_boundary = false;
            let ahead = s.policy.get().quiet_ticks(slot, t);
            s.quiet.slot = slot as u8;
            s.quiet.at = SlotAt::new(slot);
            s.quiet.until = until.min(t.saturating_add(ahead).saturating_add(1));
        }),
        After::GivesUp(reason) => give_up(slot, reason),
    }
}

/// Switch to the process in `slot`; returns when it gives up the CPU.
#[inline(always)]
fn run(slot: usize) {
    // Before any borrow: it may go to user mode and back (upcall.rs).
    xstate::switch_to(slot);
    let boundary = SCHED.with(|s| core::mem::take(&mut s.at_boundary));
    let target = process::with_table(|t| {
        let p = &mut t.procs[slot];
        observe::switching_in(p);
        p.state = State::Running;
        p.owns_next_tick = boundary;
        t.current = Some(slot);
        gdt::set_kernel_stack(process::kstack_top(slot));
        if let Some(space) = p.space.as_ref() {
            paging::switch_to(space.pml4);
        }
        fpu::restore(&p.fpu);
        fsgs::restore(&p.segments);
        p.context
    });
    let save = SCHED.with(|s| &mut s.context as *mut u64);
    // SAFETY: `target` is the saved stack of a process that is not running
    // (a fresh one built by process::create or one saved by give_up); we
    // save our own stack pointer in the scheduler's context slot. No
    // KernelCell borrow is live across the switch.
    unsafe { swtch(save, target) };

    // Back from the process (give_up saved its registers). Its page tables
    // stay loaded (the kernel half is the same everywhere) unless it is
    // gone.
    if process::with_table(|t| matches!(t.procs[slot].state, State::Exited | State::Killed)) {
        paging::switch_to_kernel();
        process::reap(slot);
    }
}

/// The running process gives up the CPU to the scheduler, for `reason`
/// (`switch_reason`); returns when the scheduler runs it again. Its state
/// must already say what happens next and the policy must know.
pub fn give_up(slot: usize, reason: u64) {
    let save = process::with_table(|t| {
        t.current = None;
        let p = &mut t.procs[slot];
        fpu::save(&mut p.fpu);
        fsgs::save(&mut p.segments);
        observe::giving_up(p, reason);
        &mut p.context as *mut u64
    });
    let target = SCHED.with(|s| s.context);
    // SAFETY: we are on this process's kernel stack; save it in its slot
    // and resume the scheduler's saved context. No KernelCell borrow is
    // live across the switch.
    unsafe { swtch(save, target) };
}

/// `sched_yield`: behind the others, as the policy sees it.
pub fn yield_now() {
    if let Some(slot) = process::current() {
        with_policy(|p| p.leave(slot, Leave::Yields));
        process::with_table(|t| {
            let p = &mut t.procs[slot];
            p.state = State::Runnable;
            observe::ready(p);
        });
        give_up(slot, switch_reason::YIELD);
    }
}

/// Nothing to run: wait for an interrupt (with the timer) or for the next
/// arrival or sleeper's time (without one, by watching the clock).
fn idle() {
    observe::idle(true);
    if time::timer_on() {
        // `sti; hlt` is atomic: the interrupt cannot slip in between.
        x86_64::instructions::interrupts::enable_and_hlt();
        x86_64::instructions::interrupts::disable();
    } else {
        let next = process::next_wake();
        while time::now() < next {
            core::hint::spin_loop();
        }
    }
    observe::idle(false);
}
