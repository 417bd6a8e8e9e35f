//! Issue "Processes and scheduling": context switches, timer preemption,
//! cooperative mode. Every test boots real VMs on /dev/kvm.

mod common;

use common::lde_run_alone as lde_run;
use lde::trace::record::{GuestEvent, KillCause, ProcessEnd, SwitchReason};

/// The order in which workers A and B printed their steps.
fn worker_order(stdout: &str) -> String {
    stdout
        .lines()
        .filter_map(|l| l.strip_suffix("/4").and_then(|l| l.split(": step ").next()))
        .collect()
}

/// How many times the printing worker changes.
fn alternations(order: &str) -> usize {
    order.as_bytes().windows(2).filter(|w| w[0] != w[1]).count()
}

#[test]
fn workers_interleave_under_round_robin() {
    let r = lde_run(&["-p", "worker:A,4", "-p", "worker:B,4", "--sched", "rr"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let order = worker_order(&r.stdout);
    assert_eq!(order.len(), 8, "{}", r.stdout);
    assert!(alternations(&order) >= 3, "rr interleaves: {order}");
    let preempts = r
        .events()
        .filter(|e| {
            matches!(
                &e.event,
                GuestEvent::Switch {
                    reason: SwitchReason::Preempt,
                    ..
                }
            )
        })
        .count();
    assert!(preempts >= 3, "the timer took the CPU back: {preempts}");
}

#[test]
fn workers_do_not_interleave_under_coop_or_fifo() {
    for sched in ["coop", "fifo"] {
        let r = lde_run(&["-p", "worker:A,4", "-p", "worker:B,4", "--sched", sched]);
        assert_eq!(r.status, 0, "{sched}: {}", r.stderr);
        assert_eq!(
            worker_order(&r.stdout),
            "AAAABBBB",
            "{sched}:\n{}",
            r.stdout
        );
        assert!(
            !r.events().any(|e| matches!(
                &e.event,
                GuestEvent::Switch {
                    reason: SwitchReason::Preempt,
                    ..
                }
            )),
            "{sched} never preempts"
        );
    }
    // coop has no timer at all: not a single tick.
    let r = lde_run(&["-p", "worker:A,2", "--sched", "coop"]);
    assert_eq!(
        r.events()
            .filter(|e| matches!(e.event, GuestEvent::Tick { .. }))
            .count(),
        0
    );
}

#[test]
fn a_hog_under_coop_holds_the_machine_until_the_watchdog() {
    let r = lde_run(&[
        "-p",
        "hog",
        "-p",
        "worker:A,2",
        "--sched",
        "coop",
        // Long enough for the kernel to boot and start the hog on a slow
        // CPU (nested in QEMU's TCG under load, 1.5 s was not).
        "--timeout",
        "5s",
    ]);
    assert_eq!(r.status, 124, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("process hog (pid 1) held the CPU since its last trap"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("A: step"), "worker A never ran");
    assert_eq!(r.process(2).end, ProcessEnd::Running);
}

#[test]
fn a_hog_under_rr_does_not_stop_the_others() {
    let r = lde_run(&["-p", "hog", "-p", "worker:A,3", "-p", "worker:B,3"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.exited(2, 0) && r.exited(3, 0), "{}", r.stdout);
    assert_eq!(r.process(1).end, ProcessEnd::Killed(KillCause::LastHog));
    // The hog ended after the others, once it had run 50 ticks alone.
    let others = r.process(2).end_tick.max(r.process(3).end_tick);
    assert!(r.process(1).end_tick >= others + 50, "{}", r.stderr);
}

#[test]
fn a_long_job_that_shared_the_cpu_is_no_hog() {
    // A CPU-bound job without system calls that outlives the others (the
    // last of three `crunch`es) is no hog for the ticks it shared the CPU:
    // the hog rule counts only the ticks it then runs alone. Here the hog
    // runs some 60 ticks beside `spin:60` (a job of known length, which the
    // rule leaves alone), more than the rule's 50, and is not ended when
    // spin is, but 50 ticks later. Ticks, not time: a slow CPU changes
    // nothing.
    let r = lde_run(&["-p", "hog", "-p", "spin:60"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.exited(2, 0), "{}", r.stdout);
    let (hog, spin) = (r.process(1), r.process(2));
    assert_eq!(hog.end, ProcessEnd::Killed(KillCause::LastHog));
    assert!(hog.end_tick >= spin.end_tick + 50, "{}", r.stderr);
    assert!(
        hog.cpu_ticks >= 100,
        "the hog ran 50 ticks beside spin, then 50 alone: {hog:?}"
    );
    assert!(
        r.stdout
            .contains("it has run 50 ticks alone without a system call"),
        "{}",
        r.stdout
    );
}

#[test]
fn cpu_limit_kills_a_process_over_its_cpu_time() {
    let r = lde_run(&["-p", "hog", "-p", "hello", "--cpu-limit", "50ms"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_eq!(r.process(1).end, ProcessEnd::Killed(KillCause::CpuLimit));
    assert_eq!(r.process(1).cpu_ticks, 5, "50 ms of 10 ms ticks");
}

#[test]
fn a_cpu_budget_asked_for_during_quiet_ticks_still_ends_the_job_on_time() {
    // hog 6 3: alone on the CPU, its ticks are quiet ones (timer.rs) from
    // the first that keeps it; after 3 of them it asks for a budget of 6,
    // which must end it at its 6th tick, not at the CPU limit's 50th.
    let r = lde_run(&["-p", "hog:6,3", "--cpu-limit", "500ms"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.exited(1, 0), "{}", r.stdout);
    assert_eq!(r.process(1).cpu_ticks, 6, "{}", r.stdout);
}

/// Preemptions of two jobs of exactly `ticks` ticks of CPU each (`spin`
/// asks the kernel for a CPU budget), so the work is the same on any CPU.
fn preemptions(ticks: u32, quantum: &str) -> usize {
    let job = format!("spin:{ticks}");
    let r = lde_run(&["-p", &job, "-p", &job, "--quantum", quantum]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.exited(1, 0) && r.exited(2, 0), "{}", r.stdout);
    r.events()
        .filter(|e| {
            matches!(
                &e.event,
                GuestEvent::Switch {
                    reason: SwitchReason::Preempt,
                    ..
                }
            )
        })
        .count()
}

#[test]
fn halving_the_quantum_roughly_doubles_the_switches() {
    // 60 ms of CPU per job either way: 3 ticks of 20 ms, 6 of 10 ms. The
    // two alternate at every tick and the first to finish leaves by exit:
    // 2n - 2 preemptions for jobs of n ticks (4 and 10), one more for each
    // tick that fell during a switch (charged to nobody) on a loaded host.
    let at_20 = preemptions(3, "20ms");
    let at_10 = preemptions(6, "10ms");
    let ratio = at_10 as f64 / at_20.max(1) as f64;
    assert!(
        (1.6..=3.0).contains(&ratio),
        "preemptions: {at_20} at 20 ms, {at_10} at 10 ms (ratio {ratio:.2})"
    );
}

#[test]
fn round_robin_job_list_3_5_2_matches_the_arithmetic() {
    // OSTEP: jobs of 3, 5 and 2 ticks, all arriving at 0, quantum 1 tick.
    // Slots: A B C A B C A B B B -> responses 0 1 2, turnarounds 7 10 6.
    let r = lde_run(&[
        "-p",
        "spin:3",
        "-p",
        "spin:5",
        "-p",
        "spin:2",
        "--quantum",
        "50ms",
    ]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let expect = [(1, 3, 0, 7), (2, 5, 1, 10), (3, 2, 2, 6)];
    for (pid, cpu, response, turnaround) in expect {
        let p = r.process(pid);
        assert_eq!(p.end, ProcessEnd::Exited(0));
        assert_eq!(p.cpu_ticks, cpu, "pid {pid} cpu");
        assert!(
            p.response_ticks.abs_diff(response) <= 1,
            "pid {pid}: response {p:?}"
        );
        assert!(
            p.turnaround_ticks.abs_diff(turnaround) <= 1,
            "pid {pid}: turnaround {p:?}"
        );
    }
    // Run intervals in the trace follow the same order.
    let order: Vec<u32> = r
        .events()
        .filter_map(|e| match e.event {
            GuestEvent::Switch { to, .. } if to != 0 => Some(to),
            _ => None,
        })
        .collect();
    assert_eq!(&order[..7], &[1, 2, 3, 1, 2, 3, 1], "{order:?}");
}

/// A number after `key=` in a line (`ticks=7`).
fn field(line: &str, key: &str) -> u64 {
    line.split(&format!("{key}="))
        .nth(1)
        .and_then(|rest| rest.split([' ', ':']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

#[test]
fn sleep_blocks_for_its_time_and_the_cpu_idles() {
    let r = lde_run(&["-p", "sleeper:5"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    // Ticks, in the trace, exactly: `sleep_ticks(5)` at tick K sleeps until
    // K + 5 and wakes at that very tick (nothing else runs); the kernel
    // rounds `sleep_ns(15 ms)` up to 2 ticks of 10 ms.
    let (mut tick, mut khz) = (0, 0);
    let mut tick_tsc = std::collections::HashMap::new();
    let mut slept = Vec::new();
    let mut wakes = Vec::new();
    for e in r.events() {
        match e.event {
            GuestEvent::Tick { tick: t, .. } => {
                tick = t;
                tick_tsc.insert(t, e.tsc);
            }
            GuestEvent::Sleep { until_tick } => slept.push((tick, until_tick)),
            GuestEvent::Wake { tick: t } => wakes.push(t),
            GuestEvent::Boot { tsc_khz, .. } => khz = tsc_khz,
            _ => {}
        }
    }
    assert_eq!(slept.len(), 2, "sleep_ticks and sleep_ns: {slept:?}");
    assert_eq!(slept[0].1, slept[0].0 + 5, "{slept:?}");
    assert_eq!(slept[1].1, slept[1].0 + 2, "{slept:?}");
    assert_eq!(wakes, [slept[0].1, slept[1].1], "each woke at its tick");
    // Idle while asleep: the kernel halted waiting for the timer.
    assert!(r
        .events()
        .any(|e| matches!(e.event, GuestEvent::Idle { start: true })));
    let p = r.process(1);
    assert!(p.turnaround_ticks >= 7, "slept 5 ticks + 15 ms: {p:?}");
    assert!(
        p.cpu_ticks + 5 <= p.turnaround_ticks,
        "the 5 ticks asleep use no CPU: {p:?}"
    );
    // Time, on the TSC the kernel stamps its ticks with. The program read
    // its clock (ticks, TSC) before tick S + 1 and after tick W, the one it
    // woke at: the milliseconds it reports span those ticks' stamps. (Not
    // 10 ms a tick: in an emulator, QEMU's TCG, the APIC timer and the TSC
    // disagree.)
    let start = r
        .stdout
        .lines()
        .find(|l| l.contains("sleeper: clock"))
        .expect("clock line");
    let woke = r
        .stdout
        .lines()
        .find(|l| l.contains("woke at"))
        .expect("wake line");
    let (s, w) = (field(start, "ticks"), field(woke, "ticks"));
    assert!(w - s >= 5 && w >= wakes[0], "{start}\n{woke}");
    let stamp = |t: u64| tick_tsc.get(&t).copied();
    let (Some(after_start), Some(at_wake)) = (stamp(s + 1), stamp(wakes[0])) else {
        panic!("ticks {} and {} have events", s + 1, wakes[0]);
    };
    assert!(
        field(start, "tsc") < after_start && at_wake < field(woke, "tsc"),
        "the program's clock reads lie around ticks {}..={}",
        s + 1,
        wakes[0]
    );
    let ms: f64 = woke
        .split(", ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|t| t.parse().ok())
        .expect("ms in the wake line");
    let ticks_ms = (at_wake - after_start) as f64 / khz as f64;
    assert!(
        ms >= ticks_ms,
        "{woke}: ticks {}..={} took {ticks_ms} ms",
        s + 1,
        wakes[0]
    );
}

#[test]
fn the_default_demo_explains_itself() {
    let r = common::lde(&["run"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(alternations(&worker_order(&r.stdout)) >= 2, "{}", r.stdout);
    assert!(r.stderr.contains("what happened:"), "{}", r.stderr);
    assert!(
        r.stderr.contains("hog (pid 3) never gave up the CPU"),
        "{}",
        r.stderr
    );
    assert!(r
        .stderr
        .contains("priv-cli (pid 4) tried something only the kernel may do"));
    for col in ["response", "turnaround", "wait", "cpu"] {
        assert!(r.stderr.contains(col));
    }
}

#[test]
fn a_hog_alone_is_left_to_the_watchdog() {
    // "Every other process is done" needs other processes: run alone, the
    // hog keeps the CPU (preempted by every tick, but nobody else to run)
    // until the watchdog, however many ticks it gets (600 at most here; on
    // a slow host fewer, which changes nothing).
    let r = lde_run(&["-p", "hog", "--quantum", "5ms", "--timeout", "3s"]);
    assert_eq!(r.status, 124, "{}", r.stderr);
    assert!(r.stderr.contains("process hog (pid 1)"), "{}", r.stderr);
    assert_eq!(r.process(1).end, ProcessEnd::Running, "{}", r.stderr);
    assert!(
        r.events()
            .any(|e| matches!(e.event, GuestEvent::Tick { .. }) && e.pid == 1),
        "the timer interrupted the hog"
    );
}

#[test]
fn a_long_write_takes_ticks_and_cpu_limit_stops_it() {
    // `writer` writes 64 KiB per call, forever. The kernel takes timer ticks
    // during each call (between its 4 KiB pieces) and charges them to the
    // writer, so --cpu-limit may end it in the middle of a call (with the
    // interrupts off for the whole call, every call ran to its end). On PVM
    // hosts a 64 KiB write lasts many 1 ms ticks, so the first run, with a
    // limit of 2 ms, shows it. Elsewhere the limit may come before the
    // first piece is out (an emulated CPU: QEMU's TCG) or between two calls,
    // in user mode (a fast VMX/SVM host, where a call takes microseconds),
    // so the run is repeated, the limit doubled each time, until one is cut
    // short: a kernel that never takes a tick inside a call fails them all.
    const WRITE: usize = 64 * 1024;
    let mut printed = Vec::new();
    for limit in (1..=8).map(|i| 1u64 << i) {
        let r = lde_run(&[
            "-p",
            "writer",
            "--quantum",
            "1ms",
            "--cpu-limit",
            &format!("{limit}ms"),
        ]);
        assert_eq!(r.status, 0, "{}", r.stderr);
        r.assert_no_panic();
        let p = r.process(1);
        assert_eq!(
            p.end,
            ProcessEnd::Killed(KillCause::CpuLimit),
            "{}",
            r.stderr
        );
        assert!(
            p.cpu_ticks >= limit,
            "kernel time charged: {} ticks",
            p.cpu_ticks
        );
        // Every call prints 1024 lines of 63 `#`: a count of them that is
        // not a multiple of that is a call cut short.
        let hashes: usize = r
            .stdout
            .lines()
            .filter(|l| l.starts_with('#'))
            .map(|l| l.matches('#').count())
            .sum();
        if hashes % (WRITE / 64 * 63) != 0 {
            return;
        }
        printed.push((limit, hashes));
    }
    panic!(
        "the CPU limit never ended the writer inside a write: (limit ms, `#` printed) {printed:?}"
    );
}

#[test]
fn an_int3_loop_is_a_hog() {
    // Bare traps are not system calls: a process that only traps is killed
    // by the hog rule once the others are done, like one that never traps.
    let r = lde_run(&["-p", "int3-loop", "-p", "hello", "--timeout", "60s"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.exited(2, 0));
    assert_eq!(r.process(1).end, ProcessEnd::Killed(KillCause::LastHog));
}

#[test]
fn a_sleep_beyond_the_longest_is_refused() {
    // sleep_ticks(2^64 - 1) would never wake: -EINVAL (-22) at once.
    let r = lde_run(&["-p", "sleeper:18446744073709551615", "--timeout", "60s"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("sleeper: sleep_ticks returned -22"),
        "{}",
        r.stdout
    );
    assert!(r.exited(1, 1));
}
