//! The record is complete however the run ends: killed (`kill -9`), hung up
//! (SIGHUP), capped (`--trace-max`), with its stdout and stderr closed, or
//! writing to odd files (`/dev/null`, `/dev/full`, a deleted directory).
//! These spawn `lde`, wait for a condition (a record in the trace), then act.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{footer, read_trace, require_kvm, temp_path};
use lde::trace::record::{Record, RunEnd};

/// `lde run` with a hog under coop: it never ends by itself (watchdog at
/// 120 s), so the test decides when it ends.
fn spawn_endless(trace: &Path, extra: &[&str]) -> Child {
    require_kvm();
    Command::new(env!("CARGO_BIN_EXE_lde"))
        .args(["run", "-p", "hog", "--sched", "coop", "--timeout", "120s"])
        .args(extra)
        .arg("--trace")
        .arg(trace)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running lde")
}

/// Wait until the trace file holds a line containing `what` (the condition
/// these tests act on); fail after a minute, which only a broken writer
/// (nothing flushed while the guest runs) would take.
fn wait_for_line(trace: &Path, what: &str) {
    let start = Instant::now();
    loop {
        let text = std::fs::read(trace).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        if text.lines().any(|l| l.contains(what) && l.ends_with('}')) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no record with {what} reached {} in a minute: the trace is not flushed while the guest runs",
            trace.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(rc, 0);
}

fn lde_trace_summary(trace: &Path) -> (i32, String, String) {
    let run = common::lde(&["trace", "summary", trace.to_str().unwrap()]);
    (run.status, run.stdout, run.stderr)
}

#[test]
fn kill_9_leaves_whole_records_that_the_readers_summarise() {
    let trace = temp_path("kill9", "jsonl");
    let mut child = spawn_endless(&trace, &[]);
    // The hog has run: its first-run event is in the file.
    wait_for_line(&trace, "\"kind\":\"proc_first_run\"");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let bytes = std::fs::read(&trace).unwrap();
    assert!(!bytes.is_empty());
    assert_eq!(
        bytes.last(),
        Some(&b'\n'),
        "the file ends with a whole record"
    );
    let records = read_trace(&trace); // panics on a line that is not a record
    assert!(matches!(records.first(), Some(Record::Header(_))));
    assert!(!records.iter().any(|r| matches!(r, Record::Footer(_))));
    let (status, stdout, stderr) = lde_trace_summary(&trace);
    let _ = std::fs::remove_file(&trace);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.contains("hog"), "{stdout}");
    assert!(stderr.contains("no footer"), "{stderr}");
}

#[test]
fn sighup_ends_the_run_like_ctrl_c_with_a_complete_trace() {
    let trace = temp_path("sighup", "jsonl");
    let child = spawn_endless(&trace, &[]);
    wait_for_line(&trace, "\"kind\":\"proc_first_run\"");
    signal(&child, libc::SIGHUP);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let records = read_trace(&trace);
    let _ = std::fs::remove_file(&trace);
    let f = footer(&records);
    assert_eq!(f.end, RunEnd::Interrupted);
    assert!(records.iter().any(|r| matches!(r, Record::Process(_))));
}

#[test]
fn trace_max_counts_what_it_does_not_write() {
    require_kvm();
    let trace = temp_path("cap", "jsonl");
    // 5,000 exits of about 100 bytes each: far past 64 KiB.
    let out = Command::new(env!("CARGO_BIN_EXE_lde"))
        .args(["run", "--trace-max", "64K", "--trace"])
        .arg(&trace)
        .args(["--", "exitbench=5000"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("reached --trace-max"), "{stderr}");
    let size = std::fs::metadata(&trace).unwrap().len();
    let records = read_trace(&trace);
    let f = footer(&records);
    // Only the closing records (process table, footer) pass the cap.
    assert!(size <= (64 << 10) + 4096, "{size} bytes");
    assert!(f.not_written > 4000, "{}", f.not_written);
    let exits = records
        .iter()
        .filter(|r| matches!(r, Record::Exit(_)))
        .count() as u64;
    let events = records
        .iter()
        .filter(|r| matches!(r, Record::Event(_)))
        .count() as u64;
    assert_eq!(exits + events + f.not_written, f.exits + f.guest_events);
    let (status, _, stderr) = lde_trace_summary(&trace);
    let _ = std::fs::remove_file(&trace);
    assert_eq!(status, 0);
    assert!(stderr.contains("--trace-max"), "{stderr}");
}

#[test]
fn closed_stdout_and_stderr_never_stop_the_run_or_lose_its_files() {
    require_kvm();
    let trace = temp_path("epipe", "jsonl");
    let svg = temp_path("epipe", "svg");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lde"))
        .args(["run", "-p", "hello", "--trace"])
        .arg(&trace)
        .arg("--timeline")
        .arg(&svg)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close our ends at once: every write lde makes gets EPIPE (as with
    // `lde run 2>&1 | head -1` once head has gone).
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    let records = read_trace(&trace);
    let drawn = std::fs::read_to_string(&svg).unwrap_or_default();
    let _ = std::fs::remove_file(&trace);
    let _ = std::fs::remove_file(&svg);
    assert_eq!(status.code(), Some(0), "no panic (101)");
    assert!(matches!(records.last(), Some(Record::Footer(_))));
    assert!(drawn.trim_end().ends_with("</svg>"), "timeline complete");
}

#[test]
fn a_trace_to_dev_null_is_fine() {
    require_kvm();
    let out = Command::new(env!("CARGO_BIN_EXE_lde"))
        .args(["run", "-p", "hello", "--trace", "/dev/null"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn a_timeline_to_a_full_disk_is_an_io_error() {
    require_kvm();
    let out = Command::new(env!("CARGO_BIN_EXE_lde"))
        .args(["run", "-p", "hello", "--timeline", "/dev/full"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left"), "{stderr}");
}

#[test]
fn a_deleted_trace_directory_keeps_the_real_ending_status() {
    let dir: PathBuf = temp_path("gone", "d");
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("run.jsonl");
    let svg = dir.join("run.svg");
    let child = spawn_endless(&trace, &["--timeline", svg.to_str().unwrap()]);
    wait_for_line(&trace, "\"kind\":\"proc_first_run\"");
    std::fs::remove_dir_all(&dir).unwrap();
    signal(&child, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The run was interrupted (130); the timeline it could not draw is
    // reported too, without hiding that.
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("drawing the timeline"), "{stderr}");
}
