//! The CPU and I/O phases of a `cpuio` job, from its arguments.
//!
//! Two forms: a list of phases, `c4 s5 c3` (compute 4 ticks, block 5,
//! compute 3: CPU bursts and I/Os alternate, first and last a burst), and
//! OSTEP's MLFQ homework's job, `run=R every=F io=I` (R ticks of CPU in all,
//! an I/O of I ticks after every F ticks of CPU unless the job is done
//! then; `every=0` never blocks). The VMM reads the arguments and hands the
//! kernel the job's length and I/O pattern ([`crate::boot::Job`]) before it
//! runs, so that the kernel blocks it on exactly the right ticks whatever
//! the host's speed; the program computes for its whole length.

use crate::boot::{Job, MAX_IO_POINTS};

/// One phase, in ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Cpu(u64),
    Io(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    List,
    Periodic { left: u64, every: u64, io: u64 },
}

/// The phases of a job, in order.
#[derive(Clone, Debug)]
pub struct Plan<I> {
    form: Form,
    tokens: I,
    /// Periodic form: the next phase is an I/O.
    io_next: bool,
}

/// What the arguments should look like.
pub const USAGE: &str = "cpuio c4 s5 c3 ...   or   cpuio run=R every=F io=I";

/// Read and check the arguments (all of them, before anything runs).
pub fn plan<'a, I>(args: I) -> Result<Plan<I>, &'static str>
where
    I: Iterator<Item = &'a str> + Clone,
{
    let periodic = args.clone().any(|a| a.contains('='));
    let form = if periodic {
        let (mut run, mut every, mut io) = (None, None, None);
        for a in args.clone() {
            let (key, value) = a.split_once('=').ok_or("mixes the two forms")?;
            let value: u64 = value.parse().map_err(|_| "a value is not a number")?;
            let slot = match key {
                "run" => &mut run,
                "every" => &mut every,
                "io" => &mut io,
                _ => return Err("unknown key (run, every, io)"),
            };
            if slot.replace(value).is_some() {
                return Err("a key is given twice");
            }
        }
        let run = run
            .filter(|&r| r > 0)
            .ok_or("run=R with R at least 1 is needed")?;
        let every = every.unwrap_or(0);
        let io = io.unwrap_or(0);
        if every > 0 && io == 0 {
            return Err("every=F needs io=I with I at least 1");
        }
        Form::Periodic {
            left: run,
            every,
            io,
        }
    } else {
        let mut count = 0;
        for a in args.clone() {
            let p = phase(a).ok_or("a phase is not cN or sN with N at least 1")?;
            // Bursts on even positions, I/Os on odd ones.
            if matches!(p, Phase::Io(_)) != (count % 2 == 1) {
                return Err("bursts (cN) and I/Os (sN) alternate, starting with a burst");
            }
            count += 1;
        }
        if count % 2 == 0 {
            return Err("the last phase must be a CPU burst (cN)");
        }
        Form::List
    };
    Ok(Plan {
        form,
        tokens: args,
        io_next: false,
    })
}

fn phase(token: &str) -> Option<Phase> {
    let n: u64 = token.get(1..)?.parse().ok().filter(|&n| n > 0)?;
    match token.as_bytes()[0] {
        b'c' => Some(Phase::Cpu(n)),
        b's' => Some(Phase::Io(n)),
        _ => None,
    }
}

impl<'a, I: Iterator<Item = &'a str> + Clone> Plan<I> {
    /// Ticks of CPU in all: the job's length.
    pub fn cpu_ticks(&self) -> u64 {
        self.clone()
            .map(|p| match p {
                Phase::Cpu(n) => n,
                Phase::Io(_) => 0,
            })
            .sum()
    }

    /// Fill in `job`'s length and I/O pattern.
    pub fn describe(&self, job: &mut Job) -> Result<(), &'static str> {
        job.length_ticks = self.cpu_ticks();
        if let Form::Periodic { every, io, .. } = self.form {
            job.io_every = every;
            job.io_ticks = io;
            return Ok(());
        }
        let mut cpu = 0;
        for p in self.clone() {
            match p {
                Phase::Cpu(n) => cpu += n,
                Phase::Io(n) => {
                    let i = job.io_count as usize;
                    if i == MAX_IO_POINTS {
                        return Err("more I/Os than the kernel takes (8)");
                    }
                    let at = u32::try_from(cpu).map_err(|_| "a burst is too long")?;
                    job.io_at[i] = at;
                    job.io_len[i] = u32::try_from(n).map_err(|_| "an I/O is too long")?;
                    job.io_count += 1;
                }
            }
        }
        Ok(())
    }
}

