//! Alternates CPU bursts and blocking I/O: `cpuio c4 s5 c3` or `cpuio run=R every=F io=I`.
//!
//! OSTEP's interactive job. `c4 s5 c3` computes 4 ticks, blocks 5 ticks
//! (an I/O: the kernel runs someone else), computes 3 ticks and exits;
//! `run=R every=F io=I` is the MLFQ homework's job (`mlfq.py -l
//! start,R,F` with `-i I`): R ticks of CPU, an I/O of I ticks after every F
//! of them. So that bursts end on exact ticks, the program tells the kernel
//! where the next I/O starts (`io_at`: block at the tick my CPU time
//! reaches n) and its whole length (`cpu_budget`), then just computes.
#![no_std]
#![no_main]

use lde_abi::phases::{plan, Phase, USAGE};
use ulib::work::compute_until;
use ulib::{println, sys, usage, Args};

#[no_mangle]
fn main(args: Args) -> i32 {
    let Ok(phases) = plan(args.iter().skip(1)) else {
        return usage(USAGE);
    };
    sys::cpu_budget(phases.cpu_ticks());
    let mut cpu = 0; // CPU time at the end of the phases so far
    let mut phases = phases.peekable();
    while let Some(phase) = phases.next() {
        match phase {
            Phase::Cpu(n) => {
                cpu += n;
                // An I/O right after this burst starts on the exact tick.
                if let Some(&Phase::Io(io)) = phases.peek() {
                    phases.next();
                    let r = sys::io_at(cpu, io);
                    if r != 0 {
                        println!("cpuio: io_at returned {r}");
                        return 1;
                    }
                }
                if let Err(e) = compute_until(cpu) {
                    println!("cpuio: cpu_ticks failed: {e}");
                    return 1;
                }
            }
            // An I/O with no burst before it: block now.
            Phase::Io(io) => {
                sys::sleep_ticks(io);
            }
        }
    }
    0
}
