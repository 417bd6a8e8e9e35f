//! `lottery`: proportional share by lottery (OSTEP, *Scheduling:
//! Proportional Share*).
//!
//! Rules: each job holds tickets; at every scheduling decision — the end of
//! the winner's slice (`--slice`, lottery.py `-q`, default 1 tick), or when
//! the winner leaves the CPU — the scheduler draws a winning ticket among
//! the runnable jobs' tickets and runs its holder. Over time each job's
//! share of the CPU approaches its share of the tickets; over a short run it
//! is only probably fair.
//!
//! The draw is `lottery.py -c`'s: `r = int(random.random() * 1000001)`, the
//! winning ticket `r % total`, and the holder found by walking the jobs in
//! pid order, counting their tickets until the count passes the winner.
//! With the same seed ([`PyRandom`]) the kernel draws the same numbers.
//! (lottery.py's clock moves a whole quantum even when the winner finishes
//! sooner; the kernel goes on at once, so with `-q` above 1 the draws agree
//! but the times may not.)

use lde_abi::boot::{SCHED_LOTTERY, SCHED_NAMES};

use super::policy::{Admit, Charged, Job, Leave, Pick, Policy, Slot, Then, Why, CAPACITY};
use super::pyrandom::PyRandom;
use super::slice::Shares;

pub struct Lottery {
    rng: PyRandom,
    tickets: [u64; CAPACITY],
    /// The runnable jobs' tickets.
    total: u64,
    shares: Shares,
}

impl Lottery {
    pub fn new(seed: u64, slice: u64) -> Self {
        Lottery {
            rng: PyRandom::new(seed),
            tickets: [0; CAPACITY],
            total: 0,
            shares: Shares::new(slice),
        }
    }

    /// One draw: the winning ticket and its holder.
    fn draw(&mut self) -> (u64, Slot) {
        let r = (self.rng.random() * 1_000_001.0) as u64;
        let winner = r % self.total;
        let mut counted = 0;
        for slot in self.shares.runnable() {
            counted += self.tickets[slot];
            if counted > winner {
                return (winner, slot);
            }
        }
        unreachable!("the winning ticket is below the total")
    }
}

impl Policy for Lottery {
    fn name(&self) -> &'static str {
        SCHED_NAMES[SCHED_LOTTERY as usize]
    }

    fn admit(&mut self, slot: Slot, job: &Job, how: Admit) {
        if how == Admit::Arrive {
            self.tickets[slot] = job.tickets.max(1);
        }
        if self.shares.add(slot) {
            self.total += self.tickets[slot];
        }
    }

    fn charge(&mut self, slot: Slot, then: Then) -> Charged {
        if self.shares.charge(slot, then) {
            self.total -= self.tickets[slot];
        }
        Charged::default()
    }

    fn leave(&mut self, slot: Slot, how: Leave) {
        if self.shares.leave(slot, how) {
            self.total -= self.tickets[slot];
        }
    }

    fn quiet_ticks(&self, slot: Slot, _now: u64) -> u64 {
        self.shares.quiet_ticks(slot)
    }

    fn ran_quietly(&mut self, _slot: Slot, ticks: u64) {
        self.shares.ran_quietly(ticks);
    }

    fn pick(&mut self) -> Option<Pick> {
        if let Some(slot) = self.shares.going_on() {
            return Some(Pick { slot, why: None });
        }
        if self.total == 0 {
            self.shares.clear();
            return None;
        }
        let (winner, slot) = self.draw();
        self.shares.start(slot);
        Some(Pick {
            slot,
            why: Some(Why::Lottery {
                winner,
                total: self.total,
            }),
        })
    }
}
