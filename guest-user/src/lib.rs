//! ulib: the user library of lde programs.
//!
//! It gives a program what a C runtime would: `_start` (argc/argv from the
//! initial stack, System V style), system-call wrappers over `int 0x80`,
//! `print!`/`println!`, and a panic handler that exits with status 101.
//!
//! A program is `#![no_std] #![no_main]` and defines
//! `#[no_mangle] fn main(args: ulib::Args) -> i32`.
#![no_std]

pub mod args;
pub mod io;
pub mod start;
pub mod sys;

pub use args::Args;
