//! Writes the same 64 KiB of `#` lines with one `write` after another,
//! forever: a process that spends its time in the kernel, on its own behalf.
//!
//! 64 KiB is the most one `write` prints. On PVM hosts every byte to the
//! UART is an exit, so one call lasts many timer ticks: the kernel must take
//! those ticks during the call, charge them to the writer, and let
//! `--cpu-limit` (or preemption) stop it in the middle of one.
//! Usage: `writer`.
#![no_std]
#![no_main]

use ulib::{sys, usage, Args};

const LINE: usize = 64;

/// 1024 lines of 63 `#` and a newline.
static TEXT: [u8; 64 * 1024] = {
    let mut t = [b'#'; 64 * 1024];
    let mut i = LINE - 1;
    while i < t.len() {
        t[i] = b'\n';
        i += LINE;
    }
    t
};

#[no_mangle]
fn main(args: Args) -> i32 {
    if args.len() > 1 {
        return usage("writer");
    }
    loop {
        let r = sys::write(1, &TEXT);
        if r < 0 {
            return 1;
        }
    }
}
