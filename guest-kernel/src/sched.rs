//! The scheduler: the run queue, who runs next, and the switch to it.
//!
//! The policies (`sched/rr.rs`, `sched/fifo.rs`, `sched/coop.rs`) differ in
//! how the kernel gets the CPU back and whom it picks ([`Policy`], defined
//! with the [`RunQueue`] in `sched/policy.rs` so that both are unit-tested
//! on the host).
//!
//! The scheduler itself runs on the boot stack, like xv6's per-CPU
//! scheduler: a process gives up the CPU by switching to it ([`give_up`]),
//! and it switches to the next runnable process ([`run`]). When nobody is
//! runnable it idles with interrupts on until the next interrupt. What is
//! measured on the way (accounting, the switch events and their cost) is
//! observe.rs's, called at named points.

mod coop;
mod fifo;
mod policy;
mod rr;

use lde_abi::boot::{SCHED_COOP, SCHED_FIFO};
use lde_abi::trace::switch_reason;

pub use policy::{Policy, RunQueue, MAX_PROCS};

use crate::kcell::KernelCell;
use crate::process::{self, Process, State};
use crate::switch::swtch;
use crate::{fpu, fsgs, gdt, observe, paging, time, timer, vmexit, xstate};

/// The policy in force: an enum, not a `dyn Policy`, so that every call
/// compiles to that policy's own code, inlined (on PVM hosts every kernel
/// instruction is emulated, and an indirect call costs more than a FIFO
/// pick). A new policy is one more variant here and in [`with_policy`].
enum Active {
    RoundRobin(rr::RoundRobin),
    Fifo(fifo::Fifo),
    Cooperative(coop::Cooperative),
}

/// Run `$body` with `$p` bound to the active policy (`&mut` to it).
macro_rules! with_policy {
    ($active:expr, $p:ident => $body:expr) => {
        match $active {
            Active::RoundRobin($p) => $body,
            Active::Fifo($p) => $body,
            Active::Cooperative($p) => $body,
        }
    };
}

struct Scheduler {
    policy: Active,
    queue: RunQueue,
    /// The scheduler's own saved stack pointer (while a process runs).
    context: u64,
}

static SCHED: KernelCell<Scheduler> = KernelCell::new(Scheduler {
    policy: Active::RoundRobin(rr::RoundRobin),
    queue: RunQueue::EMPTY,
    context: 0,
});

/// The policy for `BootInfo::sched` (round robin for anything unknown).
fn policy(sched: u32) -> Active {
    match sched {
        SCHED_FIFO => Active::Fifo(fifo::Fifo),
        SCHED_COOP => Active::Cooperative(coop::Cooperative),
        _ => Active::RoundRobin(rr::RoundRobin),
    }
}

/// Pick the policy, queue every created process, start the clock (and the
/// timer), and run the scheduler for good.
pub fn start(sched: u32, quantum_us: u64, cpu_limit_us: u64, tsc_khz: u64) -> ! {
    let timer = SCHED.with(|s| {
        s.policy = policy(sched);
        process::with_table(|t| {
            for slot in 0..t.count {
                if t.procs[slot].state == State::Runnable {
                    s.queue.push(slot);
                }
            }
        });
        with_policy!(&s.policy, p => {
            observe::scheduler_started(p, quantum_us, cpu_limit_us);
            p.uses_timer()
        })
    });
    time::start(tsc_khz, quantum_us, timer);
    if timer {
        timer::start(quantum_us, tsc_khz);
    }
    scheduler()
}

/// The scheduler loop, on the boot stack. Never returns: when every process
/// has ended it ends the VM.
fn scheduler() -> ! {
    loop {
        process::wake_sleepers();
        match SCHED.with(|s| with_policy!(&mut s.policy, p => p.pick(&mut s.queue))) {
            Some(slot) => run(slot),
            None if !process::any_alive() => {
                observe::all_ended();
                vmexit::exit(0)
            }
            None => idle(),
        }
    }
}

/// Switch to the process in `slot`; returns when it gives up the CPU.
fn run(slot: usize) {
    // Before any borrow: it may go to user mode and back (upcall.rs).
    xstate::switch_to(slot);
    let target = process::with_table(|t| {
        let p = &mut t.procs[slot];
        observe::switching_in(p);
        p.state = State::Running;
        p.slice_used = 0;
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

    // Back from the process. Its page tables stay loaded (the kernel half
    // is the same everywhere) unless it is gone.
    let ended = process::with_table(|t| {
        t.current = None;
        let p = &mut t.procs[slot];
        fpu::save(&mut p.fpu);
        fsgs::save(&mut p.segments);
        observe::switched_out(p);
        matches!(p.state, State::Exited | State::Killed)
    });
    if ended {
        paging::switch_to_kernel();
        process::reap(slot);
    }
}

/// The running process gives up the CPU to the scheduler, for `reason`
/// (`switch_reason`); returns when the scheduler runs it again. Its state
/// must already say what happens next (runnable and queued, sleeping,
/// exited, killed).
pub fn give_up(slot: usize, reason: u64) {
    let save = process::with_table(|t| {
        let p = &mut t.procs[slot];
        observe::giving_up(p.pid, reason);
        &mut p.context as *mut u64
    });
    let target = SCHED.with(|s| s.context);
    // SAFETY: we are on this process's kernel stack; save it in its slot
    // and resume the scheduler's saved context. No KernelCell borrow is
    // live across the switch.
    unsafe { swtch(save, target) };
}

/// `p` (in `slot`) may run again: to the back of the queue.
pub fn make_runnable(slot: usize, p: &mut Process) {
    p.state = State::Runnable;
    observe::ready(p);
    SCHED.with(|s| s.queue.push(slot));
}

/// `sched_yield`: back of the queue.
pub fn yield_now() {
    if let Some(slot) = process::current() {
        process::with_table(|t| make_runnable(slot, &mut t.procs[slot]));
        give_up(slot, switch_reason::YIELD);
    }
}

/// The running process (in `slot`) has been charged a tick and someone
/// may be waiting: switch away if someone is and the policy says its
/// slice is used up.
#[inline(always)]
pub fn preempt_if_due(slot: usize) {
    let slice_ticks = process::with_table(|t| t.procs[slot].slice_used);
    if SCHED.with(|s| !s.queue.is_empty() && with_policy!(&s.policy, p => p.preempts(slice_ticks)))
    {
        process::with_table(|t| make_runnable(slot, &mut t.procs[slot]));
        give_up(slot, switch_reason::PREEMPT);
    }
}

/// Is anyone waiting for the CPU?
pub fn queue_is_empty() -> bool {
    SCHED.with(|s| s.queue.is_empty())
}

/// Nothing to run: wait for an interrupt (with the timer) or for the next
/// sleeper's time (without one, by watching the clock).
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
