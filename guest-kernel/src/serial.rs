//! COM1, a 16550 UART driven by polling: the console of last resort.
//!
//! The kernel prints through the VMM's console port (console.rs), which only
//! lde serves. Before the kernel has checked that lde started it (a valid
//! boot info), all it may assume is a PC's COM1; that is the one message
//! that goes out here, a byte per `out`.

use core::fmt::{self, Write};

use lde_abi::ports::COM1;
use x86_64::instructions::port::Port;

const THR: u16 = COM1; // transmit holding register
const IER: u16 = COM1 + 1; // interrupt enable
const FCR: u16 = COM1 + 2; // FIFO control
const LCR: u16 = COM1 + 3; // line control
const MCR: u16 = COM1 + 4; // modem control
const LSR: u16 = COM1 + 5; // line status
const LSR_THR_EMPTY: u8 = 1 << 5;

struct Uart;

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            // SAFETY: COM1's registers; reading LSR and writing THR have no
            // effect on memory.
            unsafe {
                while Port::<u8>::new(LSR).read() & LSR_THR_EMPTY == 0 {
                    core::hint::spin_loop();
                }
                Port::<u8>::new(THR).write(b);
            }
        }
        Ok(())
    }
}

/// Program the UART (no interrupts, 8N1, FIFOs on) and print.
pub fn print(args: fmt::Arguments) {
    // SAFETY: COM1 is a 16550; writing its registers has no effect on memory.
    unsafe {
        Port::<u8>::new(IER).write(0);
        Port::<u8>::new(LCR).write(0x03);
        Port::<u8>::new(FCR).write(0x07);
        Port::<u8>::new(MCR).write(0x03);
    }
    let _ = Uart.write_fmt(args);
}
