//! `fifo` (and `coop`): first in, first out (OSTEP, *Scheduling:
//! Introduction*).
//!
//! Rules: runnable jobs wait in one queue in arrival order; the job at the
//! front runs until it finishes, blocks or yields, whatever the timer says.
//! A new, woken or yielding job joins the back. That is round robin with a
//! slice that never ends. `coop` is the same queue with no timer at all:
//! the kernel runs only when the process traps.

use lde_abi::boot::{SCHED_FIFO, SCHED_NAMES};

use super::rr::RoundRobin;

pub const fn fifo() -> RoundRobin {
    RoundRobin::named(SCHED_NAMES[SCHED_FIFO as usize], u64::MAX)
}
