//! The VMM's devices: what the guest reaches through I/O ports.
//!
//! | port                     | device                                   |
//! |--------------------------|------------------------------------------|
//! | `COM1`..`COM1 + 8`       | 16550 UART (vm-superio), output to stdout |
//! | `CONSOLE`                | the kernel's text, a buffer at a time      |
//! | `EXIT`                   | exit device: ends the VM with a status (and prints the kernel's end-of-run totals, `totals.rs`) |
//! | `TRACE_DOORBELL`         | drain the guest event ring now            |
//! | `NULL_PORT`              | nothing: the guest times exits with it    |
//!
//! Any other port reads as all ones and ignores writes (as on a PC with
//! nothing behind the port); the exit is still recorded.

pub mod console;
pub mod exit;
pub mod serial;
pub mod totals;
