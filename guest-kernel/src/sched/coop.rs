//! `coop`: cooperative scheduling. No timer at all: the kernel runs only
//! when the process traps (system call, fault) and switches only at yield,
//! sleep, exit or kill. The queue is FIFO's (fifo.rs); what differs is that
//! no tick ever comes to charge or preempt (sched.rs starts no timer).

use lde_abi::boot::{SCHED_COOP, SCHED_NAMES};

use super::rr::RoundRobin;

pub const fn coop() -> RoundRobin {
    RoundRobin::named(SCHED_NAMES[SCHED_COOP as usize], u64::MAX)
}
