//! `lde trace export --perfetto`: the trace as Chrome trace-event JSON, which
//! ui.perfetto.dev and chrome://tracing open.
//!
//! Each guest process is a process track (`M` metadata events name it) whose
//! runs on the CPU are `X` slices; its system calls, traps, kill, ticks and
//! other events are `i` instants on it. VMM exits are instants on a track of
//! their own. Events are written as they are read, so the export holds no
//! more than the set of processes named so far.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use anyhow::Result;
use serde_json::{json, Value};

use super::names::ProcessNames;
use super::reader::{check_output, TraceReader};
use super::record::{GuestEvent, Record};
use super::runs::{Run, RunTracker};
use super::units::micros;
use crate::error::{bad_input, BadInput};

/// The track of VMM exits: a pid no guest process has (guest pids are
/// small), so it cannot be mistaken for one.
pub const VMM_PID: u32 = 1_000_000;

/// Export the trace at `trace` into `out`; on an error, no partial file is
/// left behind.
pub fn export_file(trace: &Path, out: &Path) -> Result<ExportCounts> {
    let reader = TraceReader::open(trace)?;
    check_output(trace, out)?;
    let file = File::create(out)
        .map_err(|e| bad_input(format!("cannot write '{}': {e}", out.display())))?;
    let mut writer = BufWriter::new(file);
    let result = export(reader, &mut writer)
        .and_then(|counts| {
            writer.flush()?;
            Ok(counts)
        })
        .map_err(|e| {
            // A damaged trace says so itself; anything else is the output.
            if e.is::<BadInput>() {
                e
            } else {
                e.context(format!("writing '{}'", out.display()))
            }
        });
    if result.is_err() {
        let _ = std::fs::remove_file(out);
    }
    result
}

/// How much went into the export.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ExportCounts {
    pub slices: u64,
    pub instants: u64,
    /// Whether the trace had its footer.
    pub complete: bool,
}

/// Write the trace-event JSON for `reader` to `out`.
pub fn export<R: BufRead>(
    mut reader: TraceReader<R>,
    out: &mut impl Write,
) -> Result<ExportCounts> {
    let header = reader.header().clone();
    let mut x = Exporter {
        out,
        first: true,
        names: ProcessNames::new(&header),
        named: BTreeSet::new(),
        counts: ExportCounts::default(),
    };
    x.out.write_all(b"{\"traceEvents\":[\n")?;
    x.metadata(VMM_PID, "process_name", "lde VMM")?;
    x.metadata(VMM_PID, "thread_name", "exits")?;
    x.metadata(VMM_PID, "process_sort_index", -1)?;
    for p in &header.programs {
        x.name_track(p.pid)?;
    }
    let mut runs = RunTracker::default();
    let mut end_ns = 0;
    let mut footer = None;
    while let Some(record) = reader.next_record()? {
        if let Some(pid) = x.names.observe(&record) {
            // A track named before its name was known is named again.
            x.named.remove(&pid);
        }
        match &record {
            Record::Exit(e) => {
                end_ns = end_ns.max(e.t_ns);
                let mut args = serde_json::to_value(&e.exit)?;
                args["handle_ns"] = json!(e.handle_ns);
                x.instant(VMM_PID, e.exit.reason(), "exit", e.t_ns, args)?;
            }
            Record::Event(e) => {
                end_ns = end_ns.max(e.t_ns);
                x.name_track(e.pid)?;
                if let Some(run) = runs.observe(e.t_ns, &e.event) {
                    x.slice(&run)?;
                }
                let name = match &e.event {
                    GuestEvent::Switch { to, reason } => {
                        x.name_track(*to)?;
                        format!("switch -> {to} ({reason})")
                    }
                    GuestEvent::Syscall { name, .. } => name.clone(),
                    GuestEvent::Trap { name, .. } => name.clone(),
                    GuestEvent::ProcKill { reason, .. } => format!("kill ({reason})"),
                    other => other.kind().to_string(),
                };
                let args = serde_json::to_value(&e.event)?;
                x.instant(e.pid, &name, e.event.kind(), e.t_ns, args)?;
            }
            Record::Registers(r) => {
                end_ns = end_ns.max(r.t_ns);
                x.instant(
                    VMM_PID,
                    "registers",
                    "registers",
                    r.t_ns,
                    json!({"regs": r.regs, "sregs": r.sregs}),
                )?;
            }
            Record::Debugger(d) => {
                end_ns = end_ns.max(d.t_ns);
                let name = format!("debugger {}", d.event);
                x.instant(VMM_PID, &name, "debugger", d.t_ns, serde_json::to_value(d)?)?;
            }
            Record::Process(p) => x.name_track(p.pid)?,
            Record::Footer(f) => footer = Some(f.clone()),
            Record::Header(_) => {}
        }
    }
    if let Some(run) = runs.finish(end_ns) {
        x.slice(&run)?;
    }
    x.counts.complete = reader.complete();
    let other = json!({
        "source": "lde run --trace",
        "command": header.argv.join(" "),
        "lde_version": header.lde_version,
        "kvm": header.kvm,
        "cpu_model": header.cpu_model,
        "sched": header.sched,
        "quantum_us": header.quantum_us,
        "end": footer.as_ref().map(|f| f.end),
        "message": footer.as_ref().map(|f| f.message.clone()),
        "complete": x.counts.complete,
    });
    write!(
        x.out,
        "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{other}}}\n"
    )?;
    Ok(x.counts)
}

