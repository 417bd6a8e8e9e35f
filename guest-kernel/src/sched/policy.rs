//! What a scheduling policy is: what it is told, and what it answers.
//!
//! Pure logic, no hardware, no process table: this file and the policies
//! next to it are also compiled on the host, where `cargo test` checks each
//! policy's choices tick by tick (tests/kernel_logic.rs includes them with
//! `#[path]`). A policy therefore uses only `core`, `lde_abi` and its
//! siblings in `sched/`. The kernel
//! keeps every runnable process, *including the one on the CPU*, inside the
//! policy, and at each timer tick it asks in this order (the order of
//! OSTEP's simulators, so their answers and the kernel's agree):
//!
//! 1. [`Policy::charge`]: the process on the CPU used the tick that just
//!    ended; the kernel says whether it now goes on, blocks for I/O or has
//!    finished its length;
//! 2. [`Policy::tick`]: the start of the new tick (MLFQ's priority boost);
//! 3. [`Policy::admit`]: processes that arrive or come back from I/O now;
//! 4. [`Policy::pick`]: who runs during the new tick. If that is the one
//!    already on the CPU nothing happens; otherwise the kernel switches.
//!
//! Most ticks change nothing: the process on the CPU goes on, nothing
//! arrives or wakes. So when a tick keeps a process on the CPU, the kernel
//! asks [`Policy::quiet_ticks`] how many of the next ticks would only keep
//! it there; at those (the timer's quiet ticks, timer.rs) it asks the
//! policy nothing, and tells it afterwards, in one call
//! ([`Policy::ran_quietly`]), before it asks anything else.
//!
//! Between ticks a process may leave the CPU on its own
//! ([`Policy::leave`]: yield, sleep, exit, killed); the kernel then asks
//! [`Policy::pick`] again at once.

/// A process's index in the process table.
pub type Slot = usize;

/// Most processes a policy holds: one per boot module.
pub const CAPACITY: usize = lde_abi::boot::MAX_MODULES;
/// The same, as the process table calls it.
pub const MAX_PROCS: usize = CAPACITY;

/// What the kernel knows about a process when it arrives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Job {
    /// Its CPU length in ticks, known before it runs (0 = unknown).
    pub length: u64,
    /// Lottery and stride tickets (at least 1).
    pub tickets: u64,
}

/// How a process joins the runnable set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// It is new (its arrival tick has come).
    Arrive,
    /// It comes back from sleep (I/O).
    Wake,
}

/// What the process that was charged a tick does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// It stays runnable.
    Runs,
    /// It blocks for I/O at this tick.
    Sleeps,
    /// It has used its whole length (or ended otherwise).
    Exits,
}

/// How a process leaves the CPU between two ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leave {
    /// `sched_yield`: still runnable, behind the others.
    Yields,
    /// It blocks (sleep, I/O).
    Sleeps,
    /// It exited or was killed.
    Exits,
}

/// What charging a tick changed (the trace records it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Charged {
    /// MLFQ: it used up its allotment and went down from level `.0` to
    /// level `.1` (0 is the top).
    pub demoted: Option<(u8, u8)>,
}

/// Why a process gets the CPU: the reason the trace records for each
/// scheduling decision (defined in the guest/VMM contract, which encodes it
/// into the event and the VMM decodes it back).
pub use lde_abi::trace::Why;

/// A policy's answer to "who runs now?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick {
    pub slot: Slot,
    /// `None`: the process on the CPU simply goes on (no decision made).
    pub why: Option<Why>,
}

/// A scheduling policy (its rules are in each implementation's doc).
pub trait Policy {
    fn name(&self) -> &'static str;
    fn admit(&mut self, slot: Slot, job: &Job, how: Admit);
    fn charge(&mut self, slot: Slot, then: Then) -> Charged;
    fn leave(&mut self, slot: Slot, how: Leave);
    /// The start of tick `now`; true when it boosted every job.
    fn tick(&mut self, _now: u64) -> bool {
        false
    }
    fn pick(&mut self) -> Option<Pick>;
    /// Quiet ticks ahead: tick `now`'s pick has just kept `slot` on the
    /// CPU (or chosen it). How many of the ticks after `now` would, one by
    /// one, be only `charge(slot, Then::Runs)`, `tick`, `pick` keeping it
    /// there (no demotion, no boost, no decision), if nothing arrives or
    /// wakes and it does not leave: ticks `now + 1 ..= now + n` are quiet
    /// as far as the policy is concerned. The kernel then does not ask the
    /// policy at those ticks (the timer's quiet tick, timer.rs).
    fn quiet_ticks(&self, _slot: Slot, _now: u64) -> u64 {
        0
    }
    /// `ticks` of those quiet ticks have passed (at most what
    /// [`Policy::quiet_ticks`] said): make the change their `charge`,
    /// `tick` and `pick` would have made. The kernel says so before it
    /// asks the policy anything else.
    fn ran_quietly(&mut self, _slot: Slot, _ticks: u64) {}
}
