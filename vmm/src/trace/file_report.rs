//! `lde trace summary`: the figures of a run, computed from its records, in
//! the manner of `perf kvm stat`, plus OSTEP's per-process table and the
//! run's "what happened" ([`super::explain`], as at the end of `lde run`).
//! Context switches and the explanation's counts come from one
//! [`RunFigures`] fed the file's events, as `lde run` feeds its own live.
//!
//! The footer holds totals that `lde run` counted while it ran; they are
//! recomputed here from the records and any disagreement is a warning (a
//! file edited or cut short, or a bug in the writer). The footer stays the
//! only source of KVM's own counters and of the ring's dropped/bad counts.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::io::BufRead;

use anyhow::Result;

use super::explain::explain;
use super::names::ProcessNames;
use super::ostep_table::OstepTable;
use super::reader::TraceReader;
use super::record::{
    Footer, GuestEvent, Header, ProcessRecord, ReasonTotals, Record, RunEnd, SwitchReason,
    SyscallPath,
};
use super::run_figures::{averages, RunFigures};
use super::units::{duration, ms};
use crate::kvm_stats::SHOWN;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct TrapCount {
    pub name: String,
    pub user: u64,
    pub kernel: u64,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct SyscallCount {
    pub name: String,
    /// Calls by delivery path (`gate`, `ud`).
    pub by_path: BTreeMap<SyscallPath, u64>,
    /// Calls that returned a negative errno.
    pub errors: u64,
}

impl SyscallCount {
    pub fn total(&self) -> u64 {
        self.by_path.values().sum()
    }
}

/// Everything the summary shows, from one pass over the file.
#[derive(Debug)]
pub struct TraceStats {
    pub name: String,
    pub header: Header,
    pub footer: Option<Footer>,
    /// Records before the footer, header included (the footer's `records`).
    pub records: u64,
    /// Exits by reason, and in all.
    pub exits: BTreeMap<String, ReasonTotals>,
    pub exit_count: u64,
    /// Earliest and latest time of any record.
    pub span_ns: Option<(u64, u64)>,
    pub events: u64,
    pub events_by_kind: BTreeMap<&'static str, u64>,
    pub traps: BTreeMap<u64, TrapCount>,
    pub syscalls: BTreeMap<u64, SyscallCount>,
    pub switches: BTreeMap<SwitchReason, u64>,
    /// "What happened", as at the end of `lde run`.
    pub explanation: Vec<String>,
    /// OSTEP's figures per process, from the `process` records or, in a
    /// trace that has none (cut short), from the guest's events.
    pub processes: Vec<ProcessRecord>,
    pub processes_from_events: bool,
    /// Time on the CPU per pid (0 = idle), measured between switches.
    pub on_cpu_ns: BTreeMap<u32, u64>,
    pub register_dumps: u64,
}

impl TraceStats {
    pub fn read<R: BufRead>(mut reader: TraceReader<R>) -> Result<TraceStats> {
        let header = reader.header().clone();
        let mut names = ProcessNames::new(&header);
        let mut from_events = RunFigures::new(header.quantum_us.saturating_mul(1000));
        from_events.sched = Some(header.sched);
        let mut s = TraceStats {
            name: reader.name().to_string(),
            header,
            footer: None,
            records: 1,
            exits: BTreeMap::new(),
            exit_count: 0,
            span_ns: None,
            events: 0,
            events_by_kind: BTreeMap::new(),
            traps: BTreeMap::new(),
            syscalls: BTreeMap::new(),
            switches: BTreeMap::new(),
            explanation: Vec::new(),
            processes: Vec::new(),
            processes_from_events: false,
            on_cpu_ns: BTreeMap::new(),
            register_dumps: 0,
        };
        while let Some(record) = reader.next_record()? {
            names.observe(&record);
            match record {
                // The reader refuses a second header.
                Record::Header(_) => continue,
                Record::Exit(e) => {
                    s.saw_time(e.t_ns);
                    s.exit_count += 1;
                    let t = s.exits.entry(e.exit.reason().to_string()).or_default();
                    t.count += 1;
                    t.total_ns = t.total_ns.saturating_add(e.handle_ns);
                }
                Record::Event(e) => {
                    s.saw_time(e.t_ns);
                    s.events += 1;
                    *s.events_by_kind.entry(e.event.kind()).or_default() += 1;
                    // The header's quantum is the tick length: a Boot event
                    // would set it again, multiplying a number from the
                    // file without a check (run_figures.rs), so it is kept
                    // from the table.
                    if !matches!(e.event, GuestEvent::Boot { .. }) {
                        from_events.observe(&e);
                    }
                    s.count_event(&e.event);
                }
                Record::Debugger(d) => s.saw_time(d.t_ns),
                Record::Registers(r) => {
                    s.saw_time(r.t_ns);
                    s.register_dumps += 1;
                }
                Record::Process(p) => s.processes.push(p),
                Record::Footer(f) => {
                    s.footer = Some(f);
                    continue;
                }
            }
            s.records += 1;
        }
        // The process on the CPU at the end held it until the run stopped:
        // the footer's wall time, as `lde run` counted it, or the last
        // record of a trace cut short.
        let last = s.span_ns.map_or(0, |(_, last)| last);
        from_events.finish(s.footer.as_ref().map_or(last, |f| f.wall_ns));
        s.on_cpu_ns = from_events.on_cpu_ns.clone();
        if s.processes.is_empty() {
            s.processes = from_events.records();
            s.processes_from_events = !s.processes.is_empty();
        }
        // The table's names as the trace knows them best.
        for p in &mut s.processes {
            if p.name.is_empty() {
                p.name = names.get(p.pid).unwrap_or("").to_string();
            }
        }
        // Switches are counted once, with the run's other figures.
        s.switches = from_events.switches.clone();
        let watchdog_ended = s.footer.as_ref().is_some_and(|f| f.end == RunEnd::Timeout);
        s.explanation = explain(
            &from_events,
            &s.processes,
            watchdog_ended,
            s.header.quantum_us as f64 / 1000.0,
        );
        Ok(s)
    }

    fn saw_time(&mut self, t_ns: u64) {
        self.span_ns = Some(match self.span_ns {
            None => (t_ns, t_ns),
            Some((first, last)) => (first.min(t_ns), last.max(t_ns)),
        });
    }

    fn count_event(&mut self, event: &GuestEvent) {
        match event {
            GuestEvent::Trap {
                vector, name, user, ..
            } => {
                let t = self.traps.entry(*vector).or_insert_with(|| TrapCount {
                    name: name.clone(),
                    ..Default::default()
                });
                if *user {
                    t.user += 1;
                } else {
                    t.kernel += 1;
                }
            }
            GuestEvent::Syscall {
                nr,
                name,
                result,
                path,
                ..
            } => {
                let c = self.syscalls.entry(*nr).or_insert_with(|| SyscallCount {
                    name: name.clone(),
                    ..Default::default()
                });
                *c.by_path.entry(*path).or_default() += 1;
                if *result < 0 {
                    c.errors += 1;
                }
            }
            _ => {}
        }
    }

    /// Where the trace and its footer disagree, or the trace is incomplete.
    pub fn warnings(&self) -> Vec<String> {
        let Some(f) = &self.footer else {
            return vec![
                "no footer: the trace is incomplete (the run was stopped before it ended?)".into(),
            ];
        };
        let mut w = Vec::new();
        if f.not_written > 0 {
            // Capped: only the sum can be checked.
            w.push(format!(
                "the file reached --trace-max: {} exit and event records were counted but not written; counts from records are low",
                f.not_written
            ));
            if f.exits + f.guest_events != self.exit_count + self.events + f.not_written {
                w.push(format!(
                    "the footer counts {} exits and {} guest events, {} of them not written, the file has {}",
                    f.exits,
                    f.guest_events,
                    f.not_written,
                    self.exit_count + self.events
                ));
            }
        } else {
            w.extend(self.count_warnings(f));
        }
        if f.records != self.records {
            w.push(format!(
                "the footer counts {} records before it, the file has {}",
                f.records, self.records
            ));
        }
        if f.dropped_events > 0 {
            w.push(format!(
                "the guest dropped {} events (its ring was full): counts from events are low",
                f.dropped_events
            ));
        }
        w
    }

    /// Where the footer's exit and event counts differ from the records.
    fn count_warnings(&self, f: &Footer) -> Vec<String> {
        let mut w = Vec::new();
        if f.exits != self.exit_count {
            w.push(format!(
                "the footer counts {} exits, the file has {}",
                f.exits, self.exit_count
            ));
        }
        let reasons: std::collections::BTreeSet<&String> =
            f.exits_by_reason.keys().chain(self.exits.keys()).collect();
        for reason in reasons {
            let counted = self.exits.get(reason).cloned().unwrap_or_default();
            let footer = f.exits_by_reason.get(reason).cloned().unwrap_or_default();
            if counted != footer {
                w.push(format!(
                    "{reason} exits: the footer says {} taking {} ns, the records {} taking {} ns",
                    footer.count, footer.total_ns, counted.count, counted.total_ns
                ));
            }
        }
        if f.guest_events != self.events {
            w.push(format!(
                "the footer counts {} guest events, the file has {}",
                f.guest_events, self.events
            ));
        }
        w
    }

    /// The report, as printed.
    pub fn render(&self) -> String {
        let mut o = String::new();
        self.render_run(&mut o);
        self.render_exits(&mut o);
        self.render_kvm(&mut o);
        self.render_traps(&mut o);
        self.render_syscalls(&mut o);
        self.render_switches(&mut o);
        self.render_events(&mut o);
        self.render_processes(&mut o);
        self.render_explanation(&mut o);
        o
    }

    fn render_explanation(&self, o: &mut String) {
        if self.explanation.is_empty() {
            return;
        }
        writeln!(o, "\nWhat happened:").unwrap();
        for line in &self.explanation {
            writeln!(o, "  - {line}").unwrap();
        }
    }

    fn render_run(&self, o: &mut String) {
        let h = &self.header;
        writeln!(
            o,
            "trace {} (lde {}, schema {})",
            self.name, h.lde_version, h.schema
        )
        .unwrap();
        writeln!(o, "  command   {}", h.argv.join(" ")).unwrap();
        writeln!(
            o,
            "  started   {} on {} (kvm {}, host kernel {})",
            started_text(h.started_unix_ms),
            h.cpu_model,
            h.kvm,
            h.host_kernel
        )
        .unwrap();
        let cmdline = if h.kernel_cmdline.is_empty() {
            String::new()
        } else {
            format!(", cmdline '{}'", h.kernel_cmdline)
        };
        writeln!(
            o,
            "  guest     {} MiB, kernel {}{cmdline}, sched {}, quantum {}",
            h.mem_bytes >> 20,
            h.kernel,
            h.sched,
            duration(h.quantum_us.saturating_mul(1000))
        )
        .unwrap();
        match &self.footer {
            Some(f) => writeln!(
                o,
                "  ended     {} (status {}): {}; {} wall",
                f.end,
                f.status,
                f.message,
                duration(f.wall_ns)
            )
            .unwrap(),
            None => writeln!(o, "  ended     unknown: no footer, the trace is incomplete").unwrap(),
        }
        if let Some((first, last)) = self.span_ns {
            writeln!(
                o,
                "  records   {} from {} ms to {} ms",
                self.records,
                ms(first),
                ms(last)
            )
            .unwrap();
        } else {
            writeln!(o, "  records   {} (none with a time)", self.records).unwrap();
        }
    }

    fn render_exits(&self, o: &mut String) {
        writeln!(o, "\nVM exits reaching the VMM: {}", self.exit_count).unwrap();
        if self.exits.is_empty() {
            return;
        }
        writeln!(
            o,
            "  {:<16} {:>9} {:>8} {:>12} {:>10}",
            "reason", "count", "share", "total", "mean"
        )
        .unwrap();
        let mut rows: Vec<(&String, &ReasonTotals)> = self.exits.iter().collect();
        rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        let mut total_ns: u64 = 0;
        for (reason, t) in rows {
            total_ns = total_ns.saturating_add(t.total_ns);
            writeln!(
                o,
                "  {:<16} {:>9} {:>7.2}% {:>12} {:>10}",
                reason,
                t.count,
                percent(t.count, self.exit_count),
                duration(t.total_ns),
                duration(t.total_ns / t.count.max(1))
            )
            .unwrap();
        }
        writeln!(
            o,
            "  {:<16} {:>9} {:>7.2}% {:>12} {:>10}",
            "all",
            self.exit_count,
            100.0,
            duration(total_ns),
            duration(total_ns / self.exit_count.max(1))
        )
        .unwrap();
    }

    fn render_kvm(&self, o: &mut String) {
        let Some(f) = &self.footer else {
            writeln!(o, "\nKVM counters: not in this trace (no footer)").unwrap();
            return;
        };
        if f.kvm_stats.is_empty() {
            writeln!(o, "\nKVM counters: not available on that host").unwrap();
            return;
        }
        writeln!(
            o,
            "\nKVM counters (end minus start; they include exits KVM handled itself):"
        )
        .unwrap();
        for name in SHOWN {
            if let Some(v) = f.kvm_stats.get(*name) {
                writeln!(o, "  {name:<16} {v:>9}").unwrap();
            }
        }
        if let Some(&all) = f.kvm_stats.get("exits") {
            let in_kernel = all.saturating_sub(self.exit_count);
            writeln!(
                o,
                "  exits handled in the host kernel, never reaching lde: {in_kernel} ({:.1}%)",
                percent(in_kernel, all)
            )
            .unwrap();
        }
    }

    fn render_traps(&self, o: &mut String) {
        let total: u64 = self.traps.values().map(|t| t.user + t.kernel).sum();
        writeln!(o, "\nTraps: {total}").unwrap();
        if total == 0 {
            return;
        }
        writeln!(
            o,
            "  {:<6} {:<28} {:>9} {:>9} {:>9}",
            "vector", "name", "user", "kernel", "total"
        )
        .unwrap();
        for (vector, t) in &self.traps {
            writeln!(
                o,
                "  {:<6} {:<28} {:>9} {:>9} {:>9}",
                format!("{vector:#04x}"),
                t.name,
                t.user,
                t.kernel,
                t.user + t.kernel
            )
            .unwrap();
        }
    }

    fn render_syscalls(&self, o: &mut String) {
        let total: u64 = self.syscalls.values().map(SyscallCount::total).sum();
        writeln!(o, "\nSystem calls: {total}").unwrap();
        if total == 0 {
            return;
        }
        let paths: std::collections::BTreeSet<&SyscallPath> = self
            .syscalls
            .values()
            .flat_map(|c| c.by_path.keys())
            .collect();
        let mut head = format!("  {:>5} {:<14}", "nr", "name");
        for p in &paths {
            write!(head, " {:>9}", format!("via {p}")).unwrap();
        }
        writeln!(o, "{head} {:>9} {:>9}", "total", "errors").unwrap();
        for (nr, c) in &self.syscalls {
            let mut row = format!("  {nr:>5} {:<14}", c.name);
            for p in &paths {
                write!(row, " {:>9}", c.by_path.get(*p).copied().unwrap_or(0)).unwrap();
            }
            writeln!(o, "{row} {:>9} {:>9}", c.total(), c.errors).unwrap();
        }
    }

    fn render_switches(&self, o: &mut String) {
        let total: u64 = self.switches.values().sum();
        writeln!(o, "\nContext switches: {total}").unwrap();
        let mut rows: Vec<_> = self.switches.iter().collect();
        rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (reason, n) in rows {
            writeln!(o, "  {reason:<16} {n:>9} {:>7.2}%", percent(*n, total)).unwrap();
        }
    }

    fn render_events(&self, o: &mut String) {
        match &self.footer {
            Some(f) => writeln!(
                o,
                "\nGuest events: {} in the file, {} dropped (ring full){}, {} malformed",
                self.events,
                f.dropped_events,
                crate::plausible::dropped_mark(f.dropped_events, f.wall_ns, self.header.tsc_khz),
                f.bad_events
            )
            .unwrap(),
            None => writeln!(
                o,
                "\nGuest events: {} in the file (dropped and malformed unknown: no footer)",
                self.events
            )
            .unwrap(),
        }
        if !self.events_by_kind.is_empty() {
            let kinds: Vec<String> = self
                .events_by_kind
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            writeln!(o, "  {}", kinds.join(", ")).unwrap();
        }
        if self.register_dumps > 0 {
            writeln!(o, "  register dumps: {}", self.register_dumps).unwrap();
        }
    }

    fn render_processes(&self, o: &mut String) {
        if self.processes.is_empty() {
            writeln!(o, "\nProcesses: none").unwrap();
            return;
        }
        o.push('\n');
        o.push_str(
            &OstepTable {
                header: &self.header,
                processes: &self.processes,
                on_cpu_ns: &self.on_cpu_ns,
                wall_ns: self.footer.as_ref().map(|f| f.wall_ns),
                from_events: self.processes_from_events,
            }
            .render(),
        );
    }

    /// Mean response, turnaround, wait and cpu ticks of the processes that
    /// ended.
    pub fn averages(&self) -> Option<[f64; 4]> {
        averages(&self.processes)
    }
}

/// The start time as RFC 3339, or as a plain number when the header's is
/// past what that can show (the year 9999).
fn started_text(unix_ms: u64) -> String {
    const YEAR_10000_MS: u64 = 253_402_300_800_000;
    if unix_ms >= YEAR_10000_MS {
        return format!("{unix_ms} ms after the Unix epoch");
    }
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(unix_ms);
    humantime::format_rfc3339_seconds(at).to_string()
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::reader::testing::*;
    use crate::trace::record::{ExitKind, ProcessEnd};

    fn stats(records: &[Record]) -> TraceStats {
        let path = write_trace("stats.jsonl", records);
        TraceStats::read(TraceReader::open(&path.0).unwrap()).unwrap()
    }

    #[test]
    fn figures_match_the_records() {
        let (records, runs) = round_robin();
        let s = stats(&records);
        // Exits by reason, computed here independently of the code under test.
        let mut exits: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut syscalls: BTreeMap<(u64, SyscallPath), u64> = BTreeMap::new();
        let mut traps: BTreeMap<u64, u64> = BTreeMap::new();
        let mut switches: BTreeMap<SwitchReason, u64> = BTreeMap::new();
        let mut events = 0;
        for r in &records {
            match r {
                Record::Exit(e) => {
                    let x = exits.entry(e.exit.reason().into()).or_default();
                    x.0 += 1;
                    x.1 += e.handle_ns;
                }
                Record::Event(e) => {
                    events += 1;
                    match &e.event {
                        GuestEvent::Syscall { nr, path, .. } => {
                            *syscalls.entry((*nr, *path)).or_default() += 1
                        }
                        GuestEvent::Trap { vector, .. } => *traps.entry(*vector).or_default() += 1,
                        GuestEvent::Switch { reason, .. } => {
                            *switches.entry(*reason).or_default() += 1
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        assert_eq!(s.exit_count, exits.values().map(|x| x.0).sum::<u64>());
        let got: BTreeMap<String, (u64, u64)> = s
            .exits
            .iter()
            .map(|(k, t)| (k.clone(), (t.count, t.total_ns)))
            .collect();
        assert_eq!(got, exits);
        let got: BTreeMap<(u64, SyscallPath), u64> = s
            .syscalls
            .iter()
            .flat_map(|(nr, c)| c.by_path.iter().map(move |(p, n)| ((*nr, *p), *n)))
            .collect();
        assert_eq!(got, syscalls);
        assert_eq!(s.syscalls[&24].name, "sched_yield");
        let got: BTreeMap<u64, u64> = s
            .traps
            .iter()
            .map(|(v, t)| (*v, t.user + t.kernel))
            .collect();
        assert_eq!(got, traps);
        assert_eq!(s.traps[&14].name, "#PF page fault");
        assert_eq!(s.switches, switches);
        assert_eq!(s.events, events);
        assert_eq!(s.records, records.len() as u64 - 1);
        // Time on the CPU is the sum of the expected runs.
        for pid in 1..=3 {
            let want: u64 = runs.iter().filter(|r| r.0 == pid).map(|r| r.2 - r.1).sum();
            assert_eq!(s.on_cpu_ns[&pid], want, "pid {pid}");
        }
        // The process table is the process records, and the averages theirs.
        let procs: Vec<&ProcessRecord> = records
            .iter()
            .filter_map(|r| match r {
                Record::Process(p) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(s.processes.iter().collect::<Vec<_>>(), procs);
        let avg = s.averages().unwrap();
        let mean =
            |f: fn(&ProcessRecord) -> u64| procs.iter().map(|p| f(p) as f64).sum::<f64>() / 3.0;
        assert_eq!(avg[0], mean(|p| p.response_ticks));
        assert_eq!(avg[1], mean(|p| p.turnaround_ticks));
        assert_eq!(avg[2], mean(|p| p.wait_ticks));
        assert_eq!(avg[3], mean(|p| p.cpu_ticks));
        assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    }

    #[test]
    fn the_report_shows_every_section() {
        let (records, _) = round_robin();
        let text = stats(&records).render();
        for want in [
            "VM exits reaching the VMM: 3",
            "io_out",
            "66.67%",
            "KVM counters",
            "exits handled in the host kernel, never reaching lde: 100",
            "0x0e   #PF page fault",
            "sched_yield",
            "via ud",
            "Context switches: 7",
            "preempt",
            "Guest events: 21 in the file, 0 dropped",
            "hog",
            "killed: last-hog",
            "exited 3",
            "average",
        ] {
            assert!(text.contains(want), "no {want:?} in\n{text}");
        }
    }

    #[test]
    fn a_footer_that_disagrees_is_a_warning() {
        let (mut records, _) = round_robin();
        let Some(Record::Footer(f)) = records.last_mut() else {
            panic!()
        };
        f.exits += 1;
        f.exits_by_reason.get_mut("io_out").unwrap().total_ns += 5;
        f.guest_events = 1;
        let w = stats(&records).warnings();
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("footer counts 4 exits, the file has 3"));
        assert!(w[1].starts_with("io_out exits"));
        assert!(w[2].contains("1 guest events, the file has 21"));
    }

    #[test]
    fn guest_counts_that_cannot_be_true_are_marked() {
        let (mut records, _) = round_robin();
        let Some(Record::Footer(f)) = records.last_mut() else {
            panic!()
        };
        f.dropped_events = 281_474_976_710_655;
        let text = stats(&records).render();
        assert!(
            text.contains("281474976710655 dropped (ring full) [cannot be true"),
            "{text}"
        );
    }

    #[test]
    fn a_capped_trace_is_a_warning_not_a_disagreement() {
        let (mut records, _) = round_robin();
        // Drop two exit records, as --trace-max would, and say so.
        let exits: Vec<usize> = (0..records.len())
            .filter(|&i| matches!(records[i], Record::Exit(_)))
            .take(2)
            .collect();
        for i in exits.into_iter().rev() {
            records.remove(i);
        }
        let Some(Record::Footer(f)) = records.last_mut() else {
            panic!()
        };
        f.not_written = 2;
        f.records -= 2;
        let w = stats(&records).warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("--trace-max: 2 exit and event records"));
    }

    #[test]
    fn a_trace_cut_short_is_still_summarised() {
        let (records, _) = round_robin();
        // Up to and including pid 2's exit: no process records, no footer.
        let cut = records
            .iter()
            .position(|r| matches!(r, Record::Event(e) if matches!(e.event, GuestEvent::ProcExit { code: 3, .. })))
            .unwrap();
        let s = stats(&records[..=cut]);
        assert_eq!(
            s.warnings(),
            vec!["no footer: the trace is incomplete (the run was stopped before it ended?)"]
        );
        assert!(s.processes_from_events);
        let ends: Vec<(u32, ProcessEnd)> =
            s.processes.iter().map(|p| (p.pid, p.end.clone())).collect();
        assert_eq!(
            ends,
            vec![
                (1, ProcessEnd::Exited(0)),
                (2, ProcessEnd::Exited(3)),
                (3, ProcessEnd::Running)
            ]
        );
        let text = s.render();
        assert!(text.contains("no footer"), "{text}");
        assert!(text.contains("still running"), "{text}");
    }

    #[test]
    fn start_times_past_rfc3339_are_numbers() {
        assert_eq!(started_text(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(started_text(253_402_300_799_999), "9999-12-31T23:59:59Z");
        assert_eq!(
            started_text(u64::MAX),
            format!("{} ms after the Unix epoch", u64::MAX)
        );
    }

    #[test]
    fn a_trace_of_exits_only() {
        let records = vec![
            Record::Header(header(&[])),
            exit(10, 100, ExitKind::Hlt),
            exit(20, 300, ExitKind::Hlt),
        ];
        let s = stats(&records);
        assert_eq!(
            s.exits["hlt"],
            ReasonTotals {
                count: 2,
                total_ns: 400
            }
        );
        assert!(s.processes.is_empty());
        assert!(s.render().contains("Processes: none"));
    }
}
