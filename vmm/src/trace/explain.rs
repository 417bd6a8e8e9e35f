//! "What happened": a few sentences on a run in the chapter's terms, from
//! its figures ([`RunFigures`]). The end of `lde run` and `lde trace
//! summary` both print them.

use super::record::{KillCause, Policy, ProcessEnd, ProcessRecord, SwitchReason, SyscallPath};
use super::run_figures::RunFigures;

/// A few sentences on what the run showed, in the chapter's terms, from the
/// guest's events.
pub fn explain(
    procs: &RunFigures,
    records: &[ProcessRecord],
    watchdog_ended: bool,
    quantum_ms: f64,
) -> Vec<String> {
    let mut out = Vec::new();
    if records.is_empty() {
        return out;
    }
    let sched = procs.sched;
    let switches: u64 = procs.switches.values().sum();
    let preempt = procs
        .switches
        .get(&SwitchReason::Preempt)
        .copied()
        .unwrap_or(0);
    let who = if records.len() == 1 {
        "1 process ran".to_string()
    } else {
        format!("{} processes shared one CPU", records.len())
    };
    out.push(match sched {
        Some(Policy::Coop) => format!(
            "{who} under coop: no timer, so the kernel got the CPU back only \
             when a process trapped (system call, fault); {switches} context switches, none forced"
        ),
        Some(Policy::Fifo) => format!(
            "{who} under fifo: the timer ticked {} times (every {quantum_ms} ms) \
             but the kernel never preempted; each ran until it blocked, yielded or ended",
            procs.ticks
        ),
        Some(Policy::Sjf) => format!(
            "{who} under sjf: whenever the CPU was free the kernel ran the job with the least \
             CPU time left, and never preempted ({} ticks of {quantum_ms} ms)",
            procs.ticks
        ),
        Some(Policy::Stcf) => format!(
            "{who} under stcf: at every tick the job with the least time left ran; a shorter \
             arrival took the CPU {preempt} times ({} ticks of {quantum_ms} ms)",
            procs.ticks
        ),
        Some(Policy::Mlfq) => format!(
            "{who} under mlfq: higher levels first, round robin within a level, a job that used \
             its allotment went down a level ({} demotions, {} boosts; {} ticks of {quantum_ms} ms)",
            procs.demotions, procs.boosts, procs.ticks
        ),
        Some(sched @ (Policy::Lottery | Policy::Stride)) => format!(
            "{who} under {sched}: a share of the CPU in proportion to their tickets, {} \
             ({} decisions, {} ticks of {quantum_ms} ms)",
            if sched == Policy::Lottery {
                "by a draw at every decision"
            } else {
                "the lowest pass running next"
            },
            procs.decisions,
            procs.ticks
        ),
        _ => format!(
            "{who} under rr: the APIC timer interrupted every {quantum_ms} ms \
             ({} ticks) and the kernel took the CPU back by preemption {preempt} times \
             ({switches} context switches in all), so CPU-bound processes took turns",
            procs.ticks
        ),
    });
    if let Some(path) = &procs.syscall_path {
        out.push(format!(
            "{} system calls trapped into the kernel ({}) and returned to user mode with iretq",
            procs.syscalls,
            if *path == SyscallPath::Ud {
                "int 0x80 arrived as #UD on this PVM host and the kernel treated it as the call"
            } else {
                "through the int 0x80 gate of the trap table"
            }
        ));
    }
    for p in records {
        match &p.end {
            ProcessEnd::Killed(KillCause::LastHog) => out.push(format!(
                "{} (pid {}) never gave up the CPU; only the timer got it back, and the kernel \
                 ended it once every other process was done and it had run alone for a while \
                 (the hog rule)",
                p.name, p.pid
            )),
            ProcessEnd::Killed(KillCause::CpuLimit) => out.push(format!(
                "{} (pid {}) used its --cpu-limit and was killed",
                p.name, p.pid
            )),
            ProcessEnd::Killed(why) => out.push(format!(
                "{} (pid {}) tried something only the kernel may do; the CPU trapped ({why}) \
                 into the kernel, which killed it and went on with the others",
                p.name, p.pid
            )),
            _ => {}
        }
    }
    if watchdog_ended && sched == Some(Policy::Coop) {
        out.push(
            "under coop a process that never traps keeps the CPU for good: only the VMM's \
             watchdog could end the run"
                .into(),
        );
    }
    out
}
