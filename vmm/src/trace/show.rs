//! `lde trace show`: one readable line per record, optionally filtered by
//! process, kind and time.

use std::io::{BufRead, Write};
use std::time::Duration;

use anyhow::Result;

use super::names::ProcessNames;
use super::reader::TraceReader;
use super::record::{self, EventRecord, ExitKind, GuestEvent, KillReason, Record};
use super::run_figures::end_text;
use super::units::{duration, ms};
use crate::error::bad_input;

/// Guest event kinds (the `kind` of `event` records).
pub const EVENT_KINDS: &[&str] = &[
    "boot",
    "trap",
    "syscall",
    "tick",
    "switch",
    "proc_create",
    "proc_first_run",
    "proc_exit",
    "proc_kill",
    "sleep",
    "wake",
    "idle",
    "proc_stats",
    "decision",
    "level",
    "boost",
];

/// Record types `--kind` also takes (`event` = every guest event).
pub const RECORD_KINDS: &[&str] = &[
    "header",
    "exit",
    "event",
    "debugger",
    "registers",
    "process",
    "footer",
];

/// Which records to show. Every filter given must match.
#[derive(Debug, Default, Clone)]
pub struct ShowFilter {
    /// Records about this process: its events, switches to it, its
    /// `process` record. VMM exits belong to no process.
    pub pid: Option<u32>,
    pub kind: Option<String>,
    /// Time window in ns; records without a time (header, process, footer)
    /// are outside any window.
    pub since_ns: Option<u64>,
    pub until_ns: Option<u64>,
}

impl ShowFilter {
    pub fn new(
        pid: Option<u32>,
        kind: Option<String>,
        since: Option<Duration>,
        until: Option<Duration>,
    ) -> Result<ShowFilter> {
        if let Some(k) = &kind {
            if !RECORD_KINDS.contains(&k.as_str()) && !EVENT_KINDS.contains(&k.as_str()) {
                return Err(bad_input(format!(
                    "unknown kind '{k}': use one of {}, {}",
                    RECORD_KINDS.join(", "),
                    EVENT_KINDS.join(", ")
                )));
            }
        }
        let ns = |d: Duration| d.as_nanos().min(u64::MAX as u128) as u64;
        let filter = ShowFilter {
            pid,
            kind,
            since_ns: since.map(ns),
            until_ns: until.map(ns),
        };
        if let (Some(a), Some(b)) = (filter.since_ns, filter.until_ns) {
            if a > b {
                return Err(bad_input("--since is after --until: no record can match"));
            }
        }
        Ok(filter)
    }

    fn matches(&self, record: &Record) -> bool {
        if let Some(kind) = &self.kind {
            let ok = match record {
                Record::Event(e) => kind == "event" || kind == e.event.kind(),
                _ => kind == record_type(record),
            };
            if !ok {
                return false;
            }
        }
        if let Some(pid) = self.pid {
            let ok = match record {
                Record::Event(e) => {
                    e.pid == pid || matches!(e.event, GuestEvent::Switch { to, .. } if to == pid)
                }
                Record::Process(p) => p.pid == pid,
                _ => false,
            };
            if !ok {
                return false;
            }
        }
        if self.since_ns.is_some() || self.until_ns.is_some() {
            let Some(t) = record_time(record) else {
                return false;
            };
            if self.since_ns.is_some_and(|s| t < s) || self.until_ns.is_some_and(|u| t > u) {
                return false;
            }
        }
        true
    }
}

/// Write the records `filter` selects to `out`; returns how many.
pub fn show<R: BufRead>(
    reader: &mut TraceReader<R>,
    filter: &ShowFilter,
    out: &mut impl Write,
) -> Result<u64> {
    let mut names = ProcessNames::new(reader.header());
    let mut shown = 0;
    let header = Record::Header(reader.header().clone());
    if filter.matches(&header) {
        writeln!(out, "{}", line(&header, &names))?;
        shown += 1;
    }
    while let Some(record) = reader.next_record()? {
        names.observe(&record);
        if filter.matches(&record) {
            writeln!(out, "{}", line(&record, &names))?;
            shown += 1;
        }
    }
    out.flush()?;
    Ok(shown)
}

