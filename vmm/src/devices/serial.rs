//! COM1: vm-superio's 16550 UART, its output to our stdout (where the
//! console port's text goes too, devices/console.rs).

use std::io::{self, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use kvm_ioctls::VmFd;
use vm_superio::{Serial, Trigger};
use vmm_sys_util::eventfd::EventFd;

use crate::watchdog::RUNNING;

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
/// to a writer thread, so the guest's text arrives in one piece, and a
/// stdout that blocks (a full pipe nobody reads) stalls only the guest's
/// output, never the watchdog or Ctrl-C: once a stop is requested, output
/// that cannot be queued is dropped and counted.
pub struct ConsoleOut {
    buf: Vec<u8>,
    tx: Option<SyncSender<Vec<u8>>>,
    stop: Arc<AtomicU8>,
    /// Bytes dropped because stdout would not take them while stopping.
    pub dropped: u64,
}

/// Chunks of console output queued for the writer thread.
const QUEUE: usize = 256;

impl Write for ConsoleOut {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.last() == Some(&b'\n') || self.buf.len() >= 4096 {
            self.flush_now();
        }
        Ok(())
    }
}

impl ConsoleOut {
    /// Hand whatever is buffered to the writer thread, complete line or not.
    /// Waits while the queue is full (stdout is slow), unless the run is
    /// being stopped.
    pub fn flush_now(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let mut chunk = std::mem::take(&mut self.buf);
        let Some(tx) = &self.tx else {
            self.dropped += chunk.len() as u64;
            return;
        };
        loop {
            match tx.try_send(chunk) {
                Ok(()) => return,
                Err(TrySendError::Full(c)) if self.stop.load(Ordering::SeqCst) == RUNNING => {
                    chunk = c;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(TrySendError::Full(c) | TrySendError::Disconnected(c)) => {
                    self.dropped += c.len() as u64;
                    return;
                }
            }
        }
    }
}

pub struct Com1 {
    uart: Serial<IrqTrigger, vm_superio::serial::NoEvents, ConsoleOut>,
    writer: Option<JoinHandle<()>>,
}

impl Com1 {
    /// COM1 with its output going to stdout; `stop` is the run's stop flag
    /// (watchdog.rs).
    pub fn new(vm: &VmFd, stop: Arc<AtomicU8>) -> Result<Com1> {
        let evt = EventFd::new(libc::EFD_NONBLOCK).context("creating COM1's eventfd")?;
        vm.register_irqfd(&evt, COM1_IRQ)
            .context("KVM_IRQFD for COM1")?;
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
        let writer = std::thread::Builder::new()
            .name("console".into())
            .spawn(move || {
                let mut out = io::stdout();
                let mut broken = false;
                for chunk in rx {
                    // After an error (a closed pipe) keep draining, so the
                    // guest never waits on a console nobody reads.
                    if !broken {
                        broken = out.write_all(&chunk).and_then(|_| out.flush()).is_err();
                    }
                }
            })
            .context("starting the console thread")?;
        let out = ConsoleOut {
            buf: Vec::new(),
            tx: Some(tx),
            stop,
            dropped: 0,
        };
        Ok(Com1 {
            uart: Serial::new(IrqTrigger(evt), out),
            writer: Some(writer),
        })
    }

    pub fn write(&mut self, offset: u8, value: u8) {
        // Output never fails the guest (see ConsoleOut).
        let _ = self.uart.write(offset, value);
    }

    /// Text that did not come through the UART (the console port).
    pub fn print(&mut self, bytes: &[u8]) {
        let out = self.uart.writer_mut();
        // Output never fails the guest (see ConsoleOut).
        let _ = out.write_all(bytes).and_then(|_| out.flush());
    }

    pub fn read(&mut self, offset: u8) -> u8 {
        self.uart.read(offset)
    }

    /// Flush the console at the end of the run and wait (up to a second, in
    /// case stdout is blocked) for the text to be written. Returns the bytes
    /// dropped.
    pub fn finish(&mut self) -> u64 {
        let out = self.uart.writer_mut();
        out.flush_now();
        out.tx = None;
        let dropped = out.dropped;
        if let Some(writer) = self.writer.take() {
            let deadline = Instant::now() + Duration::from_secs(1);
            while !writer.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            if writer.is_finished() {
                let _ = writer.join();
            }
        }
        dropped
    }
}
