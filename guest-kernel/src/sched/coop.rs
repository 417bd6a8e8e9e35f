//! Cooperative: no timer at all. The kernel runs only when the process traps
//! (system call, fault) and switches only at yield, sleep, exit or kill.

use lde_abi::boot::{SCHED_COOP, SCHED_NAMES};

use super::Policy;

pub struct Cooperative;

impl Policy for Cooperative {
    fn name(&self) -> &'static str {
        SCHED_NAMES[SCHED_COOP as usize]
    }
    fn uses_timer(&self) -> bool {
        false
    }
    fn preempts(&self, _: u64) -> bool {
        false
    }
}
