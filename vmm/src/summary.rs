//! What `lde run` prints on stderr at the end: how the guest ended, exits by
//! reason, KVM's in-kernel counters, and the per-process table.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use crate::cli::RunArgs;
use crate::exits::{Ending, Machine};
use crate::plausible;
use crate::stats::SHOWN;
use crate::trace::names::ProcessNames;
use crate::trace::policy_columns;
use crate::trace::processes::ProcessTable;
use crate::trace::record::{Header, ProcessEnd, ProcessRecord, ReasonTotals, RegisterDump};
use crate::trace::show;

pub struct RunReport<'a> {
    pub explanation: Vec<String>,
    pub message: &'a str,
    pub wall: Duration,
    pub exits: u64,
    pub totals: &'a BTreeMap<&'static str, ReasonTotals>,
    pub kvm: &'a BTreeMap<String, u64>,
    pub processes: &'a [ProcessRecord],
    pub dump: Option<&'a RegisterDump>,
    pub events: u64,
    pub dropped: u64,
    pub bad: u64,
    pub ring_broken: Option<&'a str>,
    pub header: &'a Header,
}

/// One sentence on how the run ended.
pub fn ending_message(
    ending: &Ending,
    args: &RunArgs,
    m: &Machine,
    dump: Option<&RegisterDump>,
) -> String {
    let at = dump
        .map(|d| {
            let cpl = d.sregs.get("cpl").copied().unwrap_or(0);
            format!(
                " (RIP {:#x}, {} mode)",
                d.regs.get("rip").copied().unwrap_or(0),
                if cpl == 3 { "user" } else { "kernel" }
            )
        })
        .unwrap_or_default();
    match ending {
        Ending::Exit(s) => format!("guest exited with status {s}"),
        Ending::Panic => "guest kernel panicked".into(),
        Ending::TripleFault if dump.is_some_and(|d| d.reset) => {
            let last = m
                .last_event
                .as_ref()
                .map(|e| show::event_sentence(e, &ProcessNames::default()))
                .unwrap_or_else(|| "nothing".into());
            format!(
                "guest triple-faulted (KVM_EXIT_SHUTDOWN); KVM reset the vCPU before reporting it \
                 (KVM on AMD does), so the faulting registers cannot be had: the registers below \
                 are the reset state; the guest last recorded {last}"
            )
        }
        Ending::TripleFault => format!("guest triple-faulted (KVM_EXIT_SHUTDOWN){at}"),
        Ending::InternalError { suberror, data } => {
            format!("KVM internal error, suberror {suberror}, data {data:x?}{at}")
        }
        Ending::FailEntry { hardware_reason } => {
            format!("VM entry failed, hardware reason {hardware_reason:#x}{at}")
        }
        Ending::GuestError(why) => format!("guest broke the contract: {why}"),
        Ending::Timeout => {
            let mut msg = format!(
                "watchdog: the guest ran past --timeout {}",
                humantime::format_duration(args.timeout)
            );
            if let Some((pid, name, since)) = m.procs.running() {
                let held = m.now_ns().saturating_sub(since);
                write!(
                    msg,
                    "; process {name} (pid {pid}) held the CPU since its last trap {:.3} s before",
                    held as f64 / 1e9
                )
                .unwrap();
            }
            msg.push_str(&at);
            msg
        }
        Ending::Interrupted => "interrupted (SIGINT/SIGTERM)".into(),
        Ending::HostError(why) => format!("host error: {why}"),
    }
}

use crate::trace::units::duration as fmt_ns;

