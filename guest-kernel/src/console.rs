//! The kernel's console: `print!`, `println!` and `say!`.
//!
//! Text is gathered in one [`ConsoleBuffer`] and handed to the VMM with a
//! single `out` of the buffer's address to the console port (lde-abi
//! `console`): one VM exit when a print ends a line, when the buffer is
//! full, and before the VM ends, instead of one exit per byte (a 16550 UART
//! takes a byte per `out`, and on PVM hosts even `rep outsb` exits once per
//! byte). Kernel code runs with interrupts off (kcell.rs), so no timer tick
//! can cut a message in two.
//!
//! `say!` prints strings and numbers without `core::fmt`: on PVM hosts every
//! kernel instruction is emulated, and formatting one line costs hundreds
//! of them; `println!` is for the rare messages (faults, panics).

use core::fmt::{self, Write};
use core::mem::MaybeUninit;

use lde_abi::console::{ConsoleBuffer, CAPACITY};
use lde_abi::layout::KERNEL_VIRT;
use lde_abi::ports::CONSOLE;

use crate::kcell::KernelCell;

static BUFFER: KernelCell<ConsoleBuffer> = KernelCell::new(ConsoleBuffer::EMPTY);

/// Append `bytes`; a full buffer goes to the VMM at once.
pub fn write_bytes(bytes: &[u8]) {
    BUFFER.with(|b| {
        let len = b.len as usize;
        // The common case, one copy: the piece fits without filling the
        // buffer.
        if bytes.len() < CAPACITY - len {
            // SAFETY: `len + bytes.len() < CAPACITY`: the copy stays inside
            // the buffer.
            unsafe {
                crate::memops::copy(b.bytes.as_mut_ptr().add(len), bytes.as_ptr(), bytes.len())
            };
            b.len += bytes.len() as u32;
        } else {
            write_filling(b, bytes);
        }
    })
}

/// `write_bytes` for a piece that fills the buffer (once or more).
#[inline(never)]
fn write_filling(b: &mut ConsoleBuffer, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let len = b.len as usize;
        let n = bytes.len().min(CAPACITY - len);
        // SAFETY: `len + n <= CAPACITY`, so the copy stays inside
        // `bytes` of the buffer; the source is a valid slice of at least
        // `n` bytes.
        unsafe { crate::memops::copy(b.bytes.as_mut_ptr().add(len), bytes.as_ptr(), n) };
        b.len += n as u32;
        bytes = &bytes[n..];
        if b.len as usize == CAPACITY {
            send(b);
        }
    }
}

/// Hand whatever is buffered to the VMM now.
pub fn flush() {
    BUFFER.with(|b| {
        if b.len != 0 {
            send(b);
        }
    })
}

/// The end of one print: the buffer goes out if it ends a line.
fn end_print() {
    BUFFER.with(|b| {
        if b.len != 0 && b.bytes[b.len as usize - 1] == b'\n' {
            send(b);
        }
    })
}

fn send(b: &mut ConsoleBuffer) {
    // The kernel image is mapped at KERNEL_VIRT + its physical address, below
    // 4 GiB (lde-abi layout), so the 32-bit `out` carries the whole address.
    let phys = (b as *mut ConsoleBuffer as u64 - KERNEL_VIRT) as u32;
    // SAFETY: the console port only makes the VMM read the buffer. No
    // `nomem` option: the compiler must finish the stores into the buffer
    // before the `out`.
    unsafe {
        core::arch::asm!("out dx, eax", in("dx") CONSOLE, in("eax") phys, options(nostack, preserves_flags))
    };
    b.len = 0;
}

struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}

/// Print with `core::fmt` (see `say!` for the cheap way).
pub fn print(args: fmt::Arguments) {
    let _ = Console.write_fmt(args);
    end_print();
}

/// What `say!` can print: strings as they are, integers in decimal,
/// [`Hex`] in hexadecimal.
pub trait Say {
    fn say(&self);
}

impl Say for str {
    fn say(&self) {
        write_bytes(self.as_bytes());
    }
}

