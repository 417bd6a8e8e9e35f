//! Recurses without bound, 1 KiB a frame, into the guard page below its stack; must be killed (#PF).
//!
//! A process starts with USER_STACK_PAGES (16) pages of stack below
//! USER_STACK_TOP and one unmapped guard page below them. Each call here
//! takes a little over 1 KiB; after about 60 of them a store into the
//! guard page (the call's return-address push or a frame write) raises #PF
//! (vector 14) with error code 0x6 (P = 0, W = 1, U = 1) and CR2 in the
//! guard page. The trap itself is taken on the kernel stack (TSS.RSP0), so
//! the overflow cannot take the kernel down with it; the kernel kills the
//! process.
//!
//! `black_box` keeps each frame's array in memory and the recursion a real
//! call (the result is used after it returns: no tail call), and the
//! recursion depends on an opaque value so it is not provably infinite.
#![no_std]
#![no_main]

use core::hint::black_box;
use lde_abi::layout::{PAGE_SIZE, USER_STACK_PAGES, USER_STACK_TOP};
use ulib::{not_stopped, println, usage, Args};

const NAME: &str = "stack-overflow";

/// Frames under a page, so the compiler adds no stack probes and each
/// frame's first store lands in the page below the last.
const FRAME: usize = 1024;

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; FRAME];
    frame[0] = depth as u8;
    let frame = black_box(&mut frame);
    if depth % 16 == 0 {
        println!(
            "{NAME}: depth {depth}, frame at {:#x}",
            frame.as_ptr() as u64
        );
    }
    let below = if black_box(depth) < u64::MAX {
        recurse(depth + 1)
    } else {
        0
    };
    black_box(below + frame[FRAME - 1] as u64)
}

#[no_mangle]
fn main(args: Args) -> i32 {
    if args.len() > 1 {
        return usage(NAME);
    }
    let bottom = USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE;
    println!(
        "{NAME}: recursing in {FRAME}-byte frames; stack {bottom:#x}..{USER_STACK_TOP:#x}, \
         guard page at {:#x} (expect #PF, error code 0x6)",
        bottom - PAGE_SIZE
    );
    let depth = recurse(1);
    println!("{NAME}: came back from depth {depth}");
    not_stopped(NAME)
}