/// The summary text.
pub fn render(r: &RunReport) -> String {
    let mut o = String::new();
    writeln!(
        o,
        "\n== lde: {} ({} wall) ==",
        r.message,
        fmt_ns(r.wall.as_nanos() as u64)
    )
    .unwrap();
    if let Some(d) = r.dump {
        if d.reset {
            writeln!(o, "registers (the vCPU's reset state, not the fault's):").unwrap();
        } else {
            writeln!(o, "registers:").unwrap();
        }
        let line: Vec<String> = d.regs.iter().map(|(k, v)| format!("{k}={v:#x}")).collect();
        for chunk in line.chunks(6) {
            writeln!(o, "  {}", chunk.join(" ")).unwrap();
        }
        let line: Vec<String> = d.sregs.iter().map(|(k, v)| format!("{k}={v:#x}")).collect();
        for chunk in line.chunks(6) {
            writeln!(o, "  {}", chunk.join(" ")).unwrap();
        }
    }
    writeln!(o, "exits reaching the VMM: {}", r.exits).unwrap();
    writeln!(
        o,
        "  {:<16} {:>9} {:>12} {:>10}",
        "reason", "count", "total", "mean"
    )
    .unwrap();
    for (reason, t) in r.totals {
        let mean = t.total_ns.checked_div(t.count).unwrap_or(0);
        writeln!(
            o,
            "  {:<16} {:>9} {:>12} {:>10}",
            reason,
            t.count,
            fmt_ns(t.total_ns),
            fmt_ns(mean)
        )
        .unwrap();
    }
    if !r.kvm.is_empty() {
        let shown: Vec<String> = SHOWN
            .iter()
            .filter_map(|k| r.kvm.get(*k).map(|v| format!("{k} {v}")))
            .collect();
        writeln!(
            o,
            "KVM counters (in-kernel exits included): {}",
            shown.join(", ")
        )
        .unwrap();
    }
    if r.events > 0 || r.dropped > 0 || r.bad > 0 {
        writeln!(
            o,
            "guest events: {} recorded, {} dropped (ring full){}, {} malformed",
            r.events,
            r.dropped,
            plausible::dropped_mark(r.dropped, r.wall.as_nanos() as u64, r.header.tsc_khz),
            r.bad
        )
        .unwrap();
    }
    if let Some(why) = r.ring_broken {
        writeln!(o, "guest event ring ignored: {why}").unwrap();
    }
    if !r.explanation.is_empty() {
        writeln!(o, "what happened:").unwrap();
        for line in &r.explanation {
            writeln!(o, "  - {line}").unwrap();
        }
    }
    if !r.processes.is_empty() {
        let tick_ms = r.header.quantum_us as f64 / 1000.0;
        writeln!(
            o,
            "processes (times in ticks of {} ms, sched {}):",
            tick_ms, r.header.sched
        )
        .unwrap();
        let sched = r.header.sched.as_str();
        writeln!(
            o,
            "  {:>3} {:<14}{} {:>5} {:>12} {:>12} {:>12}  end",
            "pid",
            "name",
            policy_columns::header(sched),
            "cpu",
            "response",
            "turnaround",
            "wait"
        )
        .unwrap();
        let cell = |t: u64| format!("{t} ({:.0}ms)", t as f64 * tick_ms);
        for p in r.processes {
            let (end, done) = match &p.end {
                ProcessEnd::Exited(c) => (format!("exited {c}"), true),
                ProcessEnd::Killed(why) => (format!("killed: {why}"), true),
                ProcessEnd::Running => ("still running".into(), false),
            };
            // A process cut off by the end of the run has no turnaround yet.
            let open = |t: u64| if done { cell(t) } else { "-".into() };
            // The program and its arguments, as given (two workers differ
            // only there).
            let args = r
                .header
                .programs
                .iter()
                .find(|h| h.pid == p.pid)
                .map(|h| h.args.join(" "))
                .unwrap_or_default();
            let label: String = format!("{} {args}", p.name)
                .trim()
                .chars()
                .take(14)
                .collect();
            writeln!(
                o,
                "  {:>3} {:<14}{} {:>5} {:>12} {:>12} {:>12}  {}",
                p.pid,
                label,
                policy_columns::cells(p, sched),
                p.cpu_ticks,
                cell(p.response_ticks),
                open(p.turnaround_ticks),
                open(p.wait_ticks),
                end
            )
            .unwrap();
        }
        let ended: Vec<&ProcessRecord> = r
            .processes
            .iter()
            .filter(|p| p.end != ProcessEnd::Running)
            .collect();
        if !ended.is_empty() {
            let n = ended.len() as f64;
            let avg =
                |f: fn(&ProcessRecord) -> u64| ended.iter().map(|p| f(p)).sum::<u64>() as f64 / n;
            writeln!(
                o,
                "  average over the {} that ended: response {:.1}, turnaround {:.1}, wait {:.1} ticks",
                ended.len(),
                avg(|p| p.response_ticks),
                avg(|p| p.turnaround_ticks),
                avg(|p| p.wait_ticks)
            )
            .unwrap();
        }
        for p in r.processes {
            let mark =
                plausible::cpu_ticks_mark(p.pid, p.cpu_ticks, r.wall.as_nanos() as u64, p.tick_ns);
            if !mark.is_empty() {
                writeln!(o, "  ! {mark}").unwrap();
            }
        }
        for line in policy_columns::level_lines(r.processes, sched) {
            writeln!(o, "{line}").unwrap();
        }
    }
    o
}