struct Exporter<'a, W: Write> {
    out: &'a mut W,
    first: bool,
    names: ProcessNames,
    /// Tracks whose `M` events are written.
    named: BTreeSet<u32>,
    counts: ExportCounts,
}

impl<W: Write> Exporter<'_, W> {
    fn event(&mut self, event: &Value) -> Result<()> {
        if !self.first {
            self.out.write_all(b",\n")?;
        }
        self.first = false;
        serde_json::to_writer(&mut *self.out, event)?;
        Ok(())
    }

    fn metadata(&mut self, pid: u32, name: &str, value: impl Into<Value>) -> Result<()> {
        let key = if name.ends_with("_name") {
            "name"
        } else {
            "sort_index"
        };
        self.event(
            &json!({"ph": "M", "name": name, "pid": pid, "tid": pid, "args": {key: value.into()}}),
        )
    }

    /// Name the track of `pid` the first time it is seen (pid 0 is the
    /// guest kernel and its idle loop).
    fn name_track(&mut self, pid: u32) -> Result<()> {
        if !self.named.insert(pid) {
            return Ok(());
        }
        let label = match pid {
            0 => "guest kernel / idle".to_string(),
            _ => self.names.label(pid),
        };
        self.metadata(pid, "process_name", label.as_str())?;
        self.metadata(pid, "thread_name", label.as_str())?;
        self.metadata(pid, "process_sort_index", pid as i64)
    }

    fn slice(&mut self, run: &Run) -> Result<()> {
        self.name_track(run.pid)?;
        let name = match run.pid {
            0 => "idle".to_string(),
            pid => self.names.get(pid).unwrap_or("running").to_string(),
        };
        self.counts.slices += 1;
        self.event(&json!({
            "ph": "X",
            "name": name,
            "cat": "run",
            "ts": micros(run.start_ns),
            "dur": micros(run.duration_ns()),
            "pid": run.pid,
            "tid": run.pid,
            "args": {"switched_in": run.reason_in, "switched_out": run.reason_out},
        }))
    }

    fn instant(&mut self, pid: u32, name: &str, cat: &str, t_ns: u64, args: Value) -> Result<()> {
        self.counts.instants += 1;
        self.event(&json!({
            "ph": "i",
            "s": "t",
            "name": name,
            "cat": cat,
            "ts": micros(t_ns),
            "pid": pid,
            "tid": pid,
            "args": args,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::reader::testing::*;

    fn exported(records: &[Record]) -> (Value, ExportCounts) {
        let trace = write_trace("export.jsonl", records);
        let out = TempPath::new("export.json");
        let counts = export_file(&trace.0, &out.0).unwrap();
        let text = std::fs::read_to_string(&out.0).unwrap();
        (serde_json::from_str(&text).expect("valid JSON"), counts)
    }

    fn events<'a>(json: &'a Value, ph: &str) -> Vec<&'a Value> {
        json["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == ph)
            .collect()
    }

    #[test]
    fn round_robin_runs_are_slices_in_order() {
        let (records, want) = round_robin();
        let (json, counts) = exported(&records);
        let slices: Vec<(u32, u64, u64)> = events(&json, "X")
            .iter()
            .filter(|e| e["pid"] != 0)
            .map(|e| {
                let ts = e["ts"].as_f64().unwrap();
                let dur = e["dur"].as_f64().unwrap();
                (
                    e["pid"].as_u64().unwrap() as u32,
                    (ts * 1e3).round() as u64,
                    ((ts + dur) * 1e3).round() as u64,
                )
            })
            .collect();
        assert_eq!(slices, want);
        assert!(events(&json, "X").iter().all(|e| e["pid"] == e["tid"]));
        // The idle time after the last kill is on the kernel's track.
        assert_eq!(counts.slices, 7);
        assert!(counts.complete);
        assert_eq!(json["otherData"]["sched"], "rr");
    }

    #[test]
    fn processes_and_the_vmm_are_named_tracks() {
        let (records, _) = round_robin();
        let (json, _) = exported(&records);
        let names: Vec<(u64, String)> = events(&json, "M")
            .iter()
            .filter(|e| e["name"] == "process_name")
            .map(|e| {
                (
                    e["pid"].as_u64().unwrap(),
                    e["args"]["name"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for want in [
            (VMM_PID as u64, "lde VMM"),
            (1, "1 spin"),
            (2, "2 worker"),
            (3, "3 hog"),
            (0, "guest kernel / idle"),
        ] {
            assert!(
                names.contains(&(want.0, want.1.to_string())),
                "{want:?} not in {names:?}"
            );
        }
    }

    #[test]
    fn events_and_exits_are_instants() {
        let (records, _) = round_robin();
        let (json, counts) = exported(&records);
        let instants = events(&json, "i");
        assert_eq!(counts.instants, instants.len() as u64);
        let on = |cat: &str| {
            instants
                .iter()
                .filter(|e| e["cat"] == cat)
                .copied()
                .collect::<Vec<_>>()
        };
        let exits = on("exit");
        assert_eq!(exits.len(), 3);
        assert!(exits.iter().all(|e| e["pid"] == VMM_PID));
        assert_eq!(exits[0]["name"], "io_out");
        assert_eq!(exits[0]["args"]["port"], 0x3f8);
        assert_eq!(exits[0]["args"]["handle_ns"], 2000);
        assert_eq!(on("syscall").len(), 4);
        assert_eq!(on("syscall")[1]["name"], "sched_yield");
        assert_eq!(on("syscall")[1]["args"]["path"], "ud");
        assert_eq!(on("trap")[0]["name"], "#PF page fault");
        assert_eq!(on("proc_kill")[0]["pid"], 3);
        assert_eq!(on("tick").len(), 2);
        assert!(instants
            .iter()
            .all(|e| e["s"] == "t" && e["ts"].is_number()));
    }

    #[test]
    fn a_bad_trace_leaves_no_output() {
        let (records, _) = round_robin();
        let mut text: String = records[..5]
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect();
        text.push_str("{\"type\":\"event\"\n");
        let trace = write_text("export-bad.jsonl", &text);
        let out = TempPath::new("export-bad.json");
        let err = export_file(&trace.0, &out.0).unwrap_err();
        assert_eq!(crate::error::exit_status(&err), 2);
        assert!(
            crate::error::one_line(&err).contains(":6: truncated record"),
            "{err:#}"
        );
        assert!(!out.0.exists());
    }
}
