//! `sjf`: Shortest Job First (OSTEP, *Scheduling: Introduction*).
//!
//! Rules: when the CPU is free, run the runnable job with the least CPU
//! time left (its length is known when it arrives: `Job::length`); once
//! running, a job keeps the CPU until it finishes, blocks or yields — SJF
//! never preempts, so a long job that got there first still convoys the
//! short ones behind it. Equal lengths go in arrival order, as
//! `scheduler.py -p SJF`'s stable sort does; a job of unknown length counts
//! as longer than any known one.

use lde_abi::boot::{SCHED_NAMES, SCHED_SJF, SCHED_STCF};

use super::policy::{Admit, Charged, Job, Leave, Pick, Policy, Slot, Then, Why, CAPACITY};

/// The runnable jobs with what each has left: SJF, or STCF when
/// `preemptive` (see stcf.rs; they differ only in that).
pub struct ShortestFirst {
    preemptive: bool,
    /// Ticks left (meaningless when the length is unknown).
    left: [u64; CAPACITY],
    known: [bool; CAPACITY],
    runnable: [bool; CAPACITY],
    /// Admission order, for ties.
    ready_seq: [u64; CAPACITY],
    next_seq: u64,
    /// The job the last pick chose, while it stays runnable.
    running: Option<Slot>,
    /// One past the highest slot admitted (the scans stop there).
    end: usize,
}

pub const fn sjf() -> ShortestFirst {
    ShortestFirst::with_preemption(false)
}

impl ShortestFirst {
    pub const fn with_preemption(preemptive: bool) -> Self {
        ShortestFirst {
            preemptive,
            left: [0; CAPACITY],
            known: [false; CAPACITY],
            runnable: [false; CAPACITY],
            ready_seq: [0; CAPACITY],
            next_seq: 0,
            running: None,
            end: 0,
        }
    }

    /// Sort key: time left (unknown = longest), then arrival order.
    fn key(&self, slot: Slot) -> (u64, u64) {
        let left = if self.known[slot] {
            self.left[slot]
        } else {
            u64::MAX
        };
        (left, self.ready_seq[slot])
    }

    fn remaining(&self, slot: Slot) -> u64 {
        self.key(slot).0
    }

    /// The runnable job with the least left.
    fn shortest(&self) -> Option<Slot> {
        (0..self.end)
            .filter(|&s| self.runnable[s])
            .min_by_key(|&s| self.key(s))
    }

    fn enqueue(&mut self, slot: Slot) {
        self.end = self.end.max(slot + 1);
        self.runnable[slot] = true;
        self.ready_seq[slot] = self.next_seq;
        self.next_seq += 1;
    }

    fn off_cpu(&mut self, slot: Slot) {
        if self.running == Some(slot) {
            self.running = None;
        }
    }
}

impl Policy for ShortestFirst {
    fn name(&self) -> &'static str {
        SCHED_NAMES[if self.preemptive {
            SCHED_STCF
        } else {
            SCHED_SJF
        } as usize]
    }
    fn admit(&mut self, slot: Slot, job: &Job, how: Admit) {
        if how == Admit::Arrive {
            self.left[slot] = job.length;
            self.known[slot] = job.length != 0;
        }
        self.enqueue(slot);
    }
    fn charge(&mut self, slot: Slot, then: Then) -> Charged {
        self.left[slot] = self.left[slot].saturating_sub(1);
        if then != Then::Runs {
            self.runnable[slot] = false;
            self.off_cpu(slot);
        }
        Charged::default()
    }
    fn leave(&mut self, slot: Slot, how: Leave) {
        self.runnable[slot] = false;
        self.off_cpu(slot);
        if how == Leave::Yields {
            // Behind every job of the same length.
            self.enqueue(slot);
        }
    }
    fn quiet_ticks(&self, slot: Slot, _now: u64) -> u64 {
        // With nothing admitted since the last pick, the job it chose has
        // no more left than any other (STCF) and only gets shorter.
        if self.running == Some(slot) {
            u64::MAX
        } else {
            0
        }
    }
    fn ran_quietly(&mut self, slot: Slot, ticks: u64) {
        self.left[slot] = self.left[slot].saturating_sub(ticks);
    }
    fn pick(&mut self) -> Option<Pick> {
        let best = self.shortest()?;
        let remaining = self.remaining(best);
        let why = match self.running {
            // SJF never preempts; STCF does when the best has strictly less left.
            Some(run) if !self.preemptive || run == best || self.remaining(run) <= remaining => {
                return Some(Pick {
                    slot: run,
                    why: None,
                })
            }
            Some(_) => Why::Preempts { remaining },
            None => Why::Shortest { remaining },
        };
        self.running = Some(best);
        Some(Pick {
            slot: best,
            why: Some(why),
        })
    }
}
