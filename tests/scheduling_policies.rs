//! Issue "OSTEP's scheduling chapters on the same kernel": the chapters'
//! worked examples and the homework simulators' answers, on real KVM.
//!
//! Every figure here is in ticks and exact: the kernel charges each tick to
//! the process its policy chose for it, so the answers do not depend on how
//! fast the host is. The expected numbers are the chapters' (FIFO/SJF/
//! STCF/RR) or what `mlfq.py -c` and `lottery.py -c` print for the same
//! job list and options.

mod common;

use common::{lde_run, Run};
use lde::trace::record::{GuestEvent, ProcessEnd, Why};

/// A short tick keeps these runs fast; every figure is in ticks.
const TICK: &str = "2ms";

fn run(sched: &str, args: &[&str]) -> Run {
    let mut all = vec!["--sched", sched, "--quantum", TICK];
    all.extend_from_slice(args);
    let r = lde_run(&all);
    assert_eq!(r.status, 0, "{}\n{}", r.stdout, r.stderr);
    r.assert_no_panic();
    assert_chosen_processes_get_their_ticks(&r);
    r
}

/// The tick after each decision is charged to the process it chose (these
/// jobs never give up the CPU between ticks), however slow the CPU: a tick
/// that comes in while the chosen process is still being switched in is
/// its own, never an idle one.
fn assert_chosen_processes_get_their_ticks(r: &Run) {
    let ticks: Vec<(u64, u32, bool)> = r
        .events()
        .filter_map(|e| match &e.event {
            GuestEvent::Tick { tick, unaccounted } => Some((*tick, e.pid, unaccounted.is_none())),
            _ => None,
        })
        .collect();
    for (tick, pid, _) in decisions(r) {
        let next = ticks.iter().find(|t| t.0 == tick + 1);
        assert_eq!(
            next,
            Some(&(tick + 1, pid, true)),
            "chosen at tick {tick}, pid {pid} did not get tick {}",
            tick + 1
        );
    }
}

/// (response, turnaround) of pids 1, 2, ...
fn figures(r: &Run) -> Vec<(u64, u64)> {
    let mut ps = r.processes();
    ps.sort_by_key(|p| p.pid);
    ps.iter()
        .map(|p| {
            assert_eq!(p.end, ProcessEnd::Exited(0), "{p:?}\n{}", r.stderr);
            (p.response_ticks, p.turnaround_ticks)
        })
        .collect()
}

fn turnarounds(r: &Run) -> Vec<u64> {
    figures(r).into_iter().map(|f| f.1).collect()
}

fn mean(v: &[u64]) -> f64 {
    v.iter().sum::<u64>() as f64 / v.len() as f64
}

/// The pid chosen at each scheduling decision, in order.
fn decisions(r: &Run) -> Vec<(u64, u32, Why)> {
    r.events()
        .filter_map(|e| match &e.event {
            GuestEvent::Decision { tick, why } => Some((*tick, e.pid, *why)),
            _ => None,
        })
        .collect()
}

/// MLFQ level changes of `pid`: (tick, from, to).
fn levels(r: &Run, pid: u32) -> Vec<(u64, u64, u64)> {
    r.events()
        .filter_map(|e| match e.event {
            GuestEvent::Level { tick, from, to } if e.pid == pid => Some((tick, from, to)),
            _ => None,
        })
        .collect()
}

#[test]
fn fifo_and_sjf_on_the_convoy_a100_b10_c10() {
    let fifo = run("fifo", &["--jobs", "100,10,10"]);
    assert_eq!(turnarounds(&fifo), [100, 110, 120]);
    assert_eq!(mean(&turnarounds(&fifo)), 110.0);
    let sjf = run("sjf", &["--jobs", "100,10,10"]);
    assert_eq!(figures(&sjf), [(20, 120), (0, 10), (10, 20)]);
    assert_eq!(mean(&turnarounds(&sjf)), 50.0);
    assert!(
        sjf.stderr.contains("turnaround 50.0"),
        "the table's average:\n{}",
        sjf.stderr
    );
    assert!(matches!(
        decisions(&sjf)[0],
        (0, 2, Why::Shortest { remaining: 10 })
    ));
}