fn record_type(record: &Record) -> &'static str {
    match record {
        Record::Header(_) => "header",
        Record::Exit(_) => "exit",
        Record::Event(_) => "event",
        Record::Registers(_) => "registers",
        Record::Process(_) => "process",
        Record::Debugger(_) => "debugger",
        Record::Footer(_) => "footer",
    }
}

fn record_time(record: &Record) -> Option<u64> {
    match record {
        Record::Exit(e) => Some(e.t_ns),
        Record::Event(e) => Some(e.t_ns),
        Record::Registers(r) => Some(r.t_ns),
        Record::Debugger(d) => Some(d.t_ns),
        Record::Header(_) | Record::Process(_) | Record::Footer(_) => None,
    }
}

/// `    12.345 ms syscall        1 hello          write(0x1, 0x4000e0, 0xd) = 13 via gate`
pub fn line(record: &Record, names: &ProcessNames) -> String {
    let time = record_time(record)
        .map(|t| format!("{} ms", ms(t)))
        .unwrap_or_default();
    let (kind, who, text) = match record {
        Record::Header(h) => (
            "header",
            "-".to_string(),
            format!(
                "lde {} schema {}, kvm {}, sched {}, quantum {}, {} program(s): {}",
                h.lde_version,
                h.schema,
                h.kvm,
                h.sched,
                duration(h.quantum_us.saturating_mul(1000)),
                h.programs.len(),
                h.argv.join(" ")
            ),
        ),
        Record::Exit(e) => (
            e.exit.reason(),
            "vmm".to_string(),
            format!(
                "{} (handled in {})",
                exit_text(&e.exit),
                duration(e.handle_ns)
            ),
        ),
        Record::Event(e) => (
            e.event.kind(),
            names.label(e.pid),
            event_text(&e.event, names),
        ),
        Record::Registers(r) => {
            let regs: Vec<String> = r
                .regs
                .iter()
                .chain(&r.sregs)
                .map(|(k, v)| format!("{k}={v:#x}"))
                .collect();
            let what = if r.reset {
                "the vCPU's reset state, not the fault's: "
            } else {
                ""
            };
            (
                "registers",
                "vmm".to_string(),
                format!("{what}{}", regs.join(" ")),
            )
        }
        Record::Process(p) => (
            "process",
            names.label(p.pid),
            format!(
                "{}; response {}, turnaround {}, wait {}, cpu {} ticks of {}",
                end_text(&p.end),
                p.response_ticks,
                p.turnaround_ticks,
                p.wait_ticks,
                p.cpu_ticks,
                duration(p.tick_ns)
            ),
        ),
        Record::Debugger(d) => (
            "debugger",
            "gdb".to_string(),
            format!(
                "{}{}{}",
                d.event,
                d.reason
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default(),
                match (d.rip, d.cpl) {
                    (Some(rip), Some(cpl)) => format!(" at rip {rip:#x}, cpl {cpl}"),
                    _ => String::new(),
                }
            ),
        ),
        Record::Footer(f) => (
            "footer",
            "-".to_string(),
            format!(
                "{} (status {}): {}; {} exits, {} guest events ({} dropped, {} malformed), {} wall",
                f.end,
                f.status,
                f.message,
                f.exits,
                f.guest_events,
                f.dropped_events,
                f.bad_events,
                duration(f.wall_ns)
            ),
        ),
    };
    format!("{time:>14} {kind:<14} {who:<16} {text}")
}

fn exit_text(exit: &ExitKind) -> String {
    match exit {
        ExitKind::IoOut {
            port,
            size,
            count,
            value,
        }
        | ExitKind::IoIn {
            port,
            size,
            count,
            value,
        } => {
            if *count > 1 {
                format!("port {port:#x} size {size} x{count} value {value:#x}")
            } else {
                format!("port {port:#x} size {size} value {value:#x}")
            }
        }
        ExitKind::MmioRead { addr, len, value } | ExitKind::MmioWrite { addr, len, value } => {
            format!("addr {addr:#x} len {len} value {value:#x}")
        }
        ExitKind::Hlt | ExitKind::Shutdown | ExitKind::Intr => String::new(),
        ExitKind::Debug { exception, pc, dr6 } => {
            format!("vector {exception} at {pc:#x}, dr6 {dr6:#x}")
        }
        ExitKind::FailEntry {
            hardware_reason,
            cpu,
        } => {
            format!("hardware reason {hardware_reason:#x} cpu {cpu}")
        }
        ExitKind::InternalError { suberror, data } => format!("suberror {suberror} data {data:x?}"),
        ExitKind::SystemEvent { event, data } => format!("event {event} data {data:x?}"),
        ExitKind::Unexpected { what } => what.clone(),
    }
}

