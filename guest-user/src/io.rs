//! `print!` and `println!` on fd 1 through the `write` system call.

use core::fmt::{self, Write};

pub struct Stdout;

impl Write for Stdout {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut bytes = s.as_bytes();
        while !bytes.is_empty() {
            let n = crate::sys::write(1, bytes);
            if n <= 0 {
                return Err(fmt::Error);
            }
            bytes = &bytes[n as usize..];
        }
        Ok(())
    }
}

/// Format into a line buffer first so one `println!` is one `write` call
/// (and one line on the console even when processes interleave).
pub fn print(args: fmt::Arguments) {
    let mut buf = LineBuf {
        buf: [0; 256],
        len: 0,
    };
    if buf.write_fmt(args).is_err() || buf.len == buf.buf.len() {
        // Too long for the buffer: write it in pieces.
        let _ = Stdout.write_fmt(args);
        return;
    }
    crate::sys::write(1, &buf.buf[..buf.len]);
}

struct LineBuf {
    buf: [u8; 256],
    len: usize,
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        if s.len() > room {
            return Err(fmt::Error);
        }
        self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
        self.len += s.len();
        Ok(())
    }
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::io::print(format_args!($($arg)*)));
}

#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::io::print(format_args!("{}\n", format_args!($($arg)*))));
}
