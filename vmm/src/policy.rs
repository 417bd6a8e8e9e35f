//! The scheduling policy: which one ([`Policy`], the one type for the set,
//! used by `--sched`, the boot info and trace records) and its settings from
//! the command line, checked, in the boot info's terms
//! (`lde_abi::boot::PolicyParams`). The options are the
//! homework simulators': `--slice` is scheduler.py's and lottery.py's `-q`
//! and mlfq.py's `-q`/`-Q`; `--levels`, `--allot`, `--boost`,
//! `--io-stay`, `--io-bump`, `--io-time` are mlfq.py's `-n`, `-a`/`-A`,
//! `-B`, `-S`, `-I`, `-i`; `--seed` is lottery.py's `-s`.

use anyhow::Result;
use clap::builder::PossibleValue;
use clap::ValueEnum;
use lde_abi::boot::{self as abi, PolicyParams, MAX_LEVELS, MLFQ_IO_BUMP, MLFQ_IO_STAY};
use serde::{Deserialize, Serialize};

use crate::cli::RunArgs;
use crate::error::bad_input;

/// A scheduling policy the kernel knows. Its number is the abi's `SCHED_*`
/// (the boot info's `sched`), its name the abi's `SCHED_NAMES` entry, which
/// is both how `--sched` spells it and how trace records write it.
#[repr(u32)]
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Policy {
    Rr = abi::SCHED_RR,
    Fifo = abi::SCHED_FIFO,
    Coop = abi::SCHED_COOP,
    Sjf = abi::SCHED_SJF,
    Stcf = abi::SCHED_STCF,
    Mlfq = abi::SCHED_MLFQ,
    Lottery = abi::SCHED_LOTTERY,
    Stride = abi::SCHED_STRIDE,
}

impl Policy {
    pub const ALL: [Policy; 8] = [
        Policy::Rr,
        Policy::Fifo,
        Policy::Coop,
        Policy::Sjf,
        Policy::Stcf,
        Policy::Mlfq,
        Policy::Lottery,
        Policy::Stride,
    ];

    /// The kernel's number for it (`BootInfo::sched`).
    pub fn abi(self) -> u32 {
        self as u32
    }

    /// The policy the kernel numbers `sched`, if it knows one.
    pub fn from_abi(sched: u32) -> Option<Policy> {
        Policy::ALL.into_iter().find(|p| p.abi() == sched)
    }

    /// Its name, as `--sched`, the kernel and the trace spell it.
    pub fn name(self) -> &'static str {
        abi::SCHED_NAMES[self.abi() as usize]
    }

    /// What it does, for `lde run --help`.
    fn help(self) -> &'static str {
        match self {
            Policy::Rr => "Round robin: the timer preempts a process when its slice is used",
            Policy::Fifo => "First come, first served: the timer ticks but never preempts",
            Policy::Coop => "Cooperative: no timer; processes switch only at yield, sleep, exit",
            Policy::Sjf => "Shortest job first (known lengths), never preempts",
            Policy::Stcf => "Shortest time-to-completion first: a shorter arrival preempts",
            Policy::Mlfq => "Multi-level feedback queue (OSTEP's rules 1-5, like mlfq.py)",
            Policy::Lottery => "Lottery: a draw at every decision (lottery.py's random numbers)",
            Policy::Stride => "Stride: deterministic proportional share",
        }
    }
}

impl ValueEnum for Policy {
    fn value_variants<'a>() -> &'a [Policy] {
        &Policy::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()).help(self.help()))
    }
}

crate::trace::record::named_set!(Policy, "scheduling policy");

/// Longest slice, quantum or boost period in ticks.
const MAX_TICKS: u64 = 1_000_000;

/// mlfq.py's I/O time when `--io-time` is not given.
pub const DEFAULT_IO_TIME: u64 = 5;

