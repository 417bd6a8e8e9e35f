//! Busy work: computation the compiler can neither remove nor fold, for
//! programs that must burn CPU time without system calls.
//!
//! The loop itself lives in lde-abi (`lde_abi::work`) so that host
//! benchmarks run the very same code; this module re-exports it.

pub use lde_abi::work::*;
