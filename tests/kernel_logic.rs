//! Host unit tests of the guest kernel's pure logic: no VM, no KVM.
//!
//! The kernel is a `no_std` binary for x86_64-unknown-none, so its own
//! `#[test]`s could not run under `cargo test`. Instead the files that hold
//! pure logic (no hardware, no kernel state: only `core`, `lde_abi` and
//! each other) are compiled a second time here with `#[path]`, in the same
//! module layout as in the kernel so that their `super::` paths resolve:
//! the command line (cmdline.rs), the user-range arithmetic
//! (user_range.rs), `KernelCell` (kcell.rs), and the run queue and every
//! scheduling policy (sched/policy.rs and sched/*.rs). A new policy is
//! tested by adding its file to `sched` below.

#[path = "../guest-kernel/src/cmdline.rs"]
mod cmdline;
#[path = "../guest-kernel/src/kcell.rs"]
mod kcell;
#[path = "../guest-kernel/src/user_range.rs"]
mod user_range;

#[path = "../guest-kernel/src/sched"]
mod sched {
    pub mod coop;
    pub mod fifo;
    pub mod lottery;
    pub mod mlfq;
    pub mod policy;
    pub mod pyrandom;
    pub mod queue;
    pub mod rr;
    pub mod sjf;
    pub mod slice;
    pub mod stcf;
    pub mod stride;
}

use lde_abi::boot::{sched_name, SCHED_COOP, SCHED_FIFO, SCHED_RR};
use lde_abi::boot::{SCHED_SJF, SCHED_STCF};
use lde_abi::layout::{PAGE_SIZE, USER_END};
use lde_abi::trace::{ring_capacity, EVENT_SIZE, HEADER_SIZE};

// --- the command line -----------------------------------------------------

#[test]
fn cmdline_empty_is_all_defaults() {
    let a = cmdline::parse(b"").unwrap();
    assert_eq!(a.exit, None);
    assert_eq!(a.crash, None);
    assert!(!a.spin && !a.show_idt);
    assert_eq!(a.exitbench, None);
}

#[test]
fn cmdline_parses_every_argument() {
    let a = cmdline::parse(b"exit=7  show-idt\tspin exitbench=20 crash=fault").unwrap();
    assert_eq!(a.exit, Some(7));
    assert!(a.show_idt && a.spin);
    assert_eq!(a.exitbench, Some(20));
    assert_eq!(a.crash, Some(cmdline::Crash::Fault));
    assert_eq!(
        cmdline::parse(b"crash=triple").unwrap().crash,
        Some(cmdline::Crash::TripleFault)
    );
    assert_eq!(
        cmdline::parse(b"crash=panic").unwrap().crash,
        Some(cmdline::Crash::Panic)
    );
}

#[test]
fn cmdline_rejects_bad_words_naming_them() {
    for bad in [
        "exit=100",
        "exit=-1",
        "exit=",
        "exitbench=0",
        "crash=boom",
        "frobnicate",
        "spin=1",
        "exit=1x",
        "exitbench=99999999999999999999999",
    ] {
        assert_eq!(
            cmdline::parse(format!("exit=1 {bad}").as_bytes()).unwrap_err(),
            bad.as_bytes()
        );
    }
    assert_eq!(
        cmdline::parse(format!("exit={}", lde_abi::exit::GUEST_MAX).as_bytes())
            .unwrap()
            .exit,
        Some(lde_abi::exit::GUEST_MAX)
    );
}

// --- the policies' names -------------------------------------------------

#[test]
fn every_policy_is_named_as_the_cli_and_trace_name_it() {
    let named: [(&dyn Policy, u32); 5] = [
        (&RoundRobin::new(1), SCHED_RR),
        (&fifo(), SCHED_FIFO),
        (&sched::coop::coop(), SCHED_COOP),
        (&sjf(), SCHED_SJF),
        (&stcf(), SCHED_STCF),
    ];
    for (p, id) in named {
        assert_eq!(Some(p.name()), sched_name(id));
    }
    assert_eq!(
        Some(Mlfq::new(MlfqConfig::DEFAULT).name()),
        sched_name(lde_abi::boot::SCHED_MLFQ)
    );
    assert_eq!(
        Some(Lottery::new(0, 1).name()),
        sched_name(lde_abi::boot::SCHED_LOTTERY)
    );
    assert_eq!(
        Some(Stride::new(1).name()),
        sched_name(lde_abi::boot::SCHED_STRIDE)
    );
}

