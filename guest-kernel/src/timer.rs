//! The timer interrupt: how the OS gets the CPU back from a process that
//! never traps. The local APIC timer (x2APIC, apic.rs) counts down and raises
//! [`vector::TIMER`] every quantum through the trap table, whatever the
//! process is doing; with KVM's in-kernel LAPIC none of this reaches the VMM.

use core::sync::atomic::{AtomicU64, Ordering};

use lde_abi::cpu::vector;

use x86_64::registers::rflags::RFlags;

use crate::apic::{self, rdmsr, wrmsr};
use crate::kcell::KernelCell;
use crate::sched::{Leave, Then};
use crate::time::{self, rdtsc};
use crate::trap_entry::TrapFrame;
use crate::{observe, process, sched};

/// Start the periodic timer: one interrupt every `quantum_us`.
pub fn start(quantum_us: u64, tsc_khz: u64) {
    let count = (counts_per_us(tsc_khz) * quantum_us).min(u32::MAX as u64);
    wrmsr(apic::DIVIDE, apic::DIVIDE_BY_1);
    wrmsr(apic::LVT_TIMER, apic::LVT_PERIODIC | vector::TIMER as u64);
    wrmsr(apic::INITIAL_COUNT, count);
}

/// TSC when [`begin_calibration`] set the APIC timer counting (0: it did
/// not).
static CALIBRATION_TSC: AtomicU64 = AtomicU64::new(0);

/// Start measuring the APIC timer against the TSC: it counts down, masked,
/// from its largest count while the kernel loads the programs, and
/// [`start`] reads how far it got. On PVM hosts loading takes longer than
/// the half millisecond the measurement needs, so no time is spent
/// spinning for it (about 500 emulated instructions of spinning, before).
pub fn begin_calibration() {
    wrmsr(apic::DIVIDE, apic::DIVIDE_BY_1);
    wrmsr(apic::LVT_TIMER, apic::LVT_MASKED | vector::TIMER as u64);
    wrmsr(apic::INITIAL_COUNT, u32::MAX as u64);
    CALIBRATION_TSC.store(rdtsc(), Ordering::Relaxed);
}

/// APIC timer counts per microsecond, measured against the TSC over at
/// least half a millisecond (KVM's APIC bus runs at 1 GHz by default; we
/// measure rather than assume), from [`begin_calibration`] on.
fn counts_per_us(tsc_khz: u64) -> u64 {
    if tsc_khz == 0 {
        return 1000;
    }
    let mut t0 = CALIBRATION_TSC.load(Ordering::Relaxed);
    if t0 == 0 {
        begin_calibration();
        t0 = CALIBRATION_TSC.load(Ordering::Relaxed);
    }
    let window = tsc_khz / 2; // 0.5 ms of TSC
    while rdtsc() - t0 < window {
        core::hint::spin_loop();
    }
    let left = rdmsr(apic::CURRENT_COUNT);
    let elapsed = rdtsc() - t0;
    if left == 0 {
        // It ran out (over 4 s at 1 GHz): measure again, the short way.
        CALIBRATION_TSC.store(0, Ordering::Relaxed);
        return counts_per_us(tsc_khz);
    }
    wrmsr(apic::INITIAL_COUNT, 0);
    // counts / us = counted / (elapsed / tsc_per_us)
    ((u32::MAX as u64 - left) * tsc_khz / 1000 / elapsed.max(1)).max(1)
}

/// One tick, the start of tick `t`: acknowledge it, charge the tick that
/// ended to the process the policy chose for it, carry out what that means
/// (its length done, its I/O due, a verdict: CPU limit, hog rule), then let
/// the scheduler make this tick's decision.
///
/// Most ticks are quiet: the process on the CPU goes on, nothing arrives or
/// wakes, nothing is due to be judged, and the policy would keep it without
/// a decision. When a tick's decision keeps a process on the CPU, the
/// scheduler works out how many ticks after it will be quiet (sched.rs,
/// `Quiet`: the first arrival or wake-up, the process's next judgement,
/// observe.rs's `check_at`, and the policy's next decision, whichever comes
/// first), so a quiet tick is one compare: it is charged and recorded like
/// any other, and the policy hears of it before it is next asked anything.
///
/// A quiet tick needs no more of the interrupted context than the scratch
/// registers: the timer's entry (trap_entry.rs) calls this, for a tick
/// from user mode, with only those saved. 1: the tick was quiet and is
/// done. 0: it takes the full path ([`full_tick_entry`]) once the entry
/// has completed the frame.
pub extern "C" fn tick_entry() -> u8 {
    let (t, start) = begin();
    if !quiet(t, start) {
        not_quiet(t, start);
        return 0;
    }
    // `start` lives across the event record's rare call (trace.rs, `look`)
    // in the one callee-saved register the function saves anyway (its
    // push also aligns the stack for that call); the charge comes before
    // the event (observe.rs), so nothing else does.
    observe::tick_handled(start);
    1
}

