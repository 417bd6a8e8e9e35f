//! Prints argc and each argv[i] on its own line; exits 0.
//!
//! Shows the initial stack the kernel builds for a new process (System V
//! style: `[rsp] = argc`, then `argc` string pointers, then a null pointer),
//! as `_start` in ulib reads it. argv[0] is the program's name.
#![no_std]
#![no_main]

use ulib::{println, Args};

#[no_mangle]
fn main(args: Args) -> i32 {
    println!("argc = {}", args.len());
    for i in 0..args.len() {
        match args.get(i) {
            Some(a) => println!("argv[{}] = {:?}", i, a),
            None => println!("argv[{}] = (not UTF-8)", i),
        }
    }
    0
}
