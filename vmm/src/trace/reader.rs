//! Reads a trace file back one line at a time, checking it as it goes.
//!
//! Only the current line is held, so a trace of any length can be read. Any
//! problem with the file is bad input (exit status 2) and is reported as one
//! line naming the file and the line number (`run.jsonl:17: ...`), so that a
//! damaged trace says where it is damaged.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::Result;
use serde_json::error::Category;

use super::record::{Header, Policy, Record};
use super::SCHEMA_VERSION;
use crate::error::bad_input;

/// Longest line accepted. Real records are a few hundred bytes; the limit
/// keeps a file that is not a trace (no newlines) from being read whole.
pub const MAX_LINE: usize = 16 << 20;

/// A trace file being read: its header, then its records in file order.
pub struct TraceReader<R> {
    /// The file as the user named it, for messages.
    name: String,
    input: R,
    /// Number of the line last read (1-based).
    line: u64,
    buf: Vec<u8>,
    header: Header,
    footer_seen: bool,
    /// Whether the line last read ended with a line end.
    terminated: bool,
    /// Whether the last line was cut and skipped.
    torn: bool,
}

impl TraceReader<BufReader<File>> {
    /// Open `path` and read its header.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path)
            .map_err(|e| bad_input(format!("cannot read trace file '{}': {e}", path.display())))?;
        TraceReader::new(
            BufReader::with_capacity(256 * 1024, file),
            &path.display().to_string(),
        )
    }
}

impl<R: BufRead> TraceReader<R> {
    /// Read the header from `input`; `name` names it in messages.
    pub fn new(input: R, name: &str) -> Result<Self> {
        let mut reader = TraceReader {
            name: name.to_string(),
            input,
            line: 0,
            buf: Vec::new(),
            header: placeholder_header(),
            footer_seen: false,
            terminated: true,
            torn: false,
        };
        if !reader.next_line()? {
            return Err(bad_input(format!("{name}: empty file, not an lde trace")));
        }
        reader.header = reader.parse_header()?;
        Ok(reader)
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The file as named in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the footer has been read: a trace without one is incomplete
    /// (the run was killed before it could finish the file).
    pub fn complete(&self) -> bool {
        self.footer_seen
    }

    /// Whether the file's last line was cut off and skipped.
    pub fn torn(&self) -> bool {
        self.torn
    }

    /// The next record after the header, `None` at the end of the file (or
    /// at a cut last line).
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        if !self.next_line()? {
            return Ok(None);
        }
        if self.footer_seen {
            return Err(self.error("a record after the footer"));
        }
        let record: Record = match serde_json::from_slice(&self.buf) {
            Ok(r) => r,
            // A last line without its line end, in a trace without footer:
            // the run was killed while writing it. The rest is good.
            Err(_) if !self.terminated => {
                self.torn = true;
                crate::error::to_stderr(&format!(
                    "lde: warning: {}:{}: the last line is cut (the run was killed while writing it?); skipped\n",
                    self.name, self.line
                ));
                return Ok(None);
            }
            Err(e) => return Err(self.json_error(&e)),
        };
        match record {
            Record::Header(_) => Err(self.error("a second header")),
            Record::Footer(_) => {
                self.footer_seen = true;
                Ok(Some(record))
            }
            _ => Ok(Some(record)),
        }
    }