/// One guest event in a sentence: "trap at 12.345 ms, pid 1: ...".
pub fn event_sentence(e: &EventRecord, names: &ProcessNames) -> String {
    let who = match e.pid {
        0 => "kernel".to_string(),
        pid => format!("pid {}", names.label(pid)),
    };
    format!(
        "{} at {} ms, {who}: {}",
        e.event.kind(),
        ms(e.t_ns).trim(),
        event_text(&e.event, names)
    )
}

fn event_text(event: &GuestEvent, names: &ProcessNames) -> String {
    match event {
        GuestEvent::Boot {
            tsc_khz,
            quantum_us,
            sched,
            timer,
        } => format!(
            "tsc {tsc_khz} kHz, quantum {}, sched {sched}, timer {}",
            duration(quantum_us.saturating_mul(1000)),
            if *timer { "on" } else { "off" }
        ),
        GuestEvent::Trap {
            vector,
            name,
            rip,
            error,
            user,
            cr2,
        } => {
            let cr2 = if *vector == 14 { format!(" cr2 {cr2:#x}") } else { String::new() };
            format!(
                "{vector:#04x} {name} at rip {rip:#x} in {} mode, error {error:#x}{cr2}",
                if *user { "user" } else { "kernel" }
            )
        }
        GuestEvent::Syscall {
            nr,
            name,
            args,
            result,
            path,
            cs,
        } => {
            let args: Vec<String> = args.iter().map(|a| format!("{a:#x}")).collect();
            format!(
                "{name}({}) = {result} [nr {nr}, via {path}, cs {cs:#x}]",
                args.join(", ")
            )
        }
        GuestEvent::Tick {
            tick,
            unaccounted: None,
        } => format!("tick {tick}"),
        GuestEvent::Tick {
            tick,
            unaccounted: Some(why),
        } => format!("tick {tick}, unaccounted ({why})"),
        GuestEvent::Switch { to, reason } => format!("-> {} ({reason})", names.label(*to)),
        GuestEvent::ProcCreate {
            name,
            arrival_tick,
            length_ticks,
            tickets,
        } => {
            let length = match length_ticks {
                0 => "length unknown".to_string(),
                n => format!("length {n} ticks"),
            };
            format!("arrives: '{name}', tick {arrival_tick}, {length}, {tickets} tickets")
        }
        GuestEvent::ProcFirstRun { tick } => format!("first run at tick {tick}"),
        GuestEvent::ProcExit { code, tick } => format!("exited with {code} at tick {tick}"),
        GuestEvent::ProcKill {
            reason,
            vector,
            vector_name,
            rip,
            error,
            addr,
            tick,
        } => {
            let fault = if *reason == KillReason::Fault {
                format!(" {vector:#04x} {vector_name} at rip {rip:#x}, error {error:#x}, address {addr:#x};")
            } else {
                String::new()
            };
            format!("killed ({reason}){fault} at tick {tick}")
        }
        GuestEvent::Sleep { until_tick } => format!("sleeps until tick {until_tick}"),
        GuestEvent::Wake { tick } => format!("wakes at tick {tick}"),
        GuestEvent::Idle { start } => (if *start { "idle starts" } else { "idle ends" }).into(),
        GuestEvent::ProcStats {
            cpu_ticks,
            arrival_tick,
            first_run_tick,
            end_tick,
            wait_ticks,
            killed,
            code,
        } => format!(
            "cpu {cpu_ticks}, arrival {arrival_tick}, first run {first_run_tick}, end {end_tick}, wait {wait_ticks} ticks; {} {code}",
            if *killed { "killed, reason" } else { "exit code" }
        ),
        GuestEvent::Decision { tick, why } => format!("chosen at tick {tick}: {}", record::describe(why)),
        GuestEvent::Level { tick, from, to } => format!("level {from} -> {to} at tick {tick}"),
        GuestEvent::Boost { tick } => format!("boost: every job to the top level at tick {tick}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::reader::testing::*;

    const MS: u64 = 1_000_000;

    fn shown(filter: ShowFilter) -> Vec<String> {
        let (records, _) = round_robin();
        let path = write_trace("show.jsonl", &records);
        let mut out = Vec::new();
        let n = show(&mut TraceReader::open(&path.0).unwrap(), &filter, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        assert_eq!(lines.len() as u64, n);
        lines
    }

    fn kind(k: &str) -> ShowFilter {
        ShowFilter::new(None, Some(k.into()), None, None).unwrap()
    }

    #[test]
    fn debugger_records_have_a_kind_and_a_line() {
        let stop = Record::Debugger(crate::trace::record::DebuggerRecord {
            t_ns: 5 * MS,
            event: "stop".into(),
            reason: Some("breakpoint".into()),
            rip: Some(0x400000),
            cpl: Some(3),
        });
        assert!(kind("debugger").matches(&stop));
        assert!(!kind("exit").matches(&stop));
        let (records, _) = round_robin();
        let names = ProcessNames::new(match &records[0] {
            Record::Header(h) => h,
            _ => unreachable!("the first record is the header"),
        });
        let text = line(&stop, &names);
        assert!(text.contains("5.000 ms debugger"), "{text}");
        assert!(
            text.contains("stop (breakpoint) at rip 0x400000, cpl 3"),
            "{text}"
        );
    }

    #[test]
    fn every_record_gets_a_line() {
        let (records, _) = round_robin();
        let lines = shown(ShowFilter::default());
        assert_eq!(lines.len(), records.len());
        assert!(lines[0].contains("header"));
        assert!(lines.last().unwrap().contains("footer"));
    }

    #[test]
    fn lines_are_readable() {
        let lines = shown(kind("syscall"));
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            "      1.000 ms syscall        1 spin           write(0x1, 0x2, 0x3) = 0 [nr 1, via gate, cs 0x33]"
        );
        let lines = shown(kind("switch"));
        assert!(
            lines[1].ends_with("1 spin           -> 2 worker (preempt)"),
            "{}",
            lines[1]
        );
        let lines = shown(kind("exit"));
        assert_eq!(lines.len(), 3);
        assert!(lines[0].contains(
            "io_out         vmm              port 0x3f8 size 1 value 0x68 (handled in 2.0 us)"
        ));
    }

    #[test]
    fn filters_combine() {
        // pid 2: its creation, its switches in and out, its calls and exit.
        let lines = shown(ShowFilter::new(Some(2), None, None, None).unwrap());
        assert!(lines.iter().all(|l| l.contains(" 2 worker ")), "{lines:#?}");
        assert_eq!(lines.len(), 9);
        let lines = shown(ShowFilter::new(Some(2), Some("switch".into()), None, None).unwrap());
        assert_eq!(lines.len(), 4);
        let since = Some(Duration::from_nanos(2 * MS));
        let until = Some(Duration::from_nanos(4 * MS));
        let lines = shown(ShowFilter::new(Some(2), Some("switch".into()), since, until).unwrap());
        assert_eq!(lines.len(), 3);
        let lines = shown(ShowFilter::new(None, Some("exit".into()), since, until).unwrap());
        assert_eq!(lines.len(), 1);
        let lines = shown(kind("process"));
        assert_eq!(lines.len(), 3);
        assert!(lines[2].contains("3 hog") && lines[2].contains("killed: last-hog"));
        assert_eq!(shown(kind("event")).len(), 21);
    }

    #[test]
    fn a_bad_filter_is_bad_input() {
        let err = ShowFilter::new(None, Some("exits".into()), None, None).unwrap_err();
        assert_eq!(crate::error::exit_status(&err), 2);
        assert!(err.to_string().starts_with("unknown kind 'exits'"));
        let err = ShowFilter::new(
            None,
            None,
            Some(Duration::from_secs(2)),
            Some(Duration::from_secs(1)),
        )
        .unwrap_err();
        assert_eq!(crate::error::exit_status(&err), 2);
    }
}