/// Bytes as they are (text the kernel has not checked as UTF-8: the VMM
/// passes bytes through to the terminal unchanged).
impl Say for [u8] {
    fn say(&self) {
        write_bytes(self);
    }
}

/// Nothing for `None`.
impl<T: Say> Say for Option<T> {
    fn say(&self) {
        if let Some(v) = self {
            v.say();
        }
    }
}

impl<T: Say + ?Sized> Say for &T {
    fn say(&self) {
        (**self).say();
    }
}

macro_rules! say_unsigned {
    ($($t:ty),*) => {$(
        impl Say for $t {
            fn say(&self) {
                put_dec(*self as u64);
            }
        }
    )*};
}
say_unsigned!(u8, u16, u32, u64, usize);

impl Say for i32 {
    fn say(&self) {
        if *self < 0 {
            write_bytes(b"-");
        }
        put_dec(self.unsigned_abs() as u64);
    }
}

/// A number `say!` prints as `0x…`.
pub struct Hex(pub u64);

impl Say for Hex {
    fn say(&self) {
        let mut buf = [0u8; 18];
        let mut i = buf.len();
        let mut n = self.0;
        loop {
            i -= 1;
            buf[i] = b"0123456789abcdef"[(n & 15) as usize];
            n >>= 4;
            if n == 0 {
                break;
            }
        }
        buf[i - 2..i].copy_from_slice(b"0x");
        write_bytes(&buf[i - 2..]);
    }
}

/// "00" to "99": a number is printed two digits a step (half the divisions).
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// A number in decimal.
#[inline(never)]
fn put_dec(mut n: u64) {
    if n < 100 {
        return put_small(n as usize);
    }
    let mut buf = [MaybeUninit::<u8>::uninit(); 20];
    let end = buf.as_mut_ptr() as *mut u8;
    let mut i = buf.len();
    // SAFETY: a u64 has at most 20 digits, so `i` stays in `0..20`; the
    // bytes handed on are the ones written.
    unsafe {
        while n >= 100 {
            let pair = (n % 100) as usize * 2;
            n /= 100;
            i -= 2;
            core::ptr::copy_nonoverlapping(DIGIT_PAIRS.as_ptr().add(pair), end.add(i), 2);
        }
        if n >= 10 {
            i -= 2;
            core::ptr::copy_nonoverlapping(DIGIT_PAIRS.as_ptr().add(n as usize * 2), end.add(i), 2);
        } else {
            i -= 1;
            end.add(i).write(b'0' + n as u8);
        }
        write_bytes(core::slice::from_raw_parts(end.add(i), buf.len() - i));
    }
}

/// A number below 100 (most that the kernel prints: pids, counts), stored
/// straight into the buffer: a third of the instructions of the general way.
fn put_small(n: usize) {
    BUFFER.with(|b| {
        let len = b.len as usize;
        if len + 2 >= CAPACITY {
            // Rare: the digits fill the buffer, which then goes out.
            let pair = &DIGIT_PAIRS[n * 2..n * 2 + 2];
            return write_filling(b, if n < 10 { &pair[1..] } else { pair });
        }
        if n < 10 {
            b.bytes[len] = b'0' + n as u8;
            b.len += 1;
        } else {
            b.bytes[len] = DIGIT_PAIRS[n * 2];
            b.bytes[len + 1] = DIGIT_PAIRS[n * 2 + 1];
            b.len += 2;
        }
    })
}

/// The end of a `say!` line.
pub fn end_line() {
    BUFFER.with(|b| {
        // A full buffer went out at once, so there is room for the newline,
        // and the line goes out with it.
        b.bytes[b.len as usize] = b'\n';
        b.len += 1;
        send(b);
    })
}

/// One line: each piece (a string, an integer, a [`Hex`]) in turn, then a
/// newline; no formatting machinery.
#[macro_export]
macro_rules! say {
    ($($piece:expr),* $(,)?) => {{
        $( $crate::console::Say::say(&$piece); )*
        $crate::console::end_line();
    }};
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
