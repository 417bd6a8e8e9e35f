//! The serial console: a 16550 UART on COM1, driven by polling.
//!
//! The transmitter has a 16-byte FIFO; when the line-status register says the
//! transmit holding register is empty, 16 bytes may go out before the next
//! check, and they go out with one string instruction (`rep outsb`), which
//! KVM hands to the VMM as a single exit. The console costs two exits per
//! 16 bytes instead of one per byte.

use lde_abi::ports::COM1;
use x86_64::instructions::port::Port;

const THR: u16 = COM1; // transmit holding register
const IER: u16 = COM1 + 1; // interrupt enable
const FCR: u16 = COM1 + 2; // FIFO control
const LCR: u16 = COM1 + 3; // line control
const MCR: u16 = COM1 + 4; // modem control
const LSR: u16 = COM1 + 5; // line status
const LSR_THR_EMPTY: u8 = 1 << 5;
const FIFO_DEPTH: usize = 16;

/// Program the UART: no interrupts, 8N1, FIFOs on.
pub fn init() {
    // SAFETY: COM1 is the VMM's 16550; writing its registers has no effect
    // on memory.
    unsafe {
        Port::<u8>::new(IER).write(0);
        Port::<u8>::new(LCR).write(0x03);
        Port::<u8>::new(FCR).write(0x07);
        Port::<u8>::new(MCR).write(0x03);
    }
}

/// Send bytes, turning `\n` into `\r\n` is left to the terminal: the VMM
/// writes the bytes to stdout as they are.
pub fn write_bytes(bytes: &[u8]) {
    for chunk in bytes.chunks(FIFO_DEPTH) {
        wait_thr_empty();
        // SAFETY: `rep outsb` reads `chunk.len()` bytes from `chunk` and
        // writes them to the UART's data register; DF is clear (ABI).
        unsafe {
            core::arch::asm!(
                "rep outsb",
                in("dx") THR,
                inout("rsi") chunk.as_ptr() => _,
                inout("rcx") chunk.len() => _,
                options(nostack, preserves_flags, readonly)
            );
        }
    }
}

fn wait_thr_empty() {
    // SAFETY: reading LSR has no side effect besides the exit.
    while unsafe { Port::<u8>::new(LSR).read() } & LSR_THR_EMPTY == 0 {
        core::hint::spin_loop();
    }
}
