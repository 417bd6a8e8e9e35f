//! A job of CPU bursts and blocking I/O: `cpuio c4 s5 c3` or `cpuio run=R every=F io=I`.
//!
//! OSTEP's interactive job. `c4 s5 c3` computes 4 ticks, blocks 5 ticks
//! (an I/O: the kernel runs someone else), computes 3 ticks and exits;
//! `run=R every=F io=I` is the MLFQ homework's job (`mlfq.py -l
//! start,R,F` with `-i I`): R ticks of CPU, an I/O of I ticks after every F
//! of them. `lde run` hands the kernel the job's length and I/O pattern
//! with the program, and the kernel blocks it on exactly those ticks, as
//! the simulators do, however fast or loaded the host is; the program
//! itself computes for its whole length.
#![no_std]
#![no_main]

use lde_abi::phases::{plan, USAGE};
use ulib::work::compute_until;
use ulib::{println, sys, usage, Args};

#[no_mangle]
fn main(args: Args) -> i32 {
    let Ok(phases) = plan(args.iter().skip(1)) else {
        return usage(USAGE);
    };
    let total = phases.cpu_ticks();
    sys::cpu_budget(total);
    match compute_until(total) {
        Ok(_) => 0,
        Err(e) => {
            println!("cpuio: cpu_ticks failed: {e}");
            1
        }
    }
}
