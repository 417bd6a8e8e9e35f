//! Busy work: computation the compiler can neither remove nor fold, for
//! programs that must burn CPU time without system calls.
//!
//! It lives in the contract crate so that the guest's user programs (through
//! ulib's `work`) and host programs (`vmm/examples/crunch_native.rs`) run the
//! very same loop: benchmarks compare the two.

use core::arch::asm;

/// Hide `x` from the optimiser: an empty `asm!` that claims to read and
/// change it. It costs no instruction, but the compiler can no longer see
/// through the value (to fold a loop into a formula, or drop it as unused).
#[inline(always)]
pub fn opaque(mut x: u64) -> u64 {
    // SAFETY: the asm template is empty (a comment): nothing is executed.
    unsafe { asm!("/* {0} */", inout(reg) x, options(nomem, nostack, preserves_flags)) };
    x
}

/// Multiplier and increment of Knuth's MMIX 64-bit LCG.
pub const LCG_MUL: u64 = 6364136223846793005;
pub const LCG_ADD: u64 = 1442695040888963407;

/// `steps` steps of a 64-bit LCG starting from `seed`; returns the last
/// state. Each step is one multiply and one add waiting on the previous
/// step, so the time is fixed by the step count: about 3 TSC cycles a step
/// on the project's machines (AMD EPYC, TSC at 2.445 GHz), i.e. about
/// 815,000 steps per millisecond.
#[inline(never)]
pub fn busy(seed: u64, steps: u64) -> u64 {
    let mut x = seed;
    for _ in 0..steps {
        x = opaque(x).wrapping_mul(LCG_MUL).wrapping_add(LCG_ADD);
    }
    x
}

/// Busy steps per millisecond on the project's machines (see [`busy`]).
pub const STEPS_PER_MS: u64 = 815_000;
