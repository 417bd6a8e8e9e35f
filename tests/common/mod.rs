//! Helpers shared by the integration tests: run the real `lde` binary on
//! /dev/kvm, give it files, and read what it wrote.
//!
//! The tests never skip: on a host without a usable /dev/kvm every test that
//! needs one fails and says why.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use lde::trace::record::{
    EventRecord, Footer, GuestEvent, KillReason, ProcessEnd, ProcessRecord, Record,
};
use lde_abi::exit::status;

/// The binary under test.
pub const LDE: &str = env!("CARGO_BIN_EXE_lde");

/// Fail loudly (never skip) when this host cannot run VMs.
pub fn require_kvm() {
    let dev = Path::new("/dev/kvm");
    assert!(
        dev.exists(),
        "/dev/kvm does not exist: these tests boot real VMs and need KVM \
         (on GitHub Actions, enable it with the udev rule in .github/workflows/ci.yml)"
    );
    if let Err(e) = std::fs::OpenOptions::new().read(true).write(true).open(dev) {
        panic!("/dev/kvm cannot be opened read/write ({e}): add this user to the kvm group or run as root");
    }
}

/// A fresh path in the temp folder, unique to this test process and call
/// (tests run in parallel). Nothing is created.
pub fn temp_path(tag: &str, ext: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "lde-test-{}-{}-{tag}.{ext}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// A [`temp_path`] that is removed when dropped.
pub struct TempFile(PathBuf);

impl TempFile {
    /// A name for a file that does not exist yet.
    pub fn new(tag: &str, ext: &str) -> TempFile {
        TempFile(temp_path(tag, ext))
    }

    /// A file holding `bytes`.
    pub fn with_bytes(tag: &str, ext: &str, bytes: &[u8]) -> TempFile {
        let f = TempFile::new(tag, ext);
        std::fs::write(&f.0, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", f.0.display()));
        f
    }

    /// The path as a command-line argument.
    pub fn arg(&self) -> &str {
        self.0.to_str().expect("temp paths are UTF-8")
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What one `lde` invocation did.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    /// The trace records, for runs started with [`lde_run`].
    pub records: Vec<Record>,
    pub elapsed: Duration,
}

impl Run {
    /// Everything the run printed, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "status {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }

    /// The trace's footer (its last record), or a failed test.
    pub fn footer(&self) -> &Footer {
        footer(&self.records)
    }

    pub fn events(&self) -> impl Iterator<Item = &EventRecord> {
        self.records.iter().filter_map(|r| match r {
            Record::Event(e) => Some(e),
            _ => None,
        })
    }

    pub fn processes(&self) -> Vec<&ProcessRecord> {
        self.records
            .iter()
            .filter_map(|r| match r {
                Record::Process(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    pub fn process(&self, pid: u32) -> &ProcessRecord {
        self.processes()
            .into_iter()
            .find(|p| p.pid == pid)
            .unwrap_or_else(|| panic!("no process record for pid {pid}\n{}", self.stderr))
    }

    /// The KVM flavour from the trace header (pvm, vmx, svm).
    pub fn kvm(&self) -> lde::host::Kvm {
        match &self.records[0] {
            Record::Header(h) => h.kvm,
            _ => panic!("first record is not the header"),
        }
    }

    /// The vector and error code of the fault that killed process `pid`.
    pub fn kill_fault(&self, pid: u32) -> Option<(u64, u64)> {
        self.events().find_map(|e| match &e.event {
            GuestEvent::ProcKill {
                vector,
                error,
                reason: KillReason::Fault,
                ..
            } if e.pid == pid => Some((*vector, *error)),
            _ => None,
        })
    }

    pub fn assert_no_panic(&self) {
        assert!(
            !self.stdout.contains("KERNEL PANIC") && self.status != 103,
            "kernel panicked:\n{}\n{}",
            self.stdout,
            self.stderr
        );
    }

    pub fn exited(&self, pid: u32, code: i64) -> bool {
        self.process(pid).end == ProcessEnd::Exited(code)
    }
}

/// Run like [`lde_run`], but with no other VM of this test binary running
/// at the same time: for tests that measure time on a 2-core machine.
pub fn lde_run_alone(args: &[&str]) -> Run {
    static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    lde_run(args)
}

/// Run `lde run --trace T ARGS` on KVM, wait, and parse the trace (none
/// when lde refused to start).
pub fn lde_run(args: &[&str]) -> Run {
    require_kvm();
    let trace = TempFile::new("trace", "jsonl");
    let mut full = vec!["run", "--trace", trace.arg()];
    // lde's default watchdog (30 s) is for people; a test waits for its
    // run to end, however slow the CPU (nested in QEMU's TCG, 16 programs
    // took over 30 s), unless it tests the watchdog itself.
    if !args.contains(&"--timeout") {
        full.extend_from_slice(&["--timeout", "10m"]);
    }
    full.extend_from_slice(args);
    let mut run = lde(&full);
    if trace.path().exists() {
        run.records = read_trace(trace.path());
    }
    run
}

/// `lde` with the environment that could change its output removed; with
/// backtraces on, a panic in lde shows one on stderr and fails the
/// one-line checks.
pub fn lde_command() -> Command {
    let mut cmd = Command::new(LDE);
    cmd.env_remove("LDE_KVM_DEVICE")
        .env_remove("RUST_LOG")
        .env("RUST_BACKTRACE", "1");
    cmd
}

/// Run `lde ARGS` with extra environment variables.
pub fn lde_with_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = lde_command();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {LDE}: {e}"));
    finish(out, start.elapsed())
}

/// Run `lde ARGS` (no trace unless ARGS ask for one).
pub fn lde(args: &[&str]) -> Run {
    lde_with_env(args, &[])
}

/// Run `lde ARGS` and insist that it succeeds; returns stdout.
pub fn lde_ok(args: &[&str]) -> String {
    let run = lde(args);
    assert_eq!(run.status, 0, "lde {args:?}: {}", run.describe());
    run.stdout
}

fn finish(out: Output, elapsed: Duration) -> Run {
    Run {
        status: out.status.code().expect("lde was killed by a signal"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        records: Vec::new(),
        elapsed,
    }
}

/// Read a trace file: it must end with a newline, and every line must be
/// one record.
pub fn read_trace(path: &Path) -> Vec<Record> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading trace {}: {e}", path.display()));
    assert!(
        text.ends_with('\n'),
        "the trace {} does not end with a newline",
        path.display()
    );
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("trace line {} is not a record ({e}): {l}", i + 1))
        })
        .collect()
}

/// A refusal of bad input: status 2 and exactly one line on stderr that
/// contains `phrase`, without a panic or a backtrace.
pub fn assert_bad_input(run: &Run, phrase: &str) {
    assert_eq!(
        run.status,
        status::BAD_INPUT,
        "expected status 2 (bad input)\n{}",
        run.describe()
    );
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "expected exactly one line on stderr\n{}",
        run.describe()
    );
    let lower = run.stderr.to_lowercase();
    assert!(
        !lower.contains("panicked") && !lower.contains("backtrace"),
        "stderr shows a panic\n{}",
        run.describe()
    );
    assert!(
        run.stderr.contains(phrase),
        "stderr does not say '{phrase}'\n{}",
        run.describe()
    );
}

/// The footer a trace ends with, or a failed test.
pub fn footer(records: &[Record]) -> &Footer {
    match records.last() {
        Some(Record::Footer(f)) => f,
        other => panic!("the last record is not the footer: {other:?}"),
    }
}
