//! `_start`: where the kernel's return-from-trap first lands in a new
//! process. It passes the initial stack to Rust and exits with `main`'s
//! status.

use crate::Args;

extern "Rust" {
    fn main(args: Args) -> i32;
}

core::arch::global_asm!(
    ".section .text.start, \"ax\"",
    ".global _start",
    "_start:",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {start}",
    "ud2",
    start = sym start_rust,
);

extern "C" fn start_rust(sp: *const u64) -> ! {
    // SAFETY: `sp` is the initial stack pointer, as `_start` received it.
    let args = unsafe { Args::from_stack(sp) };
    // SAFETY: every program defines `main` with this signature.
    let code = unsafe { main(args) };
    crate::sys::exit(code)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::println!("panic: {}", info);
    crate::sys::exit(101)
}
