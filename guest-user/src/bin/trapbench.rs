//! Measures the cost of a system call (getpid) and of a bare trap (int3) in TSC cycles and ns.
//!
//! Limited direct execution has a price: every system call is a trap into
//! the kernel and a return from it. This program times N round trips of
//! `getpid` (the cheapest system call) and N of `int3`, a #BP trap
//! (vector 3) the kernel answers by resuming the process at once, so the
//! difference is the kernel's own work in a system call (finding the call
//! and running it; on PVM hosts also recognising `int 0x80` in a #UD).
//!
//! The N calls are timed in 10 batches, each bracketed by LFENCE-ordered
//! RDTSC reads; the median batch is reported, so a timer tick or a VM exit
//! landing in one batch does not skew the figure. Usage: `trapbench [N]`,
//! N default 5000 (a few seconds on PVM hosts, where the kernel is emulated).
//!
//! `trapbench getpid N` and `trapbench int3 N` make exactly N round trips of
//! one kind, untimed, and print the same line whatever they cost: two runs
//! with different N differ only by those round trips, so the difference in
//! the kernel instructions KVM counts (`insn_emulation`) is theirs alone.
#![no_std]
#![no_main]

use core::arch::asm;
use ulib::sys::{self, cycles_to_ns, rdtsc_ordered};
use ulib::{println, usage, Args};

const NAME: &str = "trapbench";
const BATCHES: usize = 10;

/// Median cycles per call of `op`, over `batches` batches of `per_batch`
/// calls.
fn measure(batches: usize, per_batch: u64, op: impl Fn()) -> u64 {
    // Warm up caches, TLB and branch predictors.
    for _ in 0..per_batch.min(100) {
        op();
    }
    let mut per_call = [0u64; BATCHES];
    for slot in per_call.iter_mut().take(batches) {
        let start = rdtsc_ordered();
        for _ in 0..per_batch {
            op();
        }
        let end = rdtsc_ordered();
        *slot = (end - start) / per_batch;
    }
    let sorted = &mut per_call[..batches];
    sorted.sort_unstable();
    sorted[batches / 2]
}

fn int3() {
    // SAFETY: INT3 raises #BP; the lde kernel treats a #BP from user mode as
    // a bare trap and resumes the process right after the instruction, with
    // every register as it was.
    unsafe { asm!("int3", options(nomem, nostack)) };
}

const USAGE: &str = "trapbench [N] | trapbench getpid|int3 N   (N > 0 round trips, default 5000)";

#[no_mangle]
fn main(args: Args) -> i32 {
    if args.len() > 1 && args.number(1).is_none() {
        let (Some(kind), Some(n)) = (args.choice(1, &["getpid", "int3"]), args.number(2)) else {
            return usage(USAGE);
        };
        if n == 0 || args.len() > 3 {
            return usage(USAGE);
        }
        for _ in 0..n {
            if kind == 0 {
                sys::getpid();
            } else {
                int3();
            }
        }
        println!("{NAME}: {n} round trips done");
        return 0;
    }
    let Some(n) = args.number_or(1, 5_000).filter(|&n| n > 0) else {
        return usage(USAGE);
    };
    if args.len() > 2 {
        return usage(USAGE);
    }
    let batches = BATCHES.min(n as usize);
    let per_batch = n / batches as u64;
    let n = per_batch * batches as u64;
    let tsc_khz = sys::clock().tsc_khz;

    let getpid = measure(batches, per_batch, || {
        sys::getpid();
    });
    let trap = measure(batches, per_batch, int3);
    let work = getpid as i64 - trap as i64;

    println!(
        "{NAME}: getpid {getpid} cycles/call, int3 {trap} cycles/call, \
         syscall work {work} cycles (N={n}, tsc_khz={tsc_khz})"
    );
    if tsc_khz != 0 {
        let ns = |c: u64| cycles_to_ns(c, tsc_khz);
        let work_ns = ns(getpid) as i64 - ns(trap) as i64;
        println!(
            "{NAME}: getpid {} ns/call, int3 {} ns/call, syscall work {work_ns} ns",
            ns(getpid),
            ns(trap)
        );
    } else {
        println!("{NAME}: TSC rate unknown (clock gave tsc_khz 0): no ns figures");
    }
    0
}