    /// Read the next line into `buf` without its line end; false at the end
    /// of the file.
    fn next_line(&mut self) -> Result<bool> {
        self.buf.clear();
        let read = (&mut self.input)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut self.buf);
        let n = match read {
            Ok(n) => n,
            Err(e) => {
                self.line += 1;
                return Err(self.error(format!("cannot read: {e}")));
            }
        };
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        self.terminated = self.buf.last() == Some(&b'\n');
        if self.terminated {
            self.buf.pop();
        } else if self.buf.len() > MAX_LINE {
            return Err(self.error(format!(
                "line longer than {} MiB, not a trace record",
                MAX_LINE >> 20
            )));
        }
        if self.buf.iter().all(u8::is_ascii_whitespace) {
            return Err(self.error("empty line, not a trace record"));
        }
        Ok(true)
    }

    /// The first line: a header of the schema version this lde reads. The
    /// version is checked before the fields, since another version may have
    /// other fields.
    fn parse_header(&self) -> Result<Header> {
        let value: serde_json::Value =
            serde_json::from_slice(&self.buf).map_err(|e| self.json_error(&e))?;
        let kind = value.get("type").and_then(|t| t.as_str());
        if kind != Some("header") {
            let found = kind
                .map(|k| format!("its type is '{k}'"))
                .unwrap_or_else(|| "no record type".into());
            return Err(self.error(format!(
                "the first record is not a header ({found}); is this a trace from `lde run --trace`?"
            )));
        }
        match value.get("schema").and_then(|s| s.as_u64()) {
            Some(v) if v == SCHEMA_VERSION as u64 => {}
            Some(v) => {
                return Err(self.error(format!(
                    "trace schema version {v}, but this lde reads version {SCHEMA_VERSION}"
                )))
            }
            None => return Err(self.error("the header has no schema version")),
        }
        serde_json::from_value(value).map_err(|e| self.error(format!("bad header ({e})")))
    }

    fn json_error(&self, e: &serde_json::Error) -> anyhow::Error {
        // serde_json says "... at line 1 column 7"; the line is ours to give.
        let text = e.to_string();
        let what = text
            .rfind(" at line ")
            .map_or(text.as_str(), |i| &text[..i]);
        let kind = if e.classify() == Category::Eof {
            "truncated record"
        } else {
            "not a trace record"
        };
        self.error(format!("{kind} ({what} at column {})", e.column()))
    }

    fn error(&self, msg: impl std::fmt::Display) -> anyhow::Error {
        bad_input(format!("{}:{}: {msg}", self.name, self.line))
    }
}

/// Refuse to write `out` over the trace being read (the same file by
/// another name included): the trace would be lost.
pub fn check_output(trace: &Path, out: &Path) -> Result<()> {
    if crate::paths::same_file(trace, out) {
        return Err(bad_input(format!(
            "'{}' is the trace being read; write the output to another file",
            out.display()
        )));
    }
    Ok(())
}

/// Stands in until the real header is read (never seen by callers).
fn placeholder_header() -> Header {
    Header {
        schema: 0,
        lde_version: String::new(),
        host_kernel: String::new(),
        kvm: crate::host::Kvm::Unknown,
        cpu_model: String::new(),
        tsc_khz: 0,
        mem_bytes: 0,
        kernel: String::new(),
        kernel_cmdline: String::new(),
        programs: Vec::new(),
        sched: Policy::Rr,
        quantum_us: 0,
        cpu_limit_us: None,
        timeout_ms: 0,
        argv: Vec::new(),
        started_unix_ms: 0,
    }
}

/// Synthetic traces for the tests of this module and its neighbours.
#[cfg(test)]
pub(crate) mod testing {
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::trace::record::*;

    /// A file under the temp folder that no other test (or test run) uses;
    /// removed when dropped.
    pub struct TempPath(pub PathBuf);

