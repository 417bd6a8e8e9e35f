//! Workloads in OSTEP's own syntax, so a homework command line translates
//! directly: `--jobs` takes the job lists of the simulators, and a
//! `--program` may say when it arrives and how many tickets it holds.
//!
//! | simulator | its `-l` | lde |
//! |---|---|---|
//! | `cpu-sched/scheduler.py` | `10,20,30` (lengths) | `--jobs 10,20,30` |
//! | `cpu-sched-mlfq/mlfq.py` | `0,100,5:10,20,0` (start,run,iofreq:...) | `--sched mlfq --jobs 0,100,5:10,20,0` |
//! | `cpu-sched-lottery/lottery.py` | `10:100,20:50` (length:tickets) | `--sched lottery --jobs 10:100,20:50` |
//!
//! The form follows `--sched`: mlfq.py's for `mlfq`, lottery.py's for
//! `lottery` and `stride`, scheduler.py's for the others. Each job becomes
//! a `spin` of its length, or for an mlfq.py job with I/O a `cpuio`
//! (`run=R every=F io=I`, I from `--io-time`).

use anyhow::Result;
use lde_abi::boot::Job;

use crate::error::bad_input;
use crate::policy::Policy;

/// The latest arrival tick accepted (about a day at 1 ms ticks).
pub const MAX_ARRIVAL: u64 = 100_000_000;
/// Most tickets a job may hold: stride's stride is 10,000 / tickets.
pub const MAX_TICKETS: u64 = 10_000;

/// `--jobs LIST` as `--program` specs (`spin:100@10#75`, ...).
pub fn from_list(list: &str, sched: Policy, io_time: u64) -> Result<Vec<String>> {
    let bad = |why: &str| bad_input(format!("--jobs '{list}': {why}"));
    let number = |s: &str, what: &str| -> Result<u64> {
        s.trim()
            .parse::<u64>()
            .map_err(|_| bad(&format!("{what} '{s}' is not a whole number of ticks")))
    };
    let mut jobs = Vec::new();
    match sched {
        Policy::Mlfq => {
            for entry in list.split(':') {
                let f: Vec<&str> = entry.split(',').collect();
                let [start, run, every] = f[..] else {
                    return Err(bad(
                        "an mlfq.py job is start,run,iofreq (jobs separated by ':')",
                    ));
                };
                let (start, run, every) = (
                    number(start, "start")?,
                    number(run, "run")?,
                    number(every, "iofreq")?,
                );
                if run == 0 {
                    return Err(bad("a job's run time must be at least 1"));
                }
                let spec = if every == 0 {
                    format!("spin:{run}")
                } else {
                    format!("cpuio:run={run},every={every},io={io_time}")
                };
                jobs.push(format!("{spec}@{start}"));
            }
        }
        Policy::Lottery | Policy::Stride => {
            for entry in list.split(',') {
                let Some((len, tickets)) = entry.split_once(':') else {
                    return Err(bad(
                        "a lottery.py job is length:tickets (jobs separated by ',')",
                    ));
                };
                let (len, tickets) = (number(len, "length")?, number(tickets, "tickets")?);
                check_tickets(tickets).map_err(|e| bad(&e))?;
                if len == 0 {
                    return Err(bad("a job's length must be at least 1"));
                }
                jobs.push(format!("spin:{len}#{tickets}"));
            }
        }
        _ => {
            for entry in list.split(',') {
                let len = number(entry, "length")?;
                if len == 0 {
                    return Err(bad("a job's length must be at least 1"));
                }
                jobs.push(format!("spin:{len}"));
            }
        }
    }
    Ok(jobs)
}

fn check_tickets(tickets: u64) -> Result<(), String> {
    if (1..=MAX_TICKETS).contains(&tickets) {
        Ok(())
    } else {
        Err(format!(
            "tickets must be from 1 to {MAX_TICKETS} (stride divides 10000 by them), not {tickets}"
        ))
    }
}