/// Tick `t`, begun at TSC `start`, goes the full way: kept for it.
#[cold]
#[inline(never)]
fn not_quiet(t: u64, start: u64) {
    BEGUN.with(|b| *b = (t, start));
}

/// The start of a tick: acknowledge it and count it. Its number and the
/// TSC it began at.
#[inline(always)]
fn begin() -> (u64, u64) {
    let start = rdtsc();
    apic::eoi();
    (time::tick(start), start)
}

/// The tick the timer's entry began and did not finish: its number and the
/// TSC it began at.
static BEGUN: KernelCell<(u64, u64)> = KernelCell::new((0, 0));

/// Tick `t`, begun at TSC `start`, if it is a quiet one: charged (and
/// true).
#[inline(always)]
fn quiet(t: u64, start: u64) -> bool {
    let Some(at) = sched::quiet_tick(t) else {
        return false;
    };
    process::with_table(|tab| observe::charge_quiet(tab.at(at), t, start));
    true
}

/// A tick that is not quiet: the full way, on the interrupted context's
/// complete frame. From user mode the entry has begun it
/// ([`tick_entry`]); a tick taken in the kernel (at a `sti; hlt`) comes
/// here at once: it is never a quiet one.
pub extern "C" fn full_tick_entry(tf: &mut TrapFrame) {
    let (t, start) = if tf.is_from_user() {
        BEGUN.with(|b| *b)
    } else {
        // A tick taken in the kernel came in at a `sti; hlt` (the idle
        // loop, a long write): return with interrupts off, so that a second
        // tick already pending waits until this one's decision has been
        // carried out. Back at the instruction after `hlt`, before its
        // `cli`, it would be taken as one more idle tick and the process
        // chosen for it, not yet switched in, would lose that tick (seen on
        // slow CPUs, where a tick's handling outlasts the tick).
        tf.rflags &= !RFlags::INTERRUPT_FLAG.bits();
        begin()
    };
    full_tick(t, start);
}

/// Any other tick `t` (begun at TSC `start`): charge, judge, decide.
#[inline(never)]
fn full_tick(t: u64, start: u64) {
    let current = process::current();
    match current {
        Some(slot) => charge(slot, t, start),
        None => observe::idle_tick(t, start),
    }
    observe::tick_handled(start);
    sched::at_tick(t, current);
}

/// Charge tick `t` (begun at TSC `start`) to the process in `slot` if it is
/// its (observe.rs), and tell the policy what the process does next.
fn charge(slot: usize, t: u64, start: u64) {
    let charged = process::with_table(|tab| {
        let p = &mut tab.procs[slot];
        if !observe::charge_tick(p, t, start) {
            return None;
        }
        if p.acct.cpu_ticks < p.acct.check_at {
            // Nothing is due yet (observe.rs): it runs on, no verdict.
            return Some((Then::Runs, 0, false));
        }
        // Its length done first, then its I/O (the simulators' order).
        let io = p.job.io_due(p.acct.cpu_ticks);
        let then = if p.budget_spent() {
            Then::Exits
        } else if io.is_some() {
            Then::Sleeps
        } else {
            Then::Runs
        };
        Some((then, io.unwrap_or(0), true))
    });
    let Some((then, io, judge)) = charged else {
        return;
    };
    if let Some((from, to)) = sched::charge(slot, then) {
        observe::level(t, slot, from, to);
    }
    match then {
        Then::Exits => process::mark_exited(slot, 0),
        Then::Sleeps => process::block(slot, t + io),
        Then::Runs if !judge => {}
        Then::Runs => {
            if let Some(reason) = observe::verdict(slot) {
                sched::with_policy(|p| p.leave(slot, Leave::Exits));
                process::mark_killed(slot, reason, [0; 4]);
            }
        }
    }
}
