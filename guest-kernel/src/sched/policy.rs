//! What a scheduling policy is, and the run queue it chooses from.
//!
//! Pure logic, no hardware: this file and the policies next to it are also
//! compiled on the host, where `cargo test` checks each policy's choices
//! (tests/kernel_logic.rs includes them with `#[path]`). A policy therefore
//! uses only `core`, `lde_abi` and `super::{Policy, RunQueue}`.

/// Most processes the run queue holds: one per boot module.
pub const MAX_PROCS: usize = lde_abi::boot::MAX_MODULES;

/// How a policy takes the CPU back, and whom it runs next.
pub trait Policy {
    /// The name `lde run --sched` and the trace use.
    fn name(&self) -> &'static str;
    /// Does the APIC timer run?
    fn uses_timer(&self) -> bool;
    /// Must the running process give up the CPU after `slice_ticks` ticks of
    /// its current slice (when someone else is waiting)?
    fn preempts(&self, slice_ticks: u64) -> bool;
    /// Take the process to run next off `queue` (`None` when it is empty).
    /// The default is the queue's order: first in, first out.
    fn pick(&self, queue: &mut RunQueue) -> Option<usize> {
        queue.pop()
    }
}

/// Runnable processes (process-table slots), in the order they became
/// runnable.
pub struct RunQueue {
    slots: [usize; MAX_PROCS],
    head: usize,
    len: usize,
}

impl RunQueue {
    pub const EMPTY: RunQueue = RunQueue {
        slots: [0; MAX_PROCS],
        head: 0,
        len: 0,
    };

    /// Add `slot` at the back. The queue holds every process at most once,
    /// so it never overflows.
    pub fn push(&mut self, slot: usize) {
        debug_assert!(self.len < MAX_PROCS);
        self.slots[(self.head + self.len) % MAX_PROCS] = slot;
        self.len += 1;
    }

    /// Take the slot at the front.
    pub fn pop(&mut self) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let slot = self.slots[self.head];
        self.head = (self.head + 1) % MAX_PROCS;
        self.len -= 1;
        Some(slot)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
