//! `fifo` (and `coop`): first in, first out (OSTEP, *Scheduling:
//! Introduction*).
//!
//! Rules: runnable jobs wait in one queue in arrival order; the job at the
//! front runs until it finishes, blocks or yields, whatever the timer says.
//! A new, woken or yielding job joins the back. That is round robin with a
//! slice that never ends. `coop` is the same queue with no timer at all:
//! the kernel runs only when the process traps.

use super::rr::RoundRobin;

pub const fn fifo(name: &'static str) -> RoundRobin {
    RoundRobin::named(name, u64::MAX)
}
