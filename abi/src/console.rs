//! The console: how the kernel hands its text (and its processes') to the
//! VMM, a buffer at a time.
//!
//! A 16550 UART takes one byte per `out`, and every `out` is a VM exit; on
//! PVM hosts even `rep outsb` exits once per byte. So the lde kernel gathers
//! text in a [`ConsoleBuffer`] in guest RAM and hands the VMM the whole
//! buffer with one 32-bit `out` of the buffer's guest-physical address to
//! [`crate::ports::CONSOLE`]: one exit per line instead of one per byte
//! (uhyve's serial-write hypercall works the same way). The VMM checks the
//! address and the length and writes the bytes to the same console (stdout)
//! as COM1, which stays for any guest that drives a plain UART.

/// Most bytes one buffer carries.
pub const CAPACITY: usize = 248;

/// Where the bytes start, from the buffer's address.
pub const BYTES_OFFSET: u64 = 8;

/// The buffer whose guest-physical address the kernel writes to the console
/// port: `len` bytes of `bytes` are the text (at most [`CAPACITY`]; a larger
/// `len` breaks the contract). It must lie below 4 GiB (the `out` is 32-bit).
#[repr(C, align(8))]
pub struct ConsoleBuffer {
    pub len: u32,
    pub _reserved: u32,
    pub bytes: [u8; CAPACITY],
}

impl ConsoleBuffer {
    pub const EMPTY: ConsoleBuffer = ConsoleBuffer {
        len: 0,
        _reserved: 0,
        bytes: [0; CAPACITY],
    };
}