#[test]
fn stcf_runs_b_and_c_when_they_arrive_at_10_and_sjf_does_not() {
    let jobs = ["-p", "spin:100", "-p", "spin:10@10", "-p", "spin:10@10"];
    let sjf = run("sjf", &jobs);
    assert_eq!(turnarounds(&sjf), [100, 100, 110]);
    let stcf = run("stcf", &jobs);
    assert_eq!(figures(&stcf), [(0, 120), (0, 10), (10, 20)]);
    assert_eq!(mean(&turnarounds(&stcf)), 50.0);
    // B did not exist before tick 10.
    assert!(stcf.events().any(|e| e.pid == 2
        && matches!(
            e.event,
            GuestEvent::ProcCreate {
                arrival_tick: 10,
                ..
            }
        )));
    assert!(decisions(&stcf)
        .iter()
        .any(|d| matches!(d, (10, 2, Why::Preempts { remaining: 10 }))));
}

#[test]
fn round_robin_slice_1_and_5_response_times() {
    let q1 = run("rr", &["--slice", "1", "--jobs", "5,5,5"]);
    assert_eq!(figures(&q1), [(0, 13), (1, 14), (2, 15)]);
    let q5 = run("rr", &["--slice", "5", "--jobs", "5,5,5"]);
    assert_eq!(figures(&q5), [(0, 5), (5, 10), (10, 15)]);
}

#[test]
fn mlfq_a_long_job_sinks_and_a_short_one_arriving_later_finishes_first() {
    // mlfq.py -n 3 -q 10 -l 0,100,0:10,20,0 -c
    let r = run("mlfq", &["--slice", "10", "--jobs", "0,100,0:10,20,0"]);
    assert_eq!(figures(&r), [(0, 120), (0, 30)]);
    assert_eq!(levels(&r, 1)[..2], [(10, 0, 1), (30, 1, 2)]);
    assert!(r.process(2).end_tick < r.process(1).end_tick);
}

#[test]
fn mlfq_an_io_bound_job_keeps_its_priority_under_the_old_rule_only() {
    // mlfq.py -n 3 -q 10 -i 1 -S -l 0,60,0:0,60,9 -c: with -S the I/O job
    // stays on top and holds the CPU 9 ticks of 10.
    let stay = run(
        "mlfq",
        &["--io-time", "1", "--io-stay", "--jobs", "0,60,0:0,60,9"],
    );
    assert_eq!(figures(&stay), [(0, 120), (10, 76)]);
    assert!(levels(&stay, 2).is_empty(), "it never left the top");
    // mlfq.py -n 3 -q 10 -i 1 -l 0,60,0:0,30,9 -c: without it (rule 4) it
    // goes down too.
    let fair = run("mlfq", &["--io-time", "1", "--jobs", "0,60,0:0,30,9"]);
    assert_eq!(figures(&fair), [(0, 90), (10, 70)]);
    assert!(!levels(&fair, 2).is_empty());
}

#[test]
fn mlfq_a_boost_rescues_a_starved_job() {
    // mlfq.py -q 10 -i 1 -S -l 0,40,0:0,40,2:0,40,2 -c: two I/O jobs keep
    // the top and the long job waits from tick 10 to 90.
    let jobs = "0,40,0:0,40,2:0,40,2";
    let starved = run("mlfq", &["--io-time", "1", "--io-stay", "--jobs", jobs]);
    assert_eq!(figures(&starved), [(0, 120), (10, 88), (12, 90)]);
    // ... -B 20: boosts every 20 ticks give it the CPU; done at 70.
    let boosted = run(
        "mlfq",
        &[
            "--io-time",
            "1",
            "--io-stay",
            "--boost",
            "20",
            "--jobs",
            jobs,
        ],
    );
    assert_eq!(figures(&boosted), [(0, 70), (10, 118), (12, 120)]);
    assert!(boosted
        .events()
        .any(|e| matches!(e.event, GuestEvent::Boost { tick: 20 })));
}

#[test]
fn mlfq_a_job_that_blocks_just_before_its_allotment_ends_is_still_demoted() {
    // Quantum 10, allotment 1; the job blocks after every 9 ticks of CPU.
    let fair = run("mlfq", &["--io-time", "1", "--jobs", "0,40,9"]);
    assert_eq!(levels(&fair, 1).first(), Some(&(11, 0, 1)));
    let gamed = run("mlfq", &["--io-time", "1", "--io-stay", "--jobs", "0,40,9"]);
    assert!(
        levels(&gamed, 1).is_empty(),
        "with --io-stay it games the rule"
    );
    assert_eq!(figures(&fair), figures(&gamed));
}

