//! COM1: vm-superio's 16550 UART, its output to our stdout.

use std::io::{self, Write};

use anyhow::{Context, Result};
use kvm_ioctls::VmFd;
use vm_superio::{Serial, Trigger};
use vmm_sys_util::eventfd::EventFd;

/// COM1's legacy interrupt line.
const COM1_IRQ: u32 = 4;

/// Raises COM1's IRQ through an irqfd (the guest polls, but a driver that
/// enables interrupts gets them).
pub struct IrqTrigger(EventFd);

impl Trigger for IrqTrigger {
    type E = io::Error;
    fn trigger(&self) -> io::Result<()> {
        self.0.write(1)
    }
}

/// Console output: the UART flushes after every byte; we pass whole lines
/// to stdout so the guest's text arrives in one piece and quickly.
pub struct ConsoleOut {
    buf: Vec<u8>,
}

impl Write for ConsoleOut {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.last() == Some(&b'\n') || self.buf.len() >= 4096 {
            self.flush_now()?;
        }
        Ok(())
    }
}

impl ConsoleOut {
    /// Write out whatever is buffered, complete line or not.
    pub fn flush_now(&mut self) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(&self.buf)?;
        out.flush()?;
        self.buf.clear();
        Ok(())
    }
}

pub struct Com1 {
    uart: Serial<IrqTrigger, vm_superio::serial::NoEvents, ConsoleOut>,
}

impl Com1 {
    pub fn new(vm: &VmFd) -> Result<Com1> {
        let evt = EventFd::new(libc::EFD_NONBLOCK).context("creating COM1's eventfd")?;
        vm.register_irqfd(&evt, COM1_IRQ)
            .context("KVM_IRQFD for COM1")?;
        Ok(Com1 {
            uart: Serial::new(IrqTrigger(evt), ConsoleOut { buf: Vec::new() }),
        })
    }

    pub fn write(&mut self, offset: u8, value: u8) {
        // An I/O error on our stdout (a closed pipe) must not stop the guest.
        let _ = self.uart.write(offset, value);
    }

    pub fn read(&mut self, offset: u8) -> u8 {
        self.uart.read(offset)
    }

    /// Flush the console at the end of the run.
    pub fn finish(&mut self) {
        let _ = self.uart.writer_mut().flush_now();
    }
}