impl<'a, I: Iterator<Item = &'a str>> Iterator for Plan<I> {
    type Item = Phase;

    fn next(&mut self) -> Option<Phase> {
        match &mut self.form {
            Form::List => self.tokens.next().and_then(phase),
            Form::Periodic { left, every, io } => {
                if *left == 0 {
                    return None;
                }
                if self.io_next {
                    self.io_next = false;
                    return Some(Phase::Io(*io));
                }
                let burst = if *every == 0 {
                    *left
                } else {
                    (*every).min(*left)
                };
                *left -= burst;
                self.io_next = *left > 0;
                Some(Phase::Cpu(burst))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn phases(args: &str) -> Result<Vec<Phase>, &'static str> {
        plan(args.split(' ')).map(|p| p.collect())
    }

    #[test]
    fn a_list_of_phases() {
        use Phase::*;
        assert_eq!(phases("c4 s5 c3").unwrap(), [Cpu(4), Io(5), Cpu(3)]);
        assert_eq!(plan("c4 s5 c3".split(' ')).unwrap().cpu_ticks(), 7);
    }

    #[test]
    fn the_mlfq_homework_form() {
        use Phase::*;
        // mlfq.py: run 7, I/O every 3: c3 io c3 io c1 (no I/O at the end).
        assert_eq!(
            phases("run=7 every=3 io=5").unwrap(),
            [Cpu(3), Io(5), Cpu(3), Io(5), Cpu(1)]
        );
        assert_eq!(
            phases("run=6 every=3 io=2").unwrap(),
            [Cpu(3), Io(2), Cpu(3)]
        );
        assert_eq!(phases("run=6").unwrap(), [Cpu(6)]);
        assert_eq!(
            plan("run=7 every=3 io=5".split(' ')).unwrap().cpu_ticks(),
            7
        );
    }

    #[test]
    fn jobs_say_where_the_ios_are() {
        let mut job = Job::NONE;
        let p = plan("c4 s5 c3 s1 c2".split(' ')).unwrap();
        p.describe(&mut job).unwrap();
        assert_eq!((job.length_ticks, job.io_count), (9, 2));
        assert_eq!(
            (&job.io_at[..2], &job.io_len[..2]),
            (&[4, 7][..], &[5, 1][..])
        );
        assert_eq!(job.io_due(4), Some(5));
        assert_eq!(job.io_due(5), None);
        assert_eq!(
            (job.next_io(0), job.next_io(4), job.next_io(7)),
            (Some(4), Some(7), None)
        );
        let mut job = Job::NONE;
        let p = plan("run=7 every=3 io=5".split(' ')).unwrap();
        p.describe(&mut job).unwrap();
        assert_eq!((job.length_ticks, job.io_every, job.io_ticks), (7, 3, 5));
        assert_eq!(
            (job.io_due(3), job.io_due(6), job.io_due(4)),
            (Some(5), Some(5), None)
        );
        assert_eq!(
            (job.next_io(0), job.next_io(3), job.next_io(5)),
            (Some(3), Some(6), Some(6))
        );
        let mut job = Job::NONE;
        let p = plan("run=6 every=3 io=5".split(' ')).unwrap();
        p.describe(&mut job).unwrap();
        assert_eq!(job.io_due(6), None, "no I/O once the job is done");
    }

    #[test]
    fn bad_arguments() {
        for bad in [
            "",
            "c0",
            "x4",
            "c4 s",
            "s4 c1",
            "c1 c2",
            "c1 s2 s3 c1",
            "c1 s2",
            "run=0",
            "run=5 every=2",
            "run=5 c4",
            "run=5 run=6",
            "pace=3",
        ] {
            assert!(phases(bad).is_err(), "{bad:?}");
        }
    }
}
