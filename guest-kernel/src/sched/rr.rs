//! Round robin: the timer ticks every quantum, and the running process is
//! preempted at the end of its slice (one tick) if anyone else is waiting,
//! going to the back of the queue.

use lde_abi::boot::{SCHED_NAMES, SCHED_RR};

use super::Policy;

pub struct RoundRobin;

impl Policy for RoundRobin {
    fn name(&self) -> &'static str {
        SCHED_NAMES[SCHED_RR as usize]
    }
    fn uses_timer(&self) -> bool {
        true
    }
    fn preempts(&self, slice_ticks: u64) -> bool {
        slice_ticks >= 1
    }
}
