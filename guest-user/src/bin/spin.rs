//! Uses N ticks of CPU time, then exits 0 (OSTEP's job of length N).
//!
//! The scheduling homework's job: pure computation that ends when it has
//! had N ticks of CPU time. The kernel knows the length before the job
//! runs (`lde run` passes it with the program), and the job also asks for
//! it itself (`cpu_budget`), so the kernel ends it at exactly the tick that
//! completes the job, as in OSTEP's model, instead of whenever it next gets
//! to run.
#![no_std]
#![no_main]

use ulib::work::compute_until;
use ulib::{println, sys, usage, Args};

#[no_mangle]
fn main(args: Args) -> i32 {
    let Some(n) = args.number_or(1, 1).filter(|_| args.len() <= 2) else {
        return usage("spin [N]   (N ticks of CPU time, default 1)");
    };
    println!("spin: using {n} ticks of CPU time");
    sys::cpu_budget(n);
    match compute_until(n) {
        Ok(used) => {
            println!("spin: used {used} ticks");
            0
        }
        Err(e) => {
            println!("spin: cpu_ticks failed: {e}");
            1
        }
    }
}
