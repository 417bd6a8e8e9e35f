//! `print!` and `println!` for the kernel, on the serial console.

use core::fmt::{self, Write};

struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        crate::serial::write_bytes(s.as_bytes());
        Ok(())
    }
}

/// Print. Kernel code always runs with interrupts off (kcell.rs), so no
/// timer tick can cut a message in two.
pub fn print(args: fmt::Arguments) {
    let _ = Console.write_fmt(args);
}

/// Print a string as it is (no formatting machinery).
pub fn puts(s: &str) {
    crate::serial::write_bytes(s.as_bytes());
}

/// Print a number in decimal (no formatting machinery).
pub fn put_dec(mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    crate::serial::write_bytes(&buf[i..]);
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::console::print(format_args!($($arg)*)));
}

#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::console::print(format_args!("{}\n", format_args!($($arg)*))));
}
