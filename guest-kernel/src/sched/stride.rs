//! `stride`: stride scheduling, the deterministic proportional share
//! (OSTEP, *Scheduling: Proportional Share*).
//!
//! Rules: each job's stride is [`BIG`] divided by its tickets; each has a
//! pass, starting at 0. At every decision (the end of the winner's slice,
//! `--slice`, default 1 tick, or when it leaves the CPU) run the runnable
//! job with the lowest pass (on a tie, the lowest pid) and advance its pass
//! by its stride. Over any run, shares are exactly proportional to tickets
//! whenever the tickets divide `BIG` (the chapter's 100, 50 and 250 do).
//!
//! The chapter leaves open what pass a newcomer gets; 0 would let it
//! monopolize the CPU. Here it gets the pass of the last job chosen (the
//! lowest pass in the system then), and a job back from I/O the larger of
//! its own pass and that one, so sleeping earns no credit.

use lde_abi::boot::{SCHED_NAMES, SCHED_STRIDE};

use super::policy::{Admit, Charged, Job, Leave, Pick, Policy, Slot, Then, Why, CAPACITY};
use super::slice::Shares;

/// The chapter's large number (its example uses 10,000).
pub const BIG: u64 = 10_000;

pub struct Stride {
    stride: [u64; CAPACITY],
    pass: [u64; CAPACITY],
    /// Pass of the last job chosen, before it advanced.
    global: u64,
    shares: Shares,
}

impl Stride {
    pub fn new(slice: u64) -> Self {
        Stride {
            stride: [0; CAPACITY],
            pass: [0; CAPACITY],
            global: 0,
            shares: Shares::new(slice),
        }
    }
}

impl Policy for Stride {
    fn name(&self) -> &'static str {
        SCHED_NAMES[SCHED_STRIDE as usize]
    }

    fn admit(&mut self, slot: Slot, job: &Job, how: Admit) {
        match how {
            Admit::Arrive => {
                self.stride[slot] = (BIG / job.tickets.max(1)).max(1);
                self.pass[slot] = self.global;
            }
            Admit::Wake => self.pass[slot] = self.pass[slot].max(self.global),
        }
        self.shares.add(slot);
    }

    fn charge(&mut self, slot: Slot, then: Then) -> Charged {
        self.shares.charge(slot, then);
        Charged::default()
    }

    fn leave(&mut self, slot: Slot, how: Leave) {
        self.shares.leave(slot, how);
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
        let Some(slot) = self.shares.runnable().min_by_key(|&s| self.pass[s]) else {
            self.shares.clear();
            return None;
        };
        let pass = self.pass[slot];
        self.global = pass;
        self.pass[slot] += self.stride[slot];
        self.shares.start(slot);
        Some(Pick {
            slot,
            why: Some(Why::Stride { pass }),
        })
    }
}
