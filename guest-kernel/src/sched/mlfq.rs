//! `mlfq`: the Multi-Level Feedback Queue (OSTEP, *Scheduling: The
//! Multi-Level Feedback Queue*), tick for tick as the homework simulator
//! `cpu-sched-mlfq/mlfq.py -c` runs it.
//!
//! OSTEP's rules, with level 0 the top (mlfq.py numbers its queues the other
//! way: its priority is `levels - 1 - level`):
//! 1. if A's level is higher than B's, A runs (a job waiting at a higher
//!    level takes the CPU at the next tick);
//! 2. jobs at the same level take turns, round robin, each for the level's
//!    quantum (a job preempted by a higher level keeps its place at the
//!    front of its queue and the rest of its quantum);
//! 3. a new job enters at the top level;
//! 4. once a job has used up its allotment at a level (`allot` quanta),
//!    however many times it gave up the CPU on the way, it moves down one
//!    level. Blocking for I/O does not reset what it has used (the gaming
//!    fix) unless `stay` is set (mlfq.py `-S`, the gameable rule: I/O
//!    resets the quantum and allotment);
//! 5. every `boost` ticks (mlfq.py `-B`), every job moves to the top level.
//!
//! Details that decide exact answers, all mlfq.py's: a job back from I/O
//! joins the back of its level's queue, or the front with `bump` (`-I`);
//! a job that blocks at the very tick its quantum ends is charged the
//! quantum (and, with `-S`, charged after its reset); at a boost the jobs
//! of the lower levels join the top queue bottom level first, and every
//! job's quantum counter is set to the top level's *allotment* while its
//! allotment counter is left as it was; the boost comes before the I/O
//! completions and arrivals of the same tick, which come before the pick.

use lde_abi::boot::{SCHED_MLFQ, SCHED_NAMES};

use super::policy::{Admit, Charged, Job, Leave, Pick, Policy, Slot, Then, Why, CAPACITY};
use super::queue::SlotQueue;

/// Most levels.
pub const MAX_LEVELS: usize = lde_abi::boot::MAX_LEVELS;

/// `mlfq.py`'s settings.
#[derive(Clone, Copy, Debug)]
pub struct MlfqConfig {
    pub levels: usize,
    /// Quantum of each level in ticks, top first (`-q`/`-Q`).
    pub quantum: [u64; MAX_LEVELS],
    /// Allotment of each level in quanta, top first (`-a`/`-A`).
    pub allot: [u64; MAX_LEVELS],
    /// Boost period in ticks, 0 = never (`-B`).
    pub boost: u64,
    /// I/O resets the quantum and allotment (`-S`).
    pub stay: bool,
    /// A job back from I/O goes to the front of its queue (`-I`).
    pub bump: bool,
}

impl MlfqConfig {
    /// mlfq.py's defaults: 3 levels, quantum 10, allotment 1, no boost.
    pub const DEFAULT: MlfqConfig = MlfqConfig {
        levels: 3,
        quantum: [10; MAX_LEVELS],
        allot: [1; MAX_LEVELS],
        boost: 0,
        stay: false,
        bump: false,
    };
}

pub struct Mlfq {
    cfg: MlfqConfig,
    queues: [SlotQueue; MAX_LEVELS],
    level: [u8; CAPACITY],
    /// Ticks left of the current quantum, and quanta left of the allotment.
    ticks_left: [u64; CAPACITY],
    allot_left: [u64; CAPACITY],
    /// Admitted and not yet exited (a boost lifts sleeping jobs too).
    alive: [bool; CAPACITY],
    /// The job the last pick chose, and why the next pick is a decision.
    running: Option<Slot>,
    pending: Option<Why>,
}

impl Mlfq {
    pub fn new(mut cfg: MlfqConfig) -> Self {
        cfg.levels = cfg.levels.clamp(1, MAX_LEVELS);
        Mlfq {
            cfg,
            queues: [const { SlotQueue::EMPTY }; MAX_LEVELS],
            level: [0; CAPACITY],
            ticks_left: [0; CAPACITY],
            allot_left: [0; CAPACITY],
            alive: [false; CAPACITY],
            running: None,
            pending: None,
        }
    }

    fn set_level(&mut self, slot: Slot, level: usize) {
        self.level[slot] = level as u8;
        self.ticks_left[slot] = self.cfg.quantum[level];
        self.allot_left[slot] = self.cfg.allot[level];
    }

    fn off_cpu(&mut self, slot: Slot) {
        if self.running == Some(slot) {
            self.running = None;
        }
    }