// --- user ranges ----------------------------------------------------------

#[test]
fn user_range_pages_cover_the_range() {
    assert_eq!(user_range::pages(0x1234, 1), Some((0x1000, 0x1235)));
    assert_eq!(
        user_range::pages(0x1ff8, 16),
        Some((0x1000, 0x2008)),
        "a range across a page boundary starts at its first page"
    );
    assert_eq!(
        user_range::pages(USER_END - PAGE_SIZE, PAGE_SIZE),
        Some((USER_END - PAGE_SIZE, USER_END)),
        "the last user page is user memory"
    );
}

#[test]
fn user_range_refuses_the_kernel_half_and_wraparound() {
    assert_eq!(user_range::pages(USER_END, 1), None);
    assert_eq!(user_range::pages(USER_END - 1, 2), None);
    assert_eq!(user_range::pages(0x1000, u64::MAX), None);
    assert_eq!(user_range::pages(u64::MAX, 1), None);
    assert_eq!(user_range::pages(0xffff_ffff_8010_0000, 8), None);
}

#[test]
fn empty_user_range_touches_no_page() {
    let (first, end) = user_range::pages(0x1234, 0).unwrap();
    assert!(first >= end, "no page to check");
    assert_eq!(
        user_range::pages(USER_END - 1, 0).map(|(a, b)| a >= b),
        Some(true)
    );
    assert_eq!(user_range::pages(USER_END, 0), None);
}

// --- the event ring's capacity --------------------------------------------

#[test]
fn ring_capacity_is_the_largest_power_of_two_that_fits() {
    assert_eq!(ring_capacity(0), 0);
    assert_eq!(ring_capacity(HEADER_SIZE + EVENT_SIZE - 1), 0);
    assert_eq!(ring_capacity(HEADER_SIZE + EVENT_SIZE), 1);
    assert_eq!(ring_capacity(HEADER_SIZE + 3 * EVENT_SIZE), 2);
    assert_eq!(ring_capacity(HEADER_SIZE + 4 * EVENT_SIZE), 4);
    assert_eq!(ring_capacity(1 << 20), 8192, "the default 1 MiB ring");
    for size in [128, 1000, 4096, 1 << 20, 64 << 20] {
        let c = ring_capacity(size);
        assert!(c.is_power_of_two() && HEADER_SIZE + c * EVENT_SIZE <= size);
        assert!(HEADER_SIZE + 2 * c * EVENT_SIZE > size);
    }
}

// --- KernelCell -----------------------------------------------------------

#[test]
fn kernel_cell_lends_its_value_for_a_scope() {
    let cell = kcell::KernelCell::new(1u32);
    cell.with(|v| *v += 1);
    assert_eq!(cell.with(|v| *v), 2);
    // SAFETY: no borrow of `cell` is live; the pointer is read at once.
    assert_eq!(unsafe { *cell.as_ptr() }, 2);
    // Two different cells may be borrowed at once.
    let other = kcell::KernelCell::new(10u32);
    assert_eq!(cell.with(|a| other.with(|b| *a + *b)), 12);
}

#[test]
#[should_panic(expected = "already borrowed")]
fn kernel_cell_refuses_a_nested_borrow() {
    let cell = kcell::KernelCell::new(0u32);
    cell.with(|_| cell.with(|v| *v));
}

// --- each policy's choices, tick by tick, against OSTEP's simulators -------
//
// Each test drives a policy the way the kernel's timer does (see
// sched/policy.rs) and compares the schedule with what OSTEP's homework
// simulators print for the same job list.

use sched::fifo::fifo;
use sched::lottery::Lottery;
use sched::mlfq::{Mlfq, MlfqConfig, MAX_LEVELS};
use sched::policy::{Admit, Job, Policy, Then, Why};
use sched::rr::RoundRobin;
use sched::sjf::sjf;
use sched::stcf::stcf;
use sched::stride::Stride;

