//! The TCP side: listen, accept one gdb, and pass its bytes to the vCPU
//! thread.
//!
//! A thread of its own blocks in `accept` and then in `read`, so the vCPU
//! thread never blocks on the network while the guest runs. Each byte goes
//! through a channel, and a kick (kick.rs) gets the vCPU out of the guest
//! to look at it (that is how Ctrl-C, byte 0x03, interrupts a running
//! guest). Replies are written by the vCPU thread on its own clone of the
//! stream.

use std::collections::VecDeque;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use super::kick::Kicker;
use crate::error::bad_input;
use crate::watchdog;

enum Message {
    Connected(TcpStream),
    Data(Vec<u8>),
    /// gdb closed the connection (or it failed).
    Gone,
}

/// What the vCPU thread waits for.
pub enum Next {
    Byte(u8),
    Gone,
    /// The watchdog or Ctrl-C on lde stopped the run (the stop flag).
    Stopped,
}

pub struct Link {
    rx: Receiver<Message>,
    pending: VecDeque<u8>,
    gone: bool,
}

/// Bind the listener (before the VM is built, so a port in use is a clear
/// error) and start the thread that accepts gdb.
pub fn listen(addr: SocketAddr, kicker: Arc<Kicker>) -> Result<(Link, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .map_err(|e| bad_input(format!("--gdb: cannot listen on {addr}: {e}")))?;
    let bound = listener.local_addr()?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("gdb-link".into())
        .spawn(move || {
            let Ok((stream, _)) = listener.accept() else {
                let _ = tx.send(Message::Gone);
                return;
            };
            drop(listener);
            let mut reader = match stream.try_clone() {
                Ok(r) => r,
                Err(_) => {
                    let _ = tx.send(Message::Gone);
                    return;
                }
            };
            if tx.send(Message::Connected(stream)).is_err() {
                return;
            }
            let mut buf = [0u8; 4096];
            loop {
                let msg = match reader.read(&mut buf) {
                    Ok(0) | Err(_) => Message::Gone,
                    Ok(n) => Message::Data(buf[..n].to_vec()),
                };
                let gone = matches!(msg, Message::Gone);
                if tx.send(msg).is_err() {
                    return;
                }
                kicker.kick();
                if gone {
                    return;
                }
            }
        })?;
    Ok((
        Link {
            rx,
            pending: VecDeque::new(),
            gone: false,
        },
        bound,
    ))
}

/// How often a waiting vCPU thread looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(20);

impl Link {
    /// Wait for gdb to connect; `None` when the run is stopped first or
    /// the listener failed.
    pub fn accept(&mut self, stop: &AtomicU8) -> Option<TcpStream> {
        loop {
            if stop.load(Ordering::SeqCst) != watchdog::RUNNING {
                return None;
            }
            match self.rx.recv_timeout(STOP_POLL) {
                Ok(Message::Connected(s)) => return Some(s),
                Ok(_) | Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    fn take(&mut self, msg: Message) {
        match msg {
            Message::Data(d) => self.pending.extend(d),
            Message::Gone | Message::Connected(_) => self.gone = true,
        }
    }

    /// Collect what has arrived; is there something to handle?
    pub fn poll(&mut self) -> bool {
        loop {
            match self.rx.try_recv() {
                Ok(msg) => self.take(msg),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.gone = true;
                    break;
                }
            }
        }
        !self.pending.is_empty() || self.gone
    }

    /// The next byte from gdb, waiting for it (the guest is stopped).
    pub fn next(&mut self, stop: &AtomicU8) -> Next {
        loop {
            if let Some(b) = self.pending.pop_front() {
                return Next::Byte(b);
            }
            if self.gone {
                return Next::Gone;
            }
            if stop.load(Ordering::SeqCst) != watchdog::RUNNING {
                return Next::Stopped;
            }
            match self.rx.recv_timeout(STOP_POLL) {
                Ok(msg) => self.take(msg),
                Err(RecvTimeoutError::Disconnected) => self.gone = true,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// A byte that already arrived, without waiting.
    pub fn next_ready(&mut self) -> Option<u8> {
        self.poll();
        self.pending.pop_front()
    }

    pub fn is_gone(&self) -> bool {
        self.gone && self.pending.is_empty()
    }
}