/// Split `NAME[:ARGS][@ARRIVAL][#TICKETS]` (the two suffixes in either
/// order) into the program part, the arrival tick and the tickets (0 =
/// default).
pub fn split_attributes(spec: &str) -> Result<(&str, u64, u64)> {
    let mut rest = spec;
    let (mut arrival, mut tickets) = (None, None);
    while let Some(at) = rest.rfind(['@', '#']) {
        let digits = &rest[at + 1..];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            break;
        }
        let value: u64 = digits
            .parse()
            .map_err(|_| bad_input(format!("--program '{spec}': '{digits}' is too large")))?;
        let slot = if rest.as_bytes()[at] == b'@' {
            &mut arrival
        } else {
            &mut tickets
        };
        if slot.replace(value).is_some() {
            return Err(bad_input(format!(
                "--program '{spec}': the same suffix twice"
            )));
        }
        rest = &rest[..at];
    }
    let arrival = arrival.unwrap_or(0);
    if arrival > MAX_ARRIVAL {
        return Err(bad_input(format!(
            "--program '{spec}': arrival tick {arrival} is past {MAX_ARRIVAL}"
        )));
    }
    let tickets = match tickets {
        Some(t) => {
            check_tickets(t).map_err(|e| bad_input(format!("--program '{spec}': {e}")))?;
            t
        }
        None => 0,
    };
    Ok((rest, arrival, tickets))
}

/// What the kernel may know of an embedded job program from its arguments
/// (`spin N`, `cpuio ...`): its length and I/O; nothing for others.
pub fn describe(name: &str, args: &[String], embedded: bool, job: &mut Job) -> Result<()> {
    if !embedded {
        return Ok(());
    }
    match (name, args) {
        ("spin", []) => job.length_ticks = 1,
        ("spin", [n]) => job.length_ticks = n.parse().unwrap_or(0),
        ("cpuio", _) => lde_abi::phases::plan(args.iter().map(String::as_str))
            .and_then(|p| p.describe(job))
            .map_err(|e| {
                bad_input(format!(
                    "cpuio {}: {e} (usage: {})",
                    args.join(" "),
                    lde_abi::phases::USAGE
                ))
            })?,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_py_lists_are_spins() {
        let jobs = from_list("100,10,10", Policy::Fifo, 5).unwrap();
        assert_eq!(jobs, ["spin:100", "spin:10", "spin:10"]);
        assert!(from_list("10,2.5", Policy::Sjf, 5).is_err());
        assert!(from_list("10,0", Policy::Rr, 5).is_err());
    }

    #[test]
    fn mlfq_py_lists_have_arrivals_and_io() {
        let jobs = from_list("0,100,0:10,20,3", Policy::Mlfq, 4).unwrap();
        assert_eq!(jobs, ["spin:100@0", "cpuio:run=20,every=3,io=4@10"]);
        assert!(from_list("0,100", Policy::Mlfq, 5).is_err());
    }

    #[test]
    fn lottery_py_lists_have_tickets() {
        let jobs = from_list("10:75,20:25", Policy::Lottery, 5).unwrap();
        assert_eq!(jobs, ["spin:10#75", "spin:20#25"]);
        assert!(from_list("10", Policy::Stride, 5).is_err());
        assert!(from_list("10:0", Policy::Lottery, 5).is_err());
        assert!(from_list("10:20000", Policy::Lottery, 5).is_err());
    }

    #[test]
    fn program_suffixes() {
        assert_eq!(split_attributes("spin:5@3").unwrap(), ("spin:5", 3, 0));
        assert_eq!(split_attributes("spin:5#75@2").unwrap(), ("spin:5", 2, 75));
        assert_eq!(split_attributes("./a@b").unwrap(), ("./a@b", 0, 0));
        assert!(split_attributes("spin@1@2").is_err());
        assert!(split_attributes("spin#0").is_err());
        assert!(split_attributes("spin@999999999999").is_err());
    }

    #[test]
    fn lengths_and_io_of_job_programs() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let job = |name, args: &[&str], embedded| {
            let mut job = Job::NONE;
            describe(name, &s(args), embedded, &mut job).map(|_| job)
        };
        assert_eq!(job("spin", &["7"], true).unwrap().length_ticks, 7);
        let io = job("cpuio", &["c4", "s5", "c3"], true).unwrap();
        assert_eq!(
            (io.length_ticks, io.io_count, io.io_at[0], io.io_len[0]),
            (7, 1, 4, 5)
        );
        let io = job("cpuio", &["run=9", "every=2", "io=1"], true).unwrap();
        assert_eq!((io.length_ticks, io.io_every, io.io_ticks), (9, 2, 1));
        assert_eq!(job("spin", &["7"], false).unwrap().length_ticks, 0);
        assert_eq!(job("worker", &["A", "3"], true).unwrap().length_ticks, 0);
        assert!(job("cpuio", &["s1"], true).is_err());
    }
}