/// A job as the simulators describe it.
#[derive(Clone, Copy, Default)]
struct Spec {
    arrival: u64,
    length: u64,
    /// Block for I/O every `io_every` ticks of CPU (0 = never) ...
    io_every: u64,
    /// ... for this many ticks.
    io_time: u64,
    tickets: u64,
}

fn jobs(lengths: &[u64]) -> Vec<Spec> {
    lengths
        .iter()
        .map(|&length| Spec {
            length,
            ..Default::default()
        })
        .collect()
}

/// What a run gives: the job on the CPU at each tick ('.' = idle), each
/// job's response and turnaround, and the decisions with their reasons.
struct Outcome {
    schedule: String,
    response: Vec<u64>,
    turnaround: Vec<u64>,
    decisions: Vec<(u64, usize, Why)>,
    demotions: Vec<(u64, usize, u8, u8)>,
}

impl Outcome {
    fn avg_turnaround(&self) -> f64 {
        self.turnaround.iter().sum::<u64>() as f64 / self.turnaround.len() as f64
    }
}

/// Drive `policy` through `jobs` the way the kernel's tick handler does:
/// charge the tick that ended, the policy's tick (boost), arrivals, then
/// I/O completions, then pick.
fn run(policy: &mut dyn Policy, specs: &[Spec]) -> Outcome {
    drive(policy, specs, false).0
}

/// [`run`], and with `quiet` as the kernel's timer does it: when a tick's
/// pick keeps the job on the CPU, `quiet_ticks` says how many of the next
/// ticks the policy need not be asked about; such a tick where the job goes
/// on and nothing arrives or wakes is a quiet one (timer.rs): the policy
/// hears of those in one `ran_quietly` before it is next asked anything.
/// Also returns how many quiet ticks there were.
fn drive(policy: &mut dyn Policy, specs: &[Spec], quiet: bool) -> (Outcome, usize) {
    let mut quiet_ticks = 0;
    // Ticks before `until` are quiet for the policy; `untold` of them
    // passed since it was last asked.
    let (mut until, mut untold) = (0, 0);
    let n = specs.len();
    let mut used = vec![0u64; n];
    let mut first = vec![None; n];
    let mut end = vec![None; n];
    let mut wake_at = vec![None; n];
    let mut current: Option<usize> = None;
    let mut out = Outcome {
        schedule: String::new(),
        response: vec![],
        turnaround: vec![],
        decisions: vec![],
        demotions: vec![],
    };
    let mut t = 0;
    while end.iter().any(Option::is_none) {
        assert!(t < 100_000, "runaway schedule: {}", out.schedule);
        // The job on the CPU, if it goes on after this tick's charge.
        let mut kept = None;
        if let Some(c) = current.take() {
            used[c] += 1;
            let s = specs[c];
            let then = if used[c] == s.length {
                end[c] = Some(t);
                Then::Exits
            } else if s.io_every > 0 && used[c] % s.io_every == 0 {
                wake_at[c] = Some(t + s.io_time);
                Then::Sleeps
            } else {
                Then::Runs
            };
            let nothing_comes =
                !specs.iter().any(|s| s.arrival == t) && !wake_at.contains(&Some(t));
            if quiet && then == Then::Runs && nothing_comes && t < until {
                quiet_ticks += 1;
                untold += 1;
                current = Some(c);
                out.schedule.push(char::from_digit(c as u32, 36).unwrap());
                t += 1;
                continue;
            }
            if untold > 0 {
                policy.ran_quietly(c, untold);
                untold = 0;
            }
            until = 0;
            kept = Some(c).filter(|_| then == Then::Runs);
            if let Some((from, to)) = policy.charge(c, then).demoted {
                out.demotions.push((t, c, from, to));
            }
        }
        policy.tick(t);
        for (slot, s) in specs.iter().enumerate() {
            if s.arrival == t {
                let job = Job {
                    length: s.length,
                    tickets: s.tickets,
                };
                policy.admit(slot, &job, Admit::Arrive);
            }
        }
        for (slot, wake) in wake_at.iter_mut().enumerate() {
            if *wake == Some(t) {
                *wake = None;
                policy.admit(slot, &Job::default(), Admit::Wake);
            }
        }
        match policy.pick() {
            Some(p) => {
                if let Some(why) = p.why {
                    out.decisions.push((t, p.slot, why));
                }
                first[p.slot].get_or_insert(t);
                current = Some(p.slot);
                if kept == Some(p.slot) {
                    until = (t + 1).saturating_add(policy.quiet_ticks(p.slot, t));
                }
                out.schedule
                    .push(char::from_digit(p.slot as u32, 36).unwrap());
            }
            None => out.schedule.push('.'),
        }
        t += 1;
    }
    // The simulators' strings stop at the last tick a job ran.
    while out.schedule.ends_with('.') {
        out.schedule.pop();
    }
    for (i, s) in specs.iter().enumerate() {
        out.response.push(first[i].unwrap() - s.arrival);
        out.turnaround.push(end[i].unwrap() - s.arrival);
    }
    (out, quiet_ticks)
}