#[test]
fn lottery_draws_are_lottery_pys() {
    // lottery.py -s 0 -l 100:100,100:100 -c: done at 192 and 200.
    let even = run("lottery", &["--seed", "0", "--jobs", "100:100,100:100"]);
    assert_eq!(turnarounds(&even), [192, 200]);
    // lottery.py -s 4 -l 300:75,300:25 -c: the first done at 391, having
    // had 300 ticks to the other's 91 (3.3 : 1).
    let r = run("lottery", &["--seed", "4", "--jobs", "300:75,300:25"]);
    assert_eq!(turnarounds(&r), [391, 600]);
    let d = decisions(&r);
    let before: Vec<_> = d.iter().filter(|x| x.0 < 391).collect();
    let second = before.iter().filter(|x| x.1 == 2).count();
    assert_eq!((before.len() - second, second), (300, 91));
    assert!(matches!(d[0].2, Why::Lottery { total: 100, .. }));
}

#[test]
fn stride_shares_are_exact() {
    // The chapter's A, B, C with 100, 50, 250 tickets: A B C C C A C C.
    let r = run("stride", &["--jobs", "100:100,100:50,100:250"]);
    let order: Vec<u32> = decisions(&r).iter().take(8).map(|d| d.1).collect();
    assert_eq!(order, [1, 2, 3, 3, 3, 1, 3, 3]);
    // Over the first 80 ticks: exactly 2 : 1 : 5.
    let d = decisions(&r);
    let count = |pid| d.iter().filter(|x| x.0 < 80 && x.1 == pid).count();
    assert_eq!((count(1), count(2), count(3)), (20, 10, 50));
}

#[test]
fn the_most_processes_run_in_one_run_and_one_more_is_refused() {
    let most = lde_abi::boot::MAX_MODULES;
    assert_eq!(most, 256);
    let list = vec!["1"; most].join(",");
    // Loading 256 programs is slow where kernel mode is emulated: the
    // watchdog is only a safety net here, far from the expected time.
    let r = run(
        "rr",
        &["--jobs", &list, "--mem", "128M", "--timeout", "30m"],
    );
    assert_eq!(r.processes().len(), most);
    assert_eq!(turnarounds(&r), (1..=most as u64).collect::<Vec<u64>>());
    let list = vec!["1"; most + 1].join(",");
    let r = common::lde(&["run", "--jobs", &list]);
    assert_eq!(r.status, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("257 programs given; at most 256"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_tables_show_arrival_length_tickets_wins_and_levels() {
    let lottery = run("lottery", &["--jobs", "3:75,2:25"]);
    assert!(
        lottery.stderr.contains("arrival length tickets   wins"),
        "{}",
        lottery.stderr
    );
    // mlfq.py -q 10 -l 0,30,0:5,10,3 -i 5 -B 20 -c: (0, 39) and (5, 36).
    let trace = common::temp_path("mlfq", "jsonl");
    let path = trace.to_str().unwrap();
    let live = common::lde(&[
        "run",
        "--sched",
        "mlfq",
        "--quantum",
        TICK,
        "--boost",
        "20",
        "--jobs",
        "0,30,0:5,10,3",
        "--trace",
        path,
    ]);
    assert_eq!(live.status, 0, "{}", live.stderr);
    let summary = common::lde(&["trace", "summary", path]);
    let decisions = common::lde(&["trace", "show", path, "--kind", "decision"]);
    let _ = std::fs::remove_file(&trace);
    assert!(
        decisions.stdout.contains("demoted from level 0 to 1"),
        "{}{}",
        decisions.stdout,
        decisions.stderr
    );
    assert_eq!(summary.status, 0, "{}", summary.stderr);
    for out in [&live.stderr, &summary.stdout] {
        assert!(out.contains("MLFQ level over time"), "{out}");
        assert!(out.contains(" 0@0 1@10 0@20 1@22 2@32"), "{out}");
    }
    assert!(live.stderr.contains("turnaround 37.5"), "{}", live.stderr);
}
