//! The time slice of the job a policy chose last: lottery and stride
//! decide again only when it is used up or the job leaves the CPU. Around
//! it, [`Shares`]: the bookkeeping the two proportional-share policies have
//! in common (which jobs are runnable, and when a job stops being), so that
//! each keeps only its own currency: lottery's tickets, stride's passes.

use super::policy::{Leave, Slot, Then, CAPACITY};

pub struct Slice {
    current: Option<Slot>,
    left: u64,
    len: u64,
}

impl Slice {
    /// Slices of `len` ticks (at least 1).
    pub const fn new(len: u64) -> Self {
        Slice {
            current: None,
            left: 0,
            len: if len == 0 { 1 } else { len },
        }
    }

    /// The chosen job while its slice lasts: no decision is due.
    pub fn going_on(&self) -> Option<Slot> {
        self.current.filter(|_| self.left > 0)
    }

    /// `slot` was chosen: a fresh slice.
    pub fn start(&mut self, slot: Slot) {
        self.current = Some(slot);
        self.left = self.len;
    }

    /// The running job was charged a tick.
    pub fn charge(&mut self) {
        self.left = self.left.saturating_sub(1);
    }

    /// Quiet ticks ahead for `slot`: those its slice lasts beyond the
    /// next charge, if it is the chosen job.
    pub fn quiet_ticks(&self, slot: Slot) -> u64 {
        if self.current == Some(slot) {
            self.left.saturating_sub(1)
        } else {
            0
        }
    }

    /// `ticks` quiet ticks were charged to the chosen job.
    pub fn ran_quietly(&mut self, ticks: u64) {
        self.left -= ticks;
    }

    /// It yields: the slice ends now.
    pub fn end(&mut self) {
        self.left = 0;
    }

    /// `slot` is no longer runnable.
    pub fn stop(&mut self, slot: Slot) {
        if self.current == Some(slot) {
            self.current = None;
        }
    }

    pub fn clear(&mut self) {
        self.current = None;
    }
}

/// Runnable jobs and the chosen job's slice, for lottery and stride.
pub struct Shares {
    runnable: [bool; CAPACITY],
    /// One past the highest slot admitted (scans stop there).
    end: usize,
    slice: Slice,
}

impl Shares {
    /// Slices of `slice` ticks (at least 1).
    pub const fn new(slice: u64) -> Self {
        Shares {
            runnable: [false; CAPACITY],
            end: 0,
            slice: Slice::new(slice),
        }
    }

    /// `slot` is runnable; false if it already was.
    pub fn add(&mut self, slot: Slot) -> bool {
        self.end = self.end.max(slot + 1);
        !core::mem::replace(&mut self.runnable[slot], true)
    }

    /// The running job `slot` was charged a tick and `then` happens to it;
    /// true if that took it off the runnable set (it was on it).
    pub fn charge(&mut self, slot: Slot, then: Then) -> bool {
        self.slice.charge();
        then != Then::Runs && self.remove(slot)
    }

    /// `slot` leaves the CPU; true if that took it off the runnable set.
    pub fn leave(&mut self, slot: Slot, how: Leave) -> bool {
        match how {
            Leave::Yields => {
                self.slice.end();
                false
            }
            Leave::Sleeps | Leave::Exits => self.remove(slot),
        }
    }

    fn remove(&mut self, slot: Slot) -> bool {
        self.slice.stop(slot);
        core::mem::replace(&mut self.runnable[slot], false)
    }

    /// The runnable slots, lowest first.
    pub fn runnable(&self) -> impl Iterator<Item = Slot> + '_ {
        (0..self.end).filter(|&s| self.runnable[s])
    }

    /// The chosen job while its slice lasts: no decision is due.
    pub fn going_on(&self) -> Option<Slot> {
        self.slice.going_on()
    }

    /// Quiet ticks ahead for `slot` (see [`Slice::quiet_ticks`]).
    pub fn quiet_ticks(&self, slot: Slot) -> u64 {
        self.slice.quiet_ticks(slot)
    }

    /// `ticks` quiet ticks were charged to the chosen job.
    pub fn ran_quietly(&mut self, ticks: u64) {
        self.slice.ran_quietly(ticks);
    }

    /// `slot` was chosen: a fresh slice.
    pub fn start(&mut self, slot: Slot) {
        self.slice.start(slot);
    }

    /// Nothing is runnable: no job is chosen.
    pub fn clear(&mut self) {
        self.slice.clear();
    }
}