#[test]
fn a_quiet_tick_changes_nothing_the_full_tick_would_not() {
    // Every policy, on job lists of the tests below (arrivals, I/O,
    // boosts, demotions, slices): the schedule, figures, decisions and
    // demotions are the same whether the ticks `quiet_ticks` allows are
    // quiet (told later with `ran_quietly`, also part-way when the job
    // blocks or ends early) or charge, tick and pick in turn, and quiet
    // ticks do happen.
    let mut late = jobs(&[100, 10, 10]);
    late[1].arrival = 10;
    late[2].arrival = 10;
    let mut late_stride = lottery_jobs("100:100,100:100");
    late_stride[1].arrival = 50;
    let io = [Spec {
        length: 40,
        io_every: 9,
        io_time: 1,
        ..Default::default()
    }];
    type Make = fn() -> Box<dyn Policy>;
    let cases: Vec<(&str, Make, Vec<Spec>)> = vec![
        ("rr 1", || Box::new(RoundRobin::new(1)), jobs(&[3, 5, 2])),
        ("rr 5", || Box::new(RoundRobin::new(5)), jobs(&[5, 5, 12])),
        ("rr 1 alone", || Box::new(RoundRobin::new(1)), jobs(&[20])),
        ("rr 3 late", || Box::new(RoundRobin::new(3)), late.clone()),
        ("fifo", || Box::new(fifo()), jobs(&[100, 10, 10])),
        ("sjf", || Box::new(sjf()), late.clone()),
        ("stcf", || Box::new(stcf()), late.clone()),
        (
            "mlfq sink",
            || Box::new(mlfq(3, &[10], &[1], 0, false, false)),
            mlfq_jobs("0,100,0:10,20,0", 5),
        ),
        (
            "mlfq io",
            || Box::new(mlfq(3, &[10], &[1], 0, false, false)),
            mlfq_jobs("0,60,0:0,30,9", 1),
        ),
        (
            "mlfq -S",
            || Box::new(mlfq(3, &[10], &[1], 0, true, false)),
            mlfq_jobs("0,60,0:0,60,9", 1),
        ),
        (
            "mlfq -B",
            || Box::new(mlfq(3, &[10], &[1], 30, false, false)),
            mlfq_jobs("0,100,0:0,50,0:0,50,0", 5),
        ),
        (
            "mlfq -B 50",
            || Box::new(mlfq(3, &[10], &[1], 50, false, false)),
            mlfq_jobs("0,40,0:0,40,0:5,20,2", 3),
        ),
        (
            "mlfq -Q -A -I",
            || Box::new(mlfq(3, &[2, 4, 8], &[1, 2, 3], 0, false, true)),
            mlfq_jobs("0,30,0:0,30,3", 2),
        ),
        (
            "mlfq -S -I",
            || Box::new(mlfq(2, &[5], &[2], 0, true, true)),
            mlfq_jobs("0,30,4:3,20,0", 6),
        ),
        (
            "mlfq sleeps",
            || Box::new(mlfq(3, &[10], &[1], 0, false, false)),
            io.to_vec(),
        ),
        (
            "lottery 2",
            || Box::new(Lottery::new(7, 2)),
            lottery_jobs("100:75,100:25"),
        ),
        (
            "lottery 4",
            || Box::new(Lottery::new(3, 4)),
            lottery_jobs("30:75,50:25,40:10"),
        ),
        (
            "stride 3",
            || Box::new(Stride::new(3)),
            lottery_jobs("400:200,100:50"),
        ),
        ("stride late", || Box::new(Stride::new(2)), late_stride),
    ];
    for (name, make, specs) in cases {
        let (full, none) = drive(make().as_mut(), &specs, false);
        let (fast, quiet) = drive(make().as_mut(), &specs, true);
        assert_eq!(none, 0);
        assert!(quiet > 0, "{name}: no quiet tick");
        assert_eq!(fast.schedule, full.schedule, "{name}");
        assert_eq!(fast.response, full.response, "{name}");
        assert_eq!(fast.turnaround, full.turnaround, "{name}");
        assert_eq!(fast.decisions, full.decisions, "{name}");
        assert_eq!(fast.demotions, full.demotions, "{name}");
    }
}

