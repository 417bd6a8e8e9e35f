//! `stcf`: Shortest Time-to-Completion First, or preemptive SJF (OSTEP,
//! *Scheduling: Introduction*).
//!
//! Rules: at every tick, run the runnable job with the least CPU time left.
//! A job that arrives (or comes back from I/O) with less left than the job
//! on the CPU takes the CPU at that tick; on a tie the job on the CPU keeps
//! it. Among waiting jobs, equal lengths go in arrival order. The
//! bookkeeping is SJF's ([`ShortestFirst`]); only the preemption differs.

use super::sjf::ShortestFirst;

pub const fn stcf() -> ShortestFirst {
    ShortestFirst::with_preemption(true)
}
