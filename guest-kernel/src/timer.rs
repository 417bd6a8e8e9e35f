//! The timer interrupt: how the OS gets the CPU back from a process that
//! never traps. The local APIC timer (x2APIC, apic.rs) counts down and raises
//! [`vector::TIMER`] every quantum through the trap table, whatever the
//! process is doing; with KVM's in-kernel LAPIC none of this reaches the VMM.

use lde_abi::cpu::vector;

use crate::apic::{self, rdmsr, wrmsr};
use crate::time::{self, rdtsc};
use crate::{observe, process, sched};

/// Start the periodic timer: one interrupt every `quantum_us`.
pub fn start(quantum_us: u64, tsc_khz: u64) {
    let count = (counts_per_us(tsc_khz) * quantum_us).min(u32::MAX as u64);
    wrmsr(apic::DIVIDE, apic::DIVIDE_BY_1);
    wrmsr(apic::LVT_TIMER, apic::LVT_PERIODIC | vector::TIMER as u64);
    wrmsr(apic::INITIAL_COUNT, count);
}

/// APIC timer counts per microsecond, measured against the TSC over about
/// half a millisecond (KVM's APIC bus runs at 1 GHz by default; we measure
/// rather than assume).
fn counts_per_us(tsc_khz: u64) -> u64 {
    if tsc_khz == 0 {
        return 1000;
    }
    wrmsr(apic::DIVIDE, apic::DIVIDE_BY_1);
    wrmsr(apic::LVT_TIMER, apic::LVT_MASKED | vector::TIMER as u64);
    let window = tsc_khz / 2; // 0.5 ms of TSC
    wrmsr(apic::INITIAL_COUNT, u32::MAX as u64);
    let t0 = rdtsc();
    while rdtsc() - t0 < window {
        core::hint::spin_loop();
    }
    let counted = u32::MAX as u64 - rdmsr(apic::CURRENT_COUNT);
    let elapsed = rdtsc() - t0;
    wrmsr(apic::INITIAL_COUNT, 0);
    // counts / us = counted / (elapsed / tsc_per_us)
    (counted * tsc_khz / 1000 / elapsed.max(1)).max(1)
}

/// One tick: acknowledge it, advance the clock, wake sleepers, charge the
/// running process, carry out a verdict (CPU budget, CPU limit, hog rule)
/// and preempt if the policy says so.
pub fn on_tick() {
    let start = rdtsc();
    apic::eoi();
    let tick = time::tick();
    let Some(slot) = process::current() else {
        observe::tick(tick, None);
        process::wake_sleepers();
        return;
    };
    observe::tick(tick, Some(slot));
    process::wake_sleepers();
    let charged = process::with_table(|t| {
        let p = &mut t.procs[slot];
        let charged = observe::charge_tick(p, start);
        p.slice_used += charged as u64;
        charged.then(|| p.budget_spent())
    });
    let Some(budget_spent) = charged else {
        return;
    };
    if budget_spent {
        process::exit_current(0);
    }
    let nobody_waits = sched::queue_is_empty();
    if let Some(reason) = observe::verdict(slot, nobody_waits) {
        process::kill_current(reason, [0; 4]);
    }
    observe::tick_handled(start);
    if !nobody_waits {
        sched::preempt_if_due(slot);
    }
}
