//! What `lde run` prints on stderr at the end: how the guest ended, exits by
//! reason, KVM's in-kernel counters, what happened, and OSTEP's per-process
//! table ([`crate::trace::ostep_table`], as `lde trace summary` prints it).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use crate::cli::RunArgs;
use crate::exits::{Ending, Machine};
use crate::kvm_stats::SHOWN;
use crate::plausible;
use crate::trace::names::ProcessNames;
use crate::trace::ostep_table::OstepTable;
use crate::trace::record::{Header, ProcessRecord, ReasonTotals, RegisterDump};
use crate::trace::show;

pub struct RunReport<'a> {
    pub explanation: Vec<String>,
    pub message: &'a str,
    pub wall: Duration,
    pub exits: u64,
    pub totals: &'a BTreeMap<&'static str, ReasonTotals>,
    pub kvm: &'a BTreeMap<String, u64>,
    pub processes: &'a [ProcessRecord],
    /// Host time on the CPU per pid, between switches.
    pub on_cpu_ns: &'a BTreeMap<u32, u64>,
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
    o.push_str(
        &OstepTable {
            header: r.header,
            processes: r.processes,
            on_cpu_ns: r.on_cpu_ns,
            wall_ns: Some(r.wall.as_nanos() as u64),
            from_events: false,
        }
        .render(),
    );
    o
}