// ---- Scheduling: Introduction (scheduler.py and the chapter's figures) ----

#[test]
fn fifo_and_sjf_on_the_chapters_convoy() {
    // A=100, B=C=10, all at 0: FIFO's turnarounds 100, 110, 120 (average
    // 110); SJF runs B, C, A: 10, 20, 120 (average 50).
    let specs = jobs(&[100, 10, 10]);
    let fifo = run(&mut fifo(), &specs);
    assert_eq!(fifo.turnaround, [100, 110, 120]);
    assert_eq!(fifo.avg_turnaround(), 110.0);
    let sjf = run(&mut sjf(), &specs);
    assert_eq!(sjf.turnaround, [120, 10, 20]);
    assert_eq!(sjf.response, [20, 0, 10]);
    assert_eq!(sjf.avg_turnaround(), 50.0);
    assert_eq!(sjf.decisions[0], (0, 1, Why::Shortest { remaining: 10 }));
}

#[test]
fn sjf_ties_go_in_arrival_order_like_schedulers_stable_sort() {
    // scheduler.py -p SJF -l 20,10,20,10: jobs 1, 3, 0, 2.
    let sjf = run(&mut sjf(), &jobs(&[20, 10, 20, 10]));
    assert_eq!(sjf.turnaround, [40, 10, 60, 20]);
}

#[test]
fn sjf_does_not_preempt_but_stcf_does() {
    // The chapter: A=100 at 0, B and C (10 each) at 10. SJF lets A finish
    // (turnarounds 100, 100, 110); STCF runs B and C as they arrive
    // (120, 10, 20: average 50).
    let mut specs = jobs(&[100, 10, 10]);
    specs[1].arrival = 10;
    specs[2].arrival = 10;
    let sjf = run(&mut sjf(), &specs);
    assert_eq!(sjf.turnaround, [100, 100, 110]);
    let stcf = run(&mut stcf(), &specs);
    assert_eq!(stcf.turnaround, [120, 10, 20]);
    assert_eq!(stcf.avg_turnaround(), 50.0);
    assert_eq!(stcf.decisions[1], (10, 1, Why::Preempts { remaining: 10 }));
    assert_eq!(stcf.decisions[2], (20, 2, Why::Shortest { remaining: 10 }));
}

#[test]
fn stcf_keeps_the_running_job_on_a_tie() {
    let mut specs = jobs(&[10, 5]);
    specs[1].arrival = 5;
    let stcf = run(&mut stcf(), &specs);
    assert_eq!(stcf.schedule, "000000000011111");
}

#[test]
fn round_robin_slices_1_and_5_on_three_equal_jobs() {
    // scheduler.py -p RR -l 5,5,5 -q 1: responses 0, 1, 2; -q 5: 0, 5, 10.
    let specs = jobs(&[5, 5, 5]);
    let q1 = run(&mut RoundRobin::new(1), &specs);
    assert_eq!(q1.response, [0, 1, 2]);
    assert_eq!(q1.turnaround, [13, 14, 15]);
    assert_eq!(q1.schedule, "012012012012012");
    let q5 = run(&mut RoundRobin::new(5), &specs);
    assert_eq!(q5.response, [0, 5, 10]);
    assert_eq!(q5.turnaround, [5, 10, 15]);
    assert!(q5.decisions[1..].iter().all(|d| d.2 == Why::Next));
}