/// A few sentences on what the run showed, in the chapter's terms, from the
/// guest's events.
pub fn explain(
    procs: &ProcessTable,
    records: &[ProcessRecord],
    ending: &Ending,
    quantum_ms: f64,
) -> Vec<String> {
    let mut out = Vec::new();
    if records.is_empty() {
        return out;
    }
    let sched = procs.sched.as_deref().unwrap_or("?");
    let switches: u64 = procs.switches.values().sum();
    let preempt = procs.switches.get("preempt").copied().unwrap_or(0);
    let who = if records.len() == 1 {
        "1 process ran".to_string()
    } else {
        format!("{} processes shared one CPU", records.len())
    };
    out.push(match sched {
        "coop" => format!(
            "{who} under coop: no timer, so the kernel got the CPU back only \
             when a process trapped (system call, fault); {switches} context switches, none forced"
        ),
        "fifo" => format!(
            "{who} under fifo: the timer ticked {} times (every {quantum_ms} ms) \
             but the kernel never preempted; each ran until it blocked, yielded or ended",
            procs.ticks
        ),
        "sjf" => format!(
            "{who} under sjf: whenever the CPU was free the kernel ran the job with the least \
             CPU time left, and never preempted ({} ticks of {quantum_ms} ms)",
            procs.ticks
        ),
        "stcf" => format!(
            "{who} under stcf: at every tick the job with the least time left ran; a shorter \
             arrival took the CPU {preempt} times ({} ticks of {quantum_ms} ms)",
            procs.ticks
        ),
        "mlfq" => format!(
            "{who} under mlfq: higher levels first, round robin within a level, a job that used \
             its allotment went down a level ({} demotions, {} boosts; {} ticks of {quantum_ms} ms)",
            procs.demotions, procs.boosts, procs.ticks
        ),
        "lottery" | "stride" => format!(
            "{who} under {sched}: a share of the CPU in proportion to their tickets, {} \
             ({} decisions, {} ticks of {quantum_ms} ms)",
            if sched == "lottery" {
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
            if path == "ud" {
                "int 0x80 arrived as #UD on this PVM host and the kernel treated it as the call"
            } else {
                "through the int 0x80 gate of the trap table"
            }
        ));
    }
    for p in records {
        match &p.end {
            ProcessEnd::Killed(why) if why == "last-hog" => out.push(format!(
                "{} (pid {}) never gave up the CPU; only the timer got it back, and the kernel \
                 ended it once every other process was done",
                p.name, p.pid
            )),
            ProcessEnd::Killed(why) if why == "cpu-limit" => out.push(format!(
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
    if *ending == Ending::Timeout && sched == "coop" {
        out.push(
            "under coop a process that never traps keeps the CPU for good: only the VMM's \
             watchdog could end the run"
                .into(),
        );
    }
    out
}
