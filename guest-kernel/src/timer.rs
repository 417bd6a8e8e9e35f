//! The timer interrupt: how the OS gets the CPU back from a process that
//! never traps. The local APIC timer (x2APIC, apic.rs) counts down and raises
//! [`vector::TIMER`] every quantum through the trap table, whatever the
//! process is doing; with KVM's in-kernel LAPIC none of this reaches the VMM.

use core::sync::atomic::{AtomicU64, Ordering};

use lde_abi::cpu::vector;

use crate::apic::{self, rdmsr, wrmsr};
use crate::sched::{Leave, Then};
use crate::time::{self, rdtsc};
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
/// wakes, nothing is due for it (observe.rs keeps when something next is:
/// `check_at`) and the policy keeps it without a decision. Such a tick is
/// charged and recorded like any other, with one question to the policy
/// instead of four ([`sched::keeps_running`]); any other goes the full way.
pub fn on_tick() {
    let start = rdtsc();
    apic::eoi();
    let t = time::tick(start);
    if quiet(t) {
        observe::tick_handled(start);
        return;
    }
    full_tick(t, start);
}

/// The quiet tick `t`, if it is one: charged, and true.
#[inline(always)]
fn quiet(t: u64) -> bool {
    process::with_table(|tab| {
        let Some(slot) = tab.current else {
            return false;
        };
        let due = tab.next_due;
        let p = &mut tab.procs[slot];
        if t >= due || !observe::quiet(p) || !sched::keeps_running(slot, t) {
            return false;
        }
        observe::charge_quiet(p, t);
        true
    })
}

/// Any other tick `t` (begun at TSC `start`): charge, judge, decide.
#[inline(never)]
fn full_tick(t: u64, start: u64) {
    let current = process::current();
    match current {
        Some(slot) => charge(slot, t),
        None => observe::idle_tick(t),
    }
    observe::tick_handled(start);
    sched::at_tick(t, current);
}

/// Charge tick `t` to the process in `slot` if it is its (observe.rs), and
/// tell the policy what the process does next.
fn charge(slot: usize, t: u64) {
    let charged = process::with_table(|tab| {
        let p = &mut tab.procs[slot];
        if !observe::charge_tick(p, t) {
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
    if let Some((from, to)) = sched::with_policy(|p| p.charge(slot, then)).demoted {
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