#[test]
fn round_robin_3_5_2_as_scheduler_py() {
    // scheduler.py -p RR -q 1 -l 3,5,2: turnarounds 7, 10, 6.
    let rr = run(&mut RoundRobin::new(1), &jobs(&[3, 5, 2]));
    assert_eq!(rr.schedule, "0120120111");
    assert_eq!(rr.turnaround, [7, 10, 6]);
    assert_eq!(rr.decisions[3], (3, 0, Why::SliceUsed));
}

// ---- MLFQ (mlfq.py -c) ----

/// mlfq.py's settings from its flags: `-n`, `-q` or `-Q` (top first),
/// `-a` or `-A`, `-B`, `-S`, `-I`.
fn mlfq(levels: usize, quanta: &[u64], allots: &[u64], boost: u64, stay: bool, bump: bool) -> Mlfq {
    let mut cfg = MlfqConfig::DEFAULT;
    cfg.levels = levels;
    for l in 0..MAX_LEVELS {
        cfg.quantum[l] = quanta[l.min(quanta.len() - 1)];
        cfg.allot[l] = allots[l.min(allots.len() - 1)];
    }
    cfg.boost = boost;
    cfg.stay = stay;
    cfg.bump = bump;
    Mlfq::new(cfg)
}

/// mlfq.py's `-l start,run,iofreq:...` with I/O time `io`.
fn mlfq_jobs(list: &str, io: u64) -> Vec<Spec> {
    list.split(':')
        .map(|j| {
            let v: Vec<u64> = j.split(',').map(|x| x.parse().unwrap()).collect();
            Spec {
                arrival: v[0],
                length: v[1],
                io_every: v[2],
                io_time: io,
                tickets: 0,
            }
        })
        .collect()
}

/// Expected schedules are what mlfq.py -c runs for the same flags (its
/// "Run JOB j" lines, one character per tick, '.' for IDLE), with its final
/// response and turnaround per job.
fn check_mlfq(
    mut policy: Mlfq,
    list: &str,
    io: u64,
    schedule: &str,
    figures: &[(u64, u64)],
) -> Outcome {
    let out = run(&mut policy, &mlfq_jobs(list, io));
    assert_eq!(out.schedule, schedule, "mlfq -l {list}");
    let got: Vec<(u64, u64)> = out
        .response
        .iter()
        .copied()
        .zip(out.turnaround.iter().copied())
        .collect();
    assert_eq!(got, figures, "mlfq -l {list}: (response, turnaround)");
    out
}

#[test]
fn mlfq_a_long_job_sinks_and_a_short_one_arriving_later_finishes_first() {
    // mlfq.py -n 3 -q 10 -l 0,100,0:10,20,0 -c
    let out = check_mlfq(
        mlfq(3, &[10], &[1], 0, false, false),
        "0,100,0:10,20,0",
        5,
        "000000000011111111110000000000111111111100000000000000000000000000000000000000000000000000000000000000000000000000000000",
        &[(0, 120), (0, 30)],
    );
    // The long job went down one level per quantum; the short one, arriving
    // at 10, found it demoted and took the CPU.
    assert_eq!(out.demotions[..2], [(10, 0, 0, 1), (20, 1, 0, 1)]);
    assert_eq!(out.decisions[1], (10, 1, Why::Demoted { from: 0, to: 1 }));
    // mlfq.py -n 3 -q 10 -l 0,100,0:50,20,0 -c: alone, it sinks to the bottom.
    check_mlfq(
        mlfq(3, &[10], &[1], 0, false, false),
        "0,100,0:50,20,0",
        5,
        "000000000000000000000000000000000000000000000000001111111111111111111100000000000000000000000000000000000000000000000000",
        &[(0, 120), (0, 20)],
    );
}

#[test]
fn mlfq_an_io_bound_job_keeps_its_priority_only_if_io_resets_it() {
    // mlfq.py -n 3 -q 10 -i 1 -l 0,60,0:0,30,9 -c: I/O every 9 ticks does
    // not reset the allotment (rule 4), so the I/O job sinks too.
    check_mlfq(
        mlfq(3, &[10], &[1], 0, false, false),
        "0,60,0:0,30,9",
        1,
        "000000000011111111101000000000111111110110000000001111111000000000011100000000000000000000",
        &[(0, 90), (10, 70)],
    );
    // ... -S (stay): I/O resets it, the job games the scheduler and keeps
    // the top level, holding the CPU 9 ticks of every 10.
    check_mlfq(
        mlfq(3, &[10], &[1], 0, true, false),
        "0,60,0:0,60,9",
        1,
        "000000000011111111101111111110111111111011111111101111111110111111111011111100000000000000000000000000000000000000000000",
        &[(0, 120), (10, 76)],
    );
}

