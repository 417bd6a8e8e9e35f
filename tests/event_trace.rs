//! Issue "Exit traces you can inspect": guest events and VMM exits on one
//! timeline, complete on every ending, drops reported. Real VMs on /dev/kvm.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{footer, lde_run_alone, read_trace, require_kvm, temp_path};
use lde::trace::record::{GuestEvent, Record, RunEnd};

fn t_ns(r: &Record) -> Option<u64> {
    match r {
        Record::Exit(e) => Some(e.t_ns),
        Record::Event(e) => Some(e.t_ns),
        _ => None,
    }
}

#[test]
fn exits_and_guest_events_share_one_timeline_in_order() {
    let r = lde_run_alone(&["-p", "worker:A,2", "-p", "worker:B,2"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(matches!(r.records.first(), Some(Record::Header(_))));
    assert!(matches!(r.records.last(), Some(Record::Footer(_))));
    let times: Vec<u64> = r.records.iter().filter_map(t_ns).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "records are in time order"
    );
    let kinds: std::collections::BTreeSet<&str> = r.events().map(|e| e.event.kind()).collect();
    for k in [
        "boot",
        "proc_create",
        "proc_first_run",
        "switch",
        "syscall",
        "tick",
        "proc_exit",
        "proc_stats",
    ] {
        assert!(kinds.contains(k), "no {k} event in {kinds:?}");
    }
    let f = r.footer();
    assert_eq!(f.guest_events as usize, r.events().count());
    assert_eq!(f.dropped_events, 0);
}

#[test]
fn a_ring_too_small_reports_its_drops() {
    let r = lde_run_alone(&["-p", "worker:A,2", "--guest-ring", "128"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let f = r.footer();
    assert!(f.dropped_events > 0, "a one-slot ring must drop: {f:?}");
    assert!(
        r.stderr
            .contains(&format!("{} dropped (ring full)", f.dropped_events)),
        "{}",
        r.stderr
    );
    // The trace summary reports them too.
    let path = temp_path("small-ring", "jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_lde"))
        .args(["run", "-p", "worker:A,2", "--guest-ring", "128", "--trace"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let summary = Command::new(env!("CARGO_BIN_EXE_lde"))
        .args(["trace", "summary"])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&summary.stdout);
    assert!(text.contains("dropped"), "{text}");
}

/// An eight-slot ring (64-byte header + 8 slots) wraps around dozens of
/// times: every slot the kernel marks reaches the trace once, in order,
/// the half-full doorbell keeps it from filling, and each system call
/// carries the arguments it takes.
#[test]
fn a_small_ring_wraps_without_losing_or_repeating_an_event() {
    let r = lde_run_alone(&["-p", "trapbench:getpid,300", "--guest-ring", "576"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let f = r.footer();
    assert_eq!((f.dropped_events, f.bad_events), (0, 0), "{f:?}");
    assert_eq!(f.guest_events as usize, r.events().count());
    let calls: Vec<(u64, &[u64], i64)> = r
        .events()
        .filter_map(|e| match &e.event {
            GuestEvent::Syscall {
                nr, args, result, ..
            } => Some((*nr, args.as_slice(), *result)),
            _ => None,
        })
        .collect();
    let getpids = calls.iter().filter(|c| c.0 == 39).count();
    assert_eq!(getpids, 300, "every getpid, once");
    assert!(calls
        .iter()
        .filter(|c| c.0 == 39)
        .all(|&(_, args, result)| args.is_empty() && result == 1));
    assert_eq!(
        calls.last().map(|c| (c.0, c.1)),
        Some((60, &[0][..])),
        "exit(0)"
    );
    // getpid's event takes its mark whole from the arrival (syscall.rs
    // `Arrival`), every other call's is built from the path: they agree,
    // and every call came from ring 3.
    let routes: Vec<_> = r
        .events()
        .filter_map(|e| match &e.event {
            GuestEvent::Syscall { path, cs, .. } => Some((*path, *cs & 3)),
            _ => None,
        })
        .collect();
    let odd = routes.iter().find(|&&route| route != (routes[0].0, 3));
    assert_eq!(
        odd, None,
        "one path, from user mode; the first: {:?}",
        routes[0]
    );
    let tscs: Vec<u64> = r.events().map(|e| e.tsc).collect();
    assert!(tscs.windows(2).all(|w| w[0] <= w[1]), "in ring order");
}

#[test]
fn ctrl_c_leaves_a_complete_trace() {
    require_kvm();
    let path = temp_path("sigint", "jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lde"))
        .args([
            "run",
            "-p",
            "hog",
            "-p",
            "worker:A,2",
            "--sched",
            "coop",
            "--timeout",
            "60s",
            "--trace",
        ])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Under coop the hog keeps the machine until the watchdog (60 s). Wait
    // until it says it is spinning (its line went out through exits the
    // trace records), then Ctrl-C.
    let mut console = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = console.read_line(&mut line).unwrap();
        assert!(n > 0, "lde ended before the hog started:\n{seen}");
        seen.push_str(&line);
        if line.starts_with("hog: spinning forever") {
            break;
        }
    }
    // SAFETY: kill(2) on our own child's pid with SIGINT.
    let rc = unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(rc, 0);
    // Status 130 (not the watchdog's 124) shows that Ctrl-C stopped it.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let records = read_trace(&path);
    let _ = std::fs::remove_file(&path);
    assert!(matches!(records.first(), Some(Record::Header(_))));
    let f = footer(&records);
    assert_eq!(f.end, RunEnd::Interrupted);
    assert_eq!(f.records as usize, records.len() - 1);
    assert!(records.iter().any(|r| matches!(r, Record::Exit(_))));
    assert!(
        records.iter().any(|r| matches!(r, Record::Process(_))),
        "process table written"
    );
}

#[test]
fn the_3_5_2_schedule_shows_in_the_perfetto_export() {
    let path = temp_path("rr352", "jsonl");
    let json = temp_path("rr352", "json");
    require_kvm();
    let out = Command::new(env!("CARGO_BIN_EXE_lde"))
        .args([
            "run",
            "-p",
            "spin:3",
            "-p",
            "spin:5",
            "-p",
            "spin:2",
            "--quantum",
            "20ms",
            "--trace",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let records = read_trace(&path);
    let runs: Vec<u32> = records
        .iter()
        .filter_map(|r| match r {
            Record::Event(e) => match e.event {
                GuestEvent::Switch { to, .. } if to != 0 => Some(to),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(&runs[..7], &[1, 2, 3, 1, 2, 3, 1]);
    let export = Command::new(env!("CARGO_BIN_EXE_lde"))
        .args(["trace", "export"])
        .arg(&path)
        .arg("--perfetto")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&json);
    let mut slices: Vec<(f64, u64)> = doc["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "X" && (1..=3).contains(&e["pid"].as_u64().unwrap_or(0)))
        .map(|e| (e["ts"].as_f64().unwrap(), e["pid"].as_u64().unwrap()))
        .collect();
    slices.sort_by(|a, b| a.0.total_cmp(&b.0));
    let order: Vec<u64> = slices.iter().map(|s| s.1).collect();
    assert_eq!(&order[..7], &[1, 2, 3, 1, 2, 3, 1], "{order:?}");
}
