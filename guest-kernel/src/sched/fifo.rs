//! First come, first served: the timer ticks (for accounting) but nobody is
//! preempted; a process keeps the CPU until it yields, sleeps or ends.

use lde_abi::boot::{SCHED_FIFO, SCHED_NAMES};

use super::Policy;

pub struct Fifo;

impl Policy for Fifo {
    fn name(&self) -> &'static str {
        SCHED_NAMES[SCHED_FIFO as usize]
    }
    fn uses_timer(&self) -> bool {
        true
    }
    fn preempts(&self, _: u64) -> bool {
        false
    }
}