    impl TempPath {
        pub fn new(what: &str) -> TempPath {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            TempPath(
                std::env::temp_dir().join(format!("lde-test-{}-{n}-{what}", std::process::id())),
            )
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    pub fn header(programs: &[(u32, &str)]) -> Header {
        Header {
            schema: SCHEMA_VERSION,
            lde_version: "0.1.0".into(),
            host_kernel: "6.1.0".into(),
            kvm: crate::host::Kvm::Vmx,
            cpu_model: "Test CPU".into(),
            tsc_khz: 1_000_000,
            mem_bytes: 64 << 20,
            kernel: "embedded".into(),
            kernel_cmdline: String::new(),
            programs: programs
                .iter()
                .map(|&(pid, name)| ProgramInfo {
                    pid,
                    name: name.into(),
                    args: vec![],
                    ..Default::default()
                })
                .collect(),
            sched: Policy::Rr,
            quantum_us: 1000,
            cpu_limit_us: None,
            timeout_ms: 30_000,
            argv: vec![
                "lde".into(),
                "run".into(),
                "--program".into(),
                "spin:3".into(),
            ],
            started_unix_ms: 1_700_000_000_000,
        }
    }

    pub fn exit(t_ns: u64, handle_ns: u64, exit: ExitKind) -> Record {
        Record::Exit(ExitRecord {
            t_ns,
            vcpu: 0,
            handle_ns,
            exit,
        })
    }

    pub fn event(t_ns: u64, pid: u32, event: GuestEvent) -> Record {
        Record::Event(EventRecord {
            t_ns,
            tsc: t_ns,
            pid,
            event,
        })
    }

    pub fn switch(t_ns: u64, from: u32, to: u32, reason: &str) -> Record {
        event(
            t_ns,
            from,
            GuestEvent::Switch {
                to,
                reason: reason.parse().unwrap(),
            },
        )
    }

    pub fn syscall(t_ns: u64, pid: u32, nr: u64, name: &str, path: &str) -> Record {
        event(
            t_ns,
            pid,
            GuestEvent::Syscall {
                nr,
                name: name.into(),
                args: vec![1, 2, 3],
                result: 0,
                path: path.parse().unwrap(),
                cs: 0x33,
            },
        )
    }

    pub fn trap(t_ns: u64, pid: u32, vector: u64) -> Record {
        event(
            t_ns,
            pid,
            GuestEvent::Trap {
                vector,
                name: lde_abi::trace::vector_name(vector).into(),
                rip: 0x40_1000,
                error: 0,
                user: pid != 0,
                cr2: 0,
            },
        )
    }

    pub fn process(pid: u32, name: &str, end: ProcessEnd, figures: [u64; 4]) -> Record {
        let [cpu, arrival, first_run, end_tick] = figures;
        Record::Process(ProcessRecord {
            pid,
            name: name.into(),
            end,
            cpu_ticks: cpu,
            response_ticks: first_run - arrival,
            turnaround_ticks: end_tick - arrival,
            wait_ticks: end_tick - arrival - cpu,
            tick_ns: 1_000_000,
            arrival_tick: arrival,
            first_run_tick: first_run,
            end_tick,
            ..Default::default()
        })
    }

    /// A footer whose totals are computed from `records`, as `lde run`
    /// writes it.
    pub fn footer_for(records: &[Record]) -> Record {
        let mut by_reason: BTreeMap<String, ReasonTotals> = BTreeMap::new();
        let mut exits = 0;
        let mut events = 0;
        for r in records {
            match r {
                Record::Exit(e) => {
                    exits += 1;
                    let t = by_reason.entry(e.exit.reason().into()).or_default();
                    t.count += 1;
                    t.total_ns += e.handle_ns;
                }
                Record::Event(_) => events += 1,
                _ => {}
            }
        }
        Record::Footer(Footer {
            end: RunEnd::Exit,
            status: 0,
            message: "guest exited with status 0".into(),
            wall_ns: 50_000_000,
            exits,
            exits_by_reason: by_reason,
            kvm_stats: [
                ("exits".to_string(), exits + 100),
                ("halt_exits".to_string(), 7),
            ]
            .into(),
            guest_events: events,
            dropped_events: 0,
            bad_events: 0,
            records: records.len() as u64,
            not_written: 0,
        })
    }

    /// Write `records` one per line, as `lde run --trace` does.
    pub fn write_trace(what: &str, records: &[Record]) -> TempPath {
        let path = TempPath::new(what);
        let mut text = String::new();
        for r in records {
            text.push_str(&serde_json::to_string(r).unwrap());
            text.push('\n');
        }
        std::fs::write(&path.0, text).unwrap();
        path
    }

    /// Write raw text as a trace file.
    pub fn write_text(what: &str, text: &str) -> TempPath {
        let path = TempPath::new(what);
        std::fs::write(&path.0, text).unwrap();
        path
    }

    /// Three processes under round robin, 1 ms quantum: 1, 2, 3, 1, 2, 3,
    /// then 1 and 2 exit and 3 is killed. Returns the records (header to
    /// footer) and the expected runs as (pid, start, end).
    pub fn round_robin() -> (Vec<Record>, Vec<(u32, u64, u64)>) {
        const MS: u64 = 1_000_000;
        let mut r = vec![Record::Header(header(&[
            (1, "spin"),
            (2, "worker"),
            (3, "hog"),
        ]))];
        r.push(event(
            0,
            0,
            GuestEvent::Boot {
                tsc_khz: 1_000_000,
                quantum_us: 1000,
                sched: Policy::Rr,
                timer: true,
            },
        ));
        for (pid, name) in [(1, "spin"), (2, "worker"), (3, "hog")] {
            r.push(event(
                MS / 10,
                pid,
                GuestEvent::ProcCreate {
                    name: name.into(),
                    arrival_tick: 0,
                    length_ticks: 0,
                    tickets: 0,
                },
            ));
        }
        r.push(exit(
            MS / 5,
            2_000,
            ExitKind::IoOut {
                port: 0x3f8,
                size: 1,
                count: 1,
                value: b'h' as u64,
            },
        ));
        r.push(switch(MS / 2, 0, 1, "start"));
        r.push(syscall(MS, 1, 1, "write", "gate"));
        r.push(event(
            MS + MS / 2,
            1,
            GuestEvent::Tick {
                tick: 1,
                unaccounted: None,
            },
        ));
        r.push(switch(MS + MS / 2, 1, 2, "preempt"));
        r.push(syscall(2 * MS, 2, 24, "sched_yield", "ud"));
        r.push(switch(2 * MS, 2, 3, "yield"));
        r.push(trap(2 * MS + MS / 4, 3, 14));
        r.push(event(
            2 * MS + MS / 2,
            3,
            GuestEvent::Tick {
                tick: 2,
                unaccounted: None,
            },
        ));
        r.push(switch(2 * MS + MS / 2, 3, 1, "preempt"));
        r.push(exit(
            3 * MS,
            3_000,
            ExitKind::IoIn {
                port: 0x3fd,
                size: 1,
                count: 1,
                value: 0x60,
            },
        ));
        r.push(syscall(3 * MS, 1, 60, "exit", "gate"));
        r.push(event(3 * MS, 1, GuestEvent::ProcExit { code: 0, tick: 3 }));
        r.push(switch(3 * MS, 1, 2, "exit"));
        r.push(syscall(4 * MS, 2, 60, "exit", "gate"));
        r.push(event(4 * MS, 2, GuestEvent::ProcExit { code: 3, tick: 4 }));
        r.push(switch(4 * MS, 2, 3, "exit"));
        r.push(event(
            5 * MS,
            3,
            GuestEvent::ProcKill {
                reason: KillReason::LastHog,
                vector: 0,
                vector_name: "#DE divide error".into(),
                rip: 0,
                error: 0,
                addr: 0,
                tick: 5,
            },
        ));
        r.push(switch(5 * MS, 3, 0, "kill"));
        r.push(exit(
            6 * MS,
            1_000,
            ExitKind::IoOut {
                port: 0xf4,
                size: 4,
                count: 1,
                value: 0,
            },
        ));
        r.push(process(1, "spin", ProcessEnd::Exited(0), [2, 0, 0, 3]));
        r.push(process(2, "worker", ProcessEnd::Exited(3), [2, 0, 1, 4]));
        r.push(process(
            3,
            "hog",
            ProcessEnd::Killed(KillCause::LastHog),
            [2, 0, 2, 5],
        ));
        let footer = footer_for(&r);
        r.push(footer);
        let runs = vec![
            (1, MS / 2, MS + MS / 2),
            (2, MS + MS / 2, 2 * MS),
            (3, 2 * MS, 2 * MS + MS / 2),
            (1, 2 * MS + MS / 2, 3 * MS),
            (2, 3 * MS, 4 * MS),
            (3, 4 * MS, 5 * MS),
        ];
        (r, runs)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::error::exit_status;

    fn read_all(path: &Path) -> Result<Vec<Record>> {
        let mut reader = TraceReader::open(path)?;
        let mut out = vec![Record::Header(reader.header().clone())];
        while let Some(r) = reader.next_record()? {
            out.push(r);
        }
        Ok(out)
    }

    /// The error for a file, checked to be bad input (status 2).
    fn error_for(text: &str) -> String {
        let path = write_text("bad.jsonl", text);
        let err = read_all(&path.0).unwrap_err();
        assert_eq!(exit_status(&err), 2, "{err:#}");
        let msg = crate::error::one_line(&err);
        let name = path.0.display().to_string();
        assert!(msg.starts_with(&name), "{msg}");
        msg[name.len()..].to_string()
    }

    fn header_line() -> String {
        serde_json::to_string(&Record::Header(header(&[]))).unwrap()
    }

    #[test]
    fn reads_back_what_was_written() {
        let (records, _) = round_robin();
        let path = write_trace("rr.jsonl", &records);
        assert_eq!(read_all(&path.0).unwrap(), records);
        let mut reader = TraceReader::open(&path.0).unwrap();
        while reader.next_record().unwrap().is_some() {}
        assert!(reader.complete());
    }

    #[test]
    fn a_missing_file_is_bad_input() {
        let path = TempPath::new("missing.jsonl");
        let err = read_all(&path.0).unwrap_err();
        assert_eq!(exit_status(&err), 2);
        assert!(err.to_string().contains("cannot read trace file"), "{err}");
    }

    #[test]
    fn an_empty_file_is_bad_input() {
        assert_eq!(error_for(""), ": empty file, not an lde trace");
    }

    #[test]
    fn the_first_record_must_be_a_header() {
        let exit = serde_json::to_string(&exit(1, 1, crate::trace::record::ExitKind::Hlt)).unwrap();
        let msg = error_for(&format!("{exit}\n"));
        assert!(
            msg.starts_with(":1: the first record is not a header (its type is 'exit')"),
            "{msg}"
        );
        assert!(error_for("[1, 2]\n")
            .starts_with(":1: the first record is not a header (no record type)"));
        assert_eq!(
            error_for("hello\n"),
            ":1: not a trace record (expected value at column 1)"
        );
    }

    #[test]
    fn an_unknown_run_ending_is_bad_input_naming_the_line() {
        let (records, _) = round_robin();
        let Some(Record::Footer(f)) = records.last() else {
            panic!()
        };
        let footer = serde_json::to_string(&Record::Footer(f.clone()))
            .unwrap()
            .replace("\"end\":\"exit\"", "\"end\":\"melted\"");
        assert!(footer.contains("melted"));
        let msg = error_for(&format!("{}\n{footer}\n", header_line()));
        assert!(
            msg.starts_with(":2: not a trace record (unknown run ending \"melted\""),
            "{msg}"
        );
    }

    #[test]
    fn another_schema_version_is_refused() {
        let line = header_line().replace("\"schema\":1", "\"schema\":2");
        assert_eq!(
            error_for(&format!("{line}\n")),
            ":1: trace schema version 2, but this lde reads version 1"
        );
        let line = header_line().replace("\"schema\":1,", "");
        assert_eq!(
            error_for(&format!("{line}\n")),
            ":1: the header has no schema version"
        );
    }

    #[test]
    fn garbage_and_truncated_lines_name_their_line() {
        let (records, _) = round_robin();
        let good: Vec<String> = records[..4]
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        let text = format!("{}\n{}\n{}\ngarbage here\n", good[0], good[1], good[2]);
        assert_eq!(
            error_for(&text),
            ":4: not a trace record (expected value at column 1)"
        );
        // Cut in the middle but followed by more: damage, not a kill.
        let cut = &good[3][..good[3].len() / 2];
        let text = format!("{}\n{}\n{cut}\n{}\n", good[0], good[1], good[2]);
        assert!(error_for(&text).starts_with(":3: truncated record (EOF while parsing"));
        let text = format!("{}\n{{\"type\":\"nonsense\"}}\n", good[0]);
        assert!(error_for(&text).starts_with(":2: not a trace record (unknown variant `nonsense`"));
        let text = format!("{}\n{{\"type\":\"exit\",\"t_ns\":1}}\n", good[0]);
        assert!(error_for(&text).starts_with(":2: not a trace record (missing field"));
        let text = format!("{}\n\n{}\n", good[0], good[1]);
        assert_eq!(error_for(&text), ":2: empty line, not a trace record");
        let text = format!("{}\n{} trailing\n", good[0], good[1]);
        assert!(error_for(&text).starts_with(":2: not a trace record (trailing characters"));
        let text = format!("{}\n\u{0}\u{1}\u{ff}\n", good[0]);
        assert!(error_for(&text).starts_with(":2: not a trace record"));
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_panic() {
        let path = TempPath::new("binary.jsonl");
        let mut bytes = header_line().into_bytes();
        bytes.extend_from_slice(b"\n{\"type\":\"\xff\xfe\"}\n");
        std::fs::write(&path.0, bytes).unwrap();
        let err = read_all(&path.0).unwrap_err();
        assert!(err.to_string().contains(":2: not a trace record"), "{err}");
    }

    #[test]
    fn records_out_of_place_are_refused() {
        let (records, _) = round_robin();
        let lines: Vec<String> = records
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        let text = format!("{}\n{}\n", lines[0], lines[0]);
        assert_eq!(error_for(&text), ":2: a second header");
        let footer = lines.last().unwrap();
        let text = format!("{}\n{footer}\n{}\n", lines[0], lines[1]);
        assert_eq!(error_for(&text), ":3: a record after the footer");
    }

    #[test]
    fn a_trace_without_footer_reads_but_is_incomplete() {
        let (records, _) = round_robin();
        let path = write_trace("nofooter.jsonl", &records[..10]);
        let mut reader = TraceReader::open(&path.0).unwrap();
        let mut n = 1;
        while reader.next_record().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 10);
        assert!(!reader.complete());
    }

    #[test]
    fn a_cut_last_line_is_skipped_when_there_is_no_footer() {
        let (records, _) = round_robin();
        let mut text: String = records[..10]
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect();
        let next = serde_json::to_string(&records[10]).unwrap();
        text.push_str(&next[..next.len() / 2]);
        let path = write_text("torn.jsonl", &text);
        let mut reader = TraceReader::open(&path.0).unwrap();
        let mut n = 1;
        while reader.next_record().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 10);
        assert!(reader.torn() && !reader.complete());
        // A cut line with its line end is damage, not a kill: an error.
        let path = write_text("cut.jsonl", &format!("{text}\n"));
        assert!(read_all(&path.0).is_err());
    }

    #[test]
    fn the_output_may_not_be_the_trace() {
        let (records, _) = round_robin();
        let trace = write_trace("self.jsonl", &records);
        let err = check_output(&trace.0, &trace.0).unwrap_err();
        assert_eq!(exit_status(&err), 2);
        let dotted = trace
            .0
            .parent()
            .unwrap()
            .join(".")
            .join(trace.0.file_name().unwrap());
        assert!(check_output(&trace.0, &dotted).is_err());
        assert!(check_output(&trace.0, &TempPath::new("other.svg").0).is_ok());
    }

    #[test]
    fn a_file_without_newlines_is_not_read_whole() {
        let reader = TraceReader::new(
            BufReader::new(std::io::repeat(b'x').take(MAX_LINE as u64 * 2)),
            "huge",
        );
        let err = reader.err().unwrap();
        assert_eq!(
            err.to_string(),
            "huge:1: line longer than 16 MiB, not a trace record"
        );
    }
}
