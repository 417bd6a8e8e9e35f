//! Helpers shared by the integration tests: run the real `lde` binary on
//! /dev/kvm and read what it wrote.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use lde::trace::record::{EventRecord, GuestEvent, ProcessEnd, ProcessRecord, Record};

/// Fail loudly (never skip) when the machine has no KVM.
pub fn require_kvm() {
    let kvm = std::path::Path::new("/dev/kvm");
    assert!(
        kvm.exists(),
        "/dev/kvm is missing: these tests boot real VMs and must run on a KVM host"
    );
}

/// A fresh path in the temp folder for this test process.
pub fn temp_path(tag: &str, ext: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "lde-test-{}-{}-{tag}.{ext}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub records: Vec<Record>,
}

impl Run {
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
    pub fn kvm(&self) -> String {
        match &self.records[0] {
            Record::Header(h) => h.kvm.clone(),
            _ => panic!("first record is not the header"),
        }
    }

    /// The vector and error code of the fault that killed process `pid`.
    pub fn kill_fault(&self, pid: u32) -> Option<(u64, u64)> {
        self.events().find_map(|e| match &e.event {
            GuestEvent::ProcKill {
                vector,
                error,
                reason,
                ..
            } if e.pid == pid && reason == "fault" => Some((*vector, *error)),
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

/// Run `lde run ARGS --trace T`, wait, and parse the trace.
pub fn lde_run(args: &[&str]) -> Run {
    require_kvm();
    let trace = temp_path("trace", "jsonl");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lde"));
    cmd.arg("run").arg("--trace").arg(&trace).args(args);
    // lde's default watchdog (30 s) is for people; a test waits for its
    // run to end, however slow the CPU (nested in QEMU's TCG, 16 programs
    // took over 30 s), unless it tests the watchdog itself.
    if !args.contains(&"--timeout") {
        cmd.args(["--timeout", "10m"]);
    }
    let out = cmd.output().expect("running lde");
    let records = read_trace(&trace);
    let _ = std::fs::remove_file(&trace);
    finish(out, records)
}

/// Run `lde ARGS` with no trace.
pub fn lde(args: &[&str]) -> Run {
    require_kvm();
    let out = Command::new(env!("CARGO_BIN_EXE_lde"))
        .args(args)
        .output()
        .expect("running lde");
    finish(out, Vec::new())
}

fn finish(out: Output, records: Vec<Record>) -> Run {
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        records,
    }
}

pub fn read_trace(path: &std::path::Path) -> Vec<Record> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("trace line {}: {e}: {l}", i + 1))
        })
        .collect()
}