#[test]
fn mlfq_a_boost_rescues_a_starved_job() {
    // mlfq.py -n 3 -q 10 -B 30 -l 0,100,0:0,50,0:0,50,0 -c
    let out = check_mlfq(
        mlfq(3, &[10], &[1], 30, false, false),
        "0,100,0:0,50,0:0,50,0",
        5,
        "00000000001111111111222222222201200000000001111111111222222201200000000001111111111222222201200000000001111111111222222201200000000001111112222222222002000000000022220000000000000000000000000000000000",
        &[(0, 200), (10, 139), (20, 166)],
    );
    assert!(out.decisions.contains(&(30, 0, Why::Boost)));
    // mlfq.py -n 3 -q 10 -B 50 -i 3 -l 0,40,0:0,40,0:5,20,2 -c
    check_mlfq(
        mlfq(3, &[10], &[1], 50, false, false),
        "0,40,0:0,40,0:5,20,2",
        3,
        "0000000000111111111122000220002200022011221111111101200000000001111111111200022000220002211122111111",
        &[(0, 87), (10, 100), (15, 89)],
    );
}

#[test]
fn mlfq_per_level_quanta_allotments_and_io_bump() {
    // mlfq.py -Q 2,4,8 -A 1,2,3 -i 2 -I -l 0,30,0:0,30,3 -c
    check_mlfq(
        mlfq(3, &[2, 4, 8], &[1, 2, 3], 0, false, true),
        "0,30,0:0,30,3",
        2,
        "001100001001110011100100000011001110011100111001110011001..111",
        &[(0, 56), (2, 62)],
    );
    // mlfq.py -n 2 -q 5 -a 2 -i 6 -S -I -l 0,30,4:3,20,0 -c
    check_mlfq(
        mlfq(2, &[5], &[2], 0, true, true),
        "0,30,4:3,20,0",
        6,
        "000011111100001111110000111111000011....0000......0000......0000......00",
        &[(0, 72), (1, 33)],
    );
}

#[test]
fn mlfq_a_job_that_sleeps_just_before_its_allotment_ends_is_still_demoted() {
    // Quantum 10, allotment 1: the job blocks after 9 ticks, every time.
    // Rule 4 counts the ticks across its I/O: it goes down anyway.
    let specs = [Spec {
        length: 40,
        io_every: 9,
        io_time: 1,
        ..Default::default()
    }];
    let fair = run(&mut mlfq(3, &[10], &[1], 0, false, false), &specs);
    assert_eq!(fair.demotions.first().map(|d| (d.2, d.3)), Some((0, 1)));
    let gamed = run(&mut mlfq(3, &[10], &[1], 0, true, false), &specs);
    assert!(gamed.demotions.is_empty(), "with -S it stays on top");
}

// ---- Lottery and stride ----

fn lottery_jobs(list: &str) -> Vec<Spec> {
    list.split(',')
        .map(|e| {
            let (len, tix) = e.split_once(':').unwrap();
            Spec {
                length: len.parse().unwrap(),
                tickets: tix.parse().unwrap(),
                ..Default::default()
            }
        })
        .collect()
}

#[test]
fn lottery_draws_equal_lottery_py() {
    // lottery.py -s S -l LIST -c: the winner of each draw, in order, and
    // when each job is done.
    let cases = [
        (
            0,
            "10:100,10:100",
            "01110111111000100000",
            [20, 15].as_slice(),
        ),
        (1, "10:1,10:100", "11111111110000000000", &[20, 10]),
        (3, "3:75,5:25,4:10", "000221111122", &[3, 10, 12]),
    ];
    for (seed, list, winners, done) in cases {
        let out = run(&mut Lottery::new(seed, 1), &lottery_jobs(list));
        assert_eq!(out.schedule, winners, "lottery.py -s {seed} -l {list}");
        assert_eq!(out.turnaround, done, "lottery.py -s {seed} -l {list}");
        assert!(out
            .decisions
            .iter()
            .all(|d| matches!(d.2, Why::Lottery { .. })));
    }
}

