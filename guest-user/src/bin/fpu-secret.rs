//! `plant` keeps a value in the x87 registers across switches; `peek` looks.
//!
//! The kernel saves and restores each process's FPU/SSE registers at every
//! switch (fpu.rs). `fpu-secret plant` loads a value into ST0 and yields
//! many times, then checks it is still there (its own state survived the
//! switches); `fpu-secret peek`, run after it, stores whatever is in its own
//! ST0 and prints it: a fresh process must not see the planted value.
#![no_std]
#![no_main]

use ulib::{println, sys, usage, Args};

static SECRET: u64 = 0x2121_5445_5243_4553; // "SECRET!!"

#[no_mangle]
fn main(args: Args) -> i32 {
    match args.get(1) {
        Some("plant") => {
            // SAFETY: loads a 64-bit integer from a static into ST0.
            unsafe { core::arch::asm!("fild qword ptr [{}]", in(reg) &SECRET, options(nostack)) };
            for _ in 0..20 {
                sys::sched_yield();
            }
            let mut back = 0u64;
            // SAFETY: stores ST0 (as an integer) into a local and pops it.
            unsafe {
                core::arch::asm!("fistp qword ptr [{}]", in(reg) &mut back, options(nostack))
            };
            println!("fpu-secret: plant kept its value: {}", back == SECRET);
            i32::from(back != SECRET)
        }
        Some("peek") => {
            sys::sched_yield();
            let mut seen = 0u64;
            // SAFETY: stores whatever ST0 holds into a local and pops it.
            unsafe {
                core::arch::asm!("fistp qword ptr [{}]", in(reg) &mut seen, options(nostack))
            };
            println!("fpu-secret: peek saw {seen:#x}");
            i32::from(seen == SECRET)
        }
        _ => usage("fpu-secret plant|peek"),
    }
}