pub fn params(args: &RunArgs) -> Result<PolicyParams> {
    let sched = args.sched;
    let only = |given: bool, option: &str, for_what: &[Policy]| -> Result<()> {
        if given && !for_what.contains(&sched) {
            let names: Vec<&str> = for_what.iter().map(|s| s.name()).collect();
            return Err(bad_input(format!(
                "{option} is for --sched {}, not {}",
                names.join(" or "),
                sched.name()
            )));
        }
        Ok(())
    };
    use Policy::*;
    only(
        args.slice.is_some(),
        "--slice",
        &[Rr, Mlfq, Lottery, Stride],
    )?;
    for (given, option) in [
        (args.levels.is_some(), "--levels"),
        (args.allot.is_some(), "--allot"),
        (args.boost.is_some(), "--boost"),
        (args.io_stay, "--io-stay"),
        (args.io_bump, "--io-bump"),
        (args.io_time.is_some(), "--io-time"),
    ] {
        only(given, option, &[Mlfq])?;
    }
    only(args.seed.is_some(), "--seed", &[Lottery])?;

    let mut p = PolicyParams::DEFAULT;
    let slices = args
        .slice
        .as_deref()
        .map(|s| ticks_list(s, "--slice"))
        .transpose()?;
    if sched != Mlfq {
        if let Some(s) = slices {
            let [one] = s[..] else {
                return Err(bad_input(
                    "--slice takes one number of ticks here (a list is for mlfq's levels)",
                ));
            };
            p.slice_ticks = one;
        }
        p.seed = args.seed.unwrap_or(0);
        return Ok(p);
    }

    // mlfq: like mlfq.py, a list of quanta (-Q) sets the number of levels.
    let levels = match (&slices, args.levels) {
        (Some(q), Some(n)) if q.len() > 1 && q.len() != n as usize => {
            return Err(bad_input(format!(
                "--slice lists {} quanta but --levels is {n}",
                q.len()
            )))
        }
        (Some(q), _) if q.len() > 1 => q.len(),
        (_, Some(n)) => n as usize,
        (_, None) => p.levels as usize,
    };
    if !(1..=MAX_LEVELS).contains(&levels) {
        return Err(bad_input(format!(
            "mlfq has 1 to {MAX_LEVELS} levels, not {levels}"
        )));
    }
    p.levels = levels as u32;
    let per_level =
        |list: Option<Vec<u64>>, default: u32, option: &str| -> Result<[u32; MAX_LEVELS]> {
            let mut out = [default; MAX_LEVELS];
            match list.as_deref() {
                None => {}
                Some(&[one]) => out = [one as u32; MAX_LEVELS],
                Some(many) if many.len() == levels => {
                    for (o, v) in out.iter_mut().zip(many) {
                        *o = *v as u32;
                    }
                }
                Some(many) => {
                    return Err(bad_input(format!(
                        "{option} lists {} values for {levels} levels",
                        many.len()
                    )))
                }
            }
            Ok(out)
        };
    p.level_quantum = per_level(slices, 10, "--slice")?;
    let allots = args
        .allot
        .as_deref()
        .map(|s| ticks_list(s, "--allot"))
        .transpose()?;
    p.level_allot = per_level(allots, 1, "--allot")?;
    p.boost_ticks = match args.boost {
        Some(b) if b > MAX_TICKS => {
            return Err(bad_input(format!("--boost {b} is past {MAX_TICKS} ticks")))
        }
        b => b.unwrap_or(0),
    };
    p.flags =
        if args.io_stay { MLFQ_IO_STAY } else { 0 } | if args.io_bump { MLFQ_IO_BUMP } else { 0 };
    Ok(p)
}

/// `N[,N...]`: whole numbers of ticks from 1 to [`MAX_TICKS`].
fn ticks_list(s: &str, option: &str) -> Result<Vec<u64>> {
    s.split(',')
        .map(|v| match v.trim().parse::<u64>() {
            Ok(n) if (1..=MAX_TICKS).contains(&n) => Ok(n),
            _ => Err(bad_input(format!(
                "{option} '{s}': '{v}' is not a number of ticks from 1 to {MAX_TICKS}"
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<PolicyParams> {
        let argv = ["lde", "run"].iter().chain(args);
        let Some(Command::Run(run)) = Cli::parse_from(argv).command else {
            unreachable!()
        };
        params(&run)
    }

    #[test]
    fn one_name_for_the_cli_the_kernel_and_the_trace() {
        assert_eq!(Policy::ALL.len(), abi::SCHED_NAMES.len());
        for (i, name) in abi::SCHED_NAMES.iter().enumerate() {
            let p = Policy::from_abi(i as u32).unwrap();
            assert_eq!((p.abi(), p.name()), (i as u32, *name));
            assert_eq!(Policy::from_str(name, false), Ok(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<Policy>(&format!("\"{name}\"")).unwrap(),
                p
            );
        }
        assert_eq!(Policy::from_abi(abi::SCHED_NAMES.len() as u32), None);
        assert!(serde_json::from_str::<Policy>("\"lifo\"").is_err());
        let Some(Command::Run(run)) = Cli::parse_from(["lde", "run"]).command else {
            unreachable!()
        };
        assert_eq!(run.sched, Policy::Rr);
    }

    #[test]
    fn defaults_are_ostep_simulators() {
        let p = parse(&[]).unwrap();
        assert_eq!(p, PolicyParams::DEFAULT);
        assert_eq!(
            parse(&["--sched", "rr", "--slice", "5"])
                .unwrap()
                .slice_ticks,
            5
        );
        assert_eq!(
            parse(&["--sched", "lottery", "--seed", "3"]).unwrap().seed,
            3
        );
    }

    #[test]
    fn mlfq_lists_like_mlfq_py() {
        let p = parse(&[
            "--sched",
            "mlfq",
            "--slice",
            "2,4,8",
            "--allot",
            "1,2,3",
            "--boost",
            "50",
            "--io-stay",
        ])
        .unwrap();
        assert_eq!(p.levels, 3);
        assert_eq!(p.level_quantum[..3], [2, 4, 8]);
        assert_eq!(p.level_allot[..3], [1, 2, 3]);
        assert_eq!((p.boost_ticks, p.flags), (50, MLFQ_IO_STAY));
        let p = parse(&["--sched", "mlfq", "--levels", "2", "--slice", "5"]).unwrap();
        assert_eq!((p.levels, p.level_quantum[1]), (2, 5));
    }

    #[test]
    fn options_of_another_policy_are_refused() {
        for bad in [
            &["--boost", "5"][..],
            &["--sched", "fifo", "--slice", "2"],
            &["--sched", "stride", "--seed", "1"],
            &["--sched", "mlfq", "--slice", "2,4", "--levels", "3"],
            &["--sched", "mlfq", "--allot", "1,2"],
            &["--sched", "mlfq", "--levels", "9"],
            &["--sched", "rr", "--slice", "0"],
            &["--sched", "rr", "--slice", "1,2"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