    /// It blocks for I/O: out of its queue; with `stay`, a fresh quantum
    /// and allotment at its level.
    fn block(&mut self, slot: Slot) {
        let level = self.level[slot] as usize;
        self.queues[level].remove(slot);
        if self.cfg.stay {
            self.set_level(slot, level);
        }
        self.off_cpu(slot);
    }
}

impl Policy for Mlfq {
    fn name(&self) -> &'static str {
        SCHED_NAMES[SCHED_MLFQ as usize]
    }

    fn admit(&mut self, slot: Slot, _job: &Job, how: Admit) {
        match how {
            Admit::Arrive => {
                self.alive[slot] = true;
                self.set_level(slot, 0);
                self.queues[0].push_back(slot);
            }
            Admit::Wake => {
                let q = &mut self.queues[self.level[slot] as usize];
                if self.cfg.bump {
                    q.push_front(slot)
                } else {
                    q.push_back(slot)
                }
            }
        }
    }

    fn charge(&mut self, slot: Slot, then: Then) -> Charged {
        let level = self.level[slot] as usize;
        if then == Then::Exits {
            self.alive[slot] = false;
            self.queues[level].remove(slot);
            self.off_cpu(slot);
            return Charged::default();
        }
        self.ticks_left[slot] = self.ticks_left[slot].saturating_sub(1);
        let quantum_over = self.ticks_left[slot] == 0;
        let blocks = then == Then::Sleeps;
        if blocks {
            self.block(slot);
        }
        let mut charged = Charged::default();
        if !quantum_over {
            return charged;
        }
        // The quantum ended (rule 4's accounting, I/O or not).
        if !blocks {
            self.queues[level].remove(slot);
            self.off_cpu(slot);
        }
        self.allot_left[slot] = self.allot_left[slot].saturating_sub(1);
        let next = if self.allot_left[slot] == 0 {
            let down = (level + 1).min(self.cfg.levels - 1);
            if down != level {
                charged.demoted = Some((level as u8, down as u8));
                self.pending = Some(Why::Demoted {
                    from: level as u64,
                    to: down as u64,
                });
            }
            self.set_level(slot, down);
            down
        } else {
            self.ticks_left[slot] = self.cfg.quantum[level];
            level
        };
        if !blocks {
            self.queues[next].push_back(slot);
            if self.pending.is_none() {
                self.pending = Some(Why::SliceUsed);
            }
        }
        charged
    }

    fn leave(&mut self, slot: Slot, how: Leave) {
        let level = self.level[slot] as usize;
        match how {
            Leave::Yields => {
                // Keeps what it has used (rule 4): back of its queue.
                self.queues[level].remove(slot);
                self.queues[level].push_back(slot);
                self.off_cpu(slot);
            }
            Leave::Sleeps => self.block(slot),
            Leave::Exits => {
                self.alive[slot] = false;
                self.queues[level].remove(slot);
                self.off_cpu(slot);
            }
        }
    }

    fn tick(&mut self, now: u64) -> bool {
        let b = self.cfg.boost;
        if b == 0 || now == 0 || now % b != 0 {
            return false;
        }
        // Lower levels join the top queue, the bottom level first.
        for level in (1..self.cfg.levels).rev() {
            while let Some(slot) = self.queues[level].pop_front() {
                self.queues[0].push_back(slot);
            }
        }
        for slot in 0..CAPACITY {
            if self.alive[slot] {
                self.level[slot] = 0;
                self.ticks_left[slot] = self.cfg.allot[0];
            }
        }
        self.pending = Some(Why::Boost);
        true
    }

    fn quiet_ticks(&self, slot: Slot, now: u64) -> u64 {
        // The job on the CPU heads the highest non-empty level since the
        // pick that chose it; quiet while its quantum lasts and no boost
        // is due.
        if self.pending.is_some() || self.running != Some(slot) {
            return 0;
        }
        let quantum = self.ticks_left[slot].saturating_sub(1);
        let b = self.cfg.boost;
        if b == 0 {
            return quantum;
        }
        // The next boost comes at the first multiple of `b` after `now`.
        quantum.min(b - 1 - now % b)
    }
    fn ran_quietly(&mut self, slot: Slot, ticks: u64) {
        self.ticks_left[slot] -= ticks;
    }
    fn pick(&mut self) -> Option<Pick> {
        let Some(level) = (0..self.cfg.levels).find(|&l| !self.queues[l].is_empty()) else {
            self.running = None;
            return None;
        };
        let slot = self.queues[level].front()?;
        let why = match (self.pending.take(), self.running) {
            (None, Some(run)) if run == slot => None,
            (Some(why), _) => Some(why),
            (None, Some(_)) => Some(Why::Ahead {
                level: level as u64,
            }),
            (None, None) => Some(Why::Next),
        };
        self.running = Some(slot);
        Some(Pick { slot, why })
    }
}
