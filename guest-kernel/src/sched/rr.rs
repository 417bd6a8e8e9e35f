//! `rr`: round robin (OSTEP, *Scheduling: Introduction*).
//!
//! Rules: runnable jobs wait in one queue in arrival order; the job at the
//! front runs for a time slice of `slice` ticks (`--slice`, scheduler.py
//! `-q`, default 1), then goes to the back if anyone else is waiting. A new
//! or woken job joins the back. The slice is a number of timer ticks, so
//! it is separate from the timer period (`--quantum`).

use lde_abi::boot::{SCHED_NAMES, SCHED_RR};

use super::policy::{Admit, Charged, Job, Leave, Pick, Policy, Slot, Then, Why};
use super::queue::SlotQueue;

pub struct RoundRobin {
    name: &'static str,
    queue: SlotQueue,
    slice: u64,
    /// Ticks the front job has used of its slice.
    used: u64,
    running: Option<Slot>,
    pending: Option<Why>,
}

impl RoundRobin {
    pub const fn new(slice: u64) -> Self {
        Self::named(SCHED_NAMES[SCHED_RR as usize], slice)
    }

    pub const fn named(name: &'static str, slice: u64) -> Self {
        RoundRobin {
            name,
            queue: SlotQueue::EMPTY,
            slice: if slice == 0 { 1 } else { slice },
            used: 0,
            running: None,
            pending: None,
        }
    }

    fn off_cpu(&mut self, slot: Slot) {
        self.queue.remove(slot);
        if self.running == Some(slot) {
            self.running = None;
        }
    }
}

impl Policy for RoundRobin {
    fn name(&self) -> &'static str {
        self.name
    }
    fn admit(&mut self, slot: Slot, _job: &Job, _how: Admit) {
        self.queue.push_back(slot);
    }
    fn charge(&mut self, slot: Slot, then: Then) -> Charged {
        if then != Then::Runs {
            self.off_cpu(slot);
            return Charged::default();
        }
        self.used += 1;
        if self.used >= self.slice && self.queue.len() > 1 {
            self.queue.rotate();
            self.pending = Some(Why::SliceUsed);
        }
        Charged::default()
    }
    fn leave(&mut self, slot: Slot, how: Leave) {
        self.off_cpu(slot);
        if how == Leave::Yields {
            self.queue.push_back(slot);
        }
    }
    fn quiet_ticks(&self, slot: Slot, _now: u64) -> u64 {
        // The job on the CPU is the front of the queue since the pick that
        // chose it; each tick's charge then pick: its slice goes on, or it
        // is alone and a fresh slice starts.
        if self.pending.is_some() || self.running != Some(slot) {
            0
        } else if self.queue.len() > 1 {
            (self.slice - self.used).saturating_sub(1)
        } else {
            u64::MAX
        }
    }
    fn ran_quietly(&mut self, _slot: Slot, ticks: u64) {
        // `used` < `slice` after a pick; alone, it starts over at `slice`
        // ((used + ticks) mod slice, without overflow).
        if self.queue.len() > 1 {
            self.used += ticks;
            return;
        }
        let r = ticks % self.slice;
        let room = self.slice - self.used;
        self.used = if r >= room { r - room } else { self.used + r };
    }
    fn pick(&mut self) -> Option<Pick> {
        let Some(slot) = self.queue.front() else {
            self.running = None;
            return None;
        };
        let why = match self.pending.take() {
            None if self.running == Some(slot) => {
                if self.used >= self.slice {
                    // Alone: a fresh slice, no decision.
                    self.used = 0;
                }
                return Some(Pick { slot, why: None });
            }
            None => Why::Next,
            Some(why) => why,
        };
        self.used = 0;
        self.running = Some(slot);
        Some(Pick {
            slot,
            why: Some(why),
        })
    }
}
