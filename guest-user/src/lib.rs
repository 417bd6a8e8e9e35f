//! ulib: the user library of lde programs.
//!
//! It gives a program what a C runtime would: `_start` (argc/argv from the
//! initial stack, System V style), system-call wrappers over `int 0x80`,
//! `print!`/`println!`, argument parsing, busy work the optimiser cannot
//! remove ([`work`]), and a panic handler that exits with status 101.
//!
//! A program is `#![no_std] #![no_main]` and defines
//! `#[no_mangle] fn main(args: ulib::Args) -> i32`.
#![no_std]

pub mod args;
pub mod io;
pub mod start;
pub mod sys;
pub mod work;

pub use args::Args;

/// Exit status of a program given bad arguments.
pub const EXIT_USAGE: i32 = 2;

/// Print `usage: {text}` and return [`EXIT_USAGE`], for `main` to return.
pub fn usage(text: &str) -> i32 {
    println!("usage: {}", text);
    EXIT_USAGE
}

/// For the restricted-operation programs: the operation did not kill the
/// process, which it should have. Prints `{name}: NOT STOPPED` and returns
/// status 1 for `main` to return.
pub fn not_stopped(name: &str) -> i32 {
    println!("{}: NOT STOPPED", name);
    1
}