#[test]
fn lottery_75_25_over_a_long_run() {
    // lottery.py -s 7 -l 100:75,100:25 -c: job 0 done at 150, job 1 at 200.
    let out = run(&mut Lottery::new(7, 1), &lottery_jobs("100:75,100:25"));
    assert_eq!(out.turnaround, [150, 200]);
    let first_150 = &out.schedule[..150];
    let zeros = first_150.matches('0').count();
    assert_eq!(zeros, 100);
    // The first draw: winning ticket of 100.
    assert!(matches!(
        out.decisions[0].2,
        Why::Lottery { total: 100, .. }
    ));
}

#[test]
fn stride_runs_the_chapters_table() {
    // OSTEP's stride example: A, B, C with 100, 50 and 250 tickets
    // (strides 100, 200, 40) run A B C C C A C C ...
    let list = "100:100,100:50,100:250";
    let out = run(&mut Stride::new(1), &lottery_jobs(list));
    assert_eq!(&out.schedule[..8], "01222022");
    let passes: Vec<u64> = out.decisions[..8]
        .iter()
        .map(|d| match d.2 {
            Why::Stride { pass } => pass,
            w => panic!("{w:?}"),
        })
        .collect();
    assert_eq!(passes, [0, 0, 0, 40, 80, 100, 120, 160]);
}

#[test]
fn stride_shares_are_exactly_proportional() {
    // 4:1 tickets over every window of 5 decisions: 4 and 1.
    let out = run(&mut Stride::new(1), &lottery_jobs("400:200,100:50"));
    for w in out.schedule.as_bytes()[..500].chunks(5) {
        assert_eq!(
            w.iter().filter(|&&c| c == b'0').count(),
            4,
            "{}",
            out.schedule
        );
    }
    // And with slices of 3 ticks, the same shares in every 15 ticks.
    let out = run(&mut Stride::new(3), &lottery_jobs("400:200,100:50"));
    for w in out.schedule.as_bytes()[..495].chunks(15) {
        assert_eq!(
            w.iter().filter(|&&c| c == b'1').count(),
            3,
            "{}",
            out.schedule
        );
    }
}

#[test]
fn a_late_stride_arrival_does_not_monopolize_the_cpu() {
    let mut specs = lottery_jobs("100:100,100:100");
    specs[1].arrival = 50;
    let out = run(&mut Stride::new(1), &specs);
    assert_eq!(&out.schedule[50..60], "1010101010");
}

#[test]
fn a_yield_ends_the_turn_and_the_table_holds_every_module() {
    use sched::policy::Leave;
    assert_eq!(sched::policy::MAX_PROCS, lde_abi::boot::MAX_MODULES);
    let job = Job::default();
    let mut rr = RoundRobin::new(5);
    rr.admit(0, &job, Admit::Arrive);
    rr.admit(1, &job, Admit::Arrive);
    assert_eq!(rr.pick().map(|p| p.slot), Some(0));
    rr.leave(0, Leave::Yields);
    assert_eq!(
        rr.pick().map(|p| (p.slot, p.why)),
        Some((1, Some(Why::Next)))
    );
    // Lottery: a yield ends the slice, so the next pick is a fresh draw.
    let mut lottery = Lottery::new(0, 5);
    lottery.admit(
        0,
        &Job {
            length: 5,
            tickets: 1,
        },
        Admit::Arrive,
    );
    let first = lottery.pick().unwrap();
    assert!(matches!(first.why, Some(Why::Lottery { .. })));
    assert_eq!(lottery.pick().unwrap().why, None, "the slice goes on");
    lottery.leave(0, Leave::Yields);
    assert!(matches!(
        lottery.pick().unwrap().why,
        Some(Why::Lottery { .. })
    ));
    // Sleeping or exiting takes a job out of the draw.
    lottery.admit(
        1,
        &Job {
            length: 5,
            tickets: 1,
        },
        Admit::Arrive,
    );
    lottery.leave(0, Leave::Sleeps);
    assert_eq!(lottery.pick().map(|p| p.slot), Some(1));
    lottery.leave(1, Leave::Exits);
    assert_eq!(lottery.pick(), None);
}
