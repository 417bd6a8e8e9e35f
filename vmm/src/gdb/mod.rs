//! `lde run --gdb`: a GDB remote-protocol stub for the guest, so you can
//! stand inside a trap: break in the dispatcher, look at the saved frame,
//! step over `iretq` and watch the privilege level drop to 3.
//!
//! The protocol is the `gdbstub` crate's (as in crosvm and Firecracker);
//! this module supplies the target (target.rs: registers, guest-virtual
//! memory, breakpoints, stepping, `monitor`), the debugger state and the
//! one hook in the vCPU loop (session.rs), the TCP link (link.rs, kick.rs)
//! and, here, the loop that alternates between gdb and the guest on the
//! vCPU thread: the guest is stopped while gdb talks, and gdb is only
//! listened to (for Ctrl-C) while the guest runs.

pub mod kick;
pub mod link;
pub mod monitor;
pub mod session;
pub mod symbols;
pub mod target;
pub mod virtual_memory;

use std::net::TcpStream;
use std::sync::atomic::AtomicU8;
use std::sync::Arc;

use gdbstub::common::Signal;
use gdbstub::stub::state_machine::GdbStubStateMachine;
use gdbstub::stub::{DisconnectReason, GdbStub};

use crate::exits::{self, Ending, Machine, Ran};
use crate::trace::record::{DebuggerRecord, Record};
use crate::watchdog::{self, PauseClock};
use kick::Kicker;
use link::{Link, Next};
use session::{Paused, Session, StopReason};
use target::GdbTarget;

/// What the vCPU thread needs to serve gdb.
pub struct Debugger {
    pub link: Link,
    pub kicker: Arc<Kicker>,
    pub clock: Arc<PauseClock>,
    pub pvm: bool,
}

/// Run the guest under gdb until it ends; returns how it ended. The guest
/// stays stopped before its first instruction until gdb has connected and
/// says continue. If gdb detaches or goes away, the guest runs on to its
/// end as if no debugger had been there.
pub fn serve(m: &mut Machine, stop: &AtomicU8, mut dbg: Debugger) -> Ending {
    let Some(stream) = dbg.link.accept(stop) else {
        return stopped(stop).unwrap_or(Ending::Interrupted);
    };
    dbg.kicker.register(&mut m.vcpu);
    let session = Session::new(dbg.link, dbg.kicker.clone(), dbg.pvm);
    if let Err(e) = session.arm(&m.vcpu) {
        dbg.kicker.unregister();
        return Ending::HostError(e);
    }
    m.debug = Some(Box::new(session));
    record(m, "attach", None);
    let ending = converse(m, stop, stream, &dbg.clock);
    dbg.clock.resume();
    if let Some(mut s) = m.debug.take() {
        s.disarm(&m.vcpu, &m.ram);
    }
    let ending = match ending {
        Some(e) => e,
        None => {
            // gdb left: run on without it.
            record_plain(m, "detach");
            exits::run(m, stop)
        }
    };
    dbg.kicker.unregister();
    ending
}

/// The ending the stop flag asks for, if any.
fn stopped(stop: &AtomicU8) -> Option<Ending> {
    match stop.load(std::sync::atomic::Ordering::SeqCst) {
        watchdog::STOP_TIMEOUT => Some(Ending::Timeout),
        watchdog::STOP_INTERRUPTED => Some(Ending::Interrupted),
        _ => None,
    }
}

type StubState<'a, 'm> = GdbStubStateMachine<'a, GdbTarget<'m>, TcpStream>;

/// Talk to gdb until the guest ends (`Some`) or gdb leaves (`None`).
fn converse(
    m: &mut Machine,
    stop: &AtomicU8,
    stream: TcpStream,
    clock: &PauseClock,
) -> Option<Ending> {
    let mut t = GdbTarget { m };
    let gdb = GdbStub::new(stream);
    let mut sm: StubState = match gdb.run_state_machine(&mut t) {
        Ok(sm) => sm,
        Err(e) => {
            log::warn!("gdb: {e}");
            return None;
        }
    };
    loop {
        let next = match sm {
            GdbStubStateMachine::Idle(s) => {
                let byte = t.session().link.next(stop);
                match byte {
                    Next::Byte(b) => s.incoming_data(&mut t, b),
                    Next::Gone => return None,
                    Next::Stopped => return stopped(stop),
                }
            }
            GdbStubStateMachine::Running(s) => {
                // Kicks are allowed before the last look at the link: a
                // Ctrl-C that arrives after that look then still makes the
                // next KVM_RUN return at once (kick.rs), instead of being
                // dropped while the guest spins without exits.
                t.session().kicker.set_running(true);
                if let Some(b) = t.session().link.next_ready() {
                    sm = match s.incoming_data(&mut t, b) {
                        Ok(sm) => sm,
                        Err(e) => return gdb_failed(e),
                    };
                    continue;
                }
                if t.session().link.is_gone() {
                    return None;
                }
                clock.resume();
                record(t.m, "resume", None);
                let ran = exits::run_until_paused(t.m, stop);
                t.session().kicker.set_running(false);
                match ran {
                    Ran::Ended(ending) => {
                        let status = ending.status().clamp(0, 255) as u8;
                        let _ = s.report_stop(&mut t, StopReason::Exited(status));
                        return Some(ending);
                    }
                    Ran::Paused => match t.session().paused.take() {
                        Some(Paused::Stop(reason)) => {
                            clock.pause();
                            record(t.m, "stop", Some(reason));
                            s.report_stop(&mut t, reason)
                        }
                        _ => Ok(s.into()),
                    },
                }
            }
            GdbStubStateMachine::CtrlCInterrupt(s) => {
                let reason = StopReason::Signal(Signal::SIGINT);
                clock.pause();
                record(t.m, "stop", Some(reason));
                s.interrupt_handled(&mut t, Some(reason))
            }
            GdbStubStateMachine::Disconnected(s) => {
                return match s.get_reason() {
                    // `kill` in gdb ends the guest, like Ctrl-C on lde.
                    DisconnectReason::Kill => Some(Ending::Interrupted),
                    _ => None,
                };
            }
        };
        sm = match next {
            Ok(sm) => sm,
            Err(e) => return gdb_failed(e),
        };
    }
}

fn gdb_failed(e: impl std::fmt::Display) -> Option<Ending> {
    log::warn!("gdb: {e}; the guest runs on without the debugger");
    None
}

/// A `debugger` trace record: attach, stop (with why and where), resume.
fn record(m: &mut Machine, event: &str, reason: Option<StopReason>) {
    let (rip, cpl) = m
        .debug
        .as_ref()
        .and_then(|s| s.user_stop)
        .map(|u| (u.frame.rip, (u.frame.cs & 3) as u8))
        .or_else(|| {
            let r = m.vcpu.get_regs().ok()?;
            let s = m.vcpu.get_sregs().ok()?;
            Some((r.rip, (s.cs.selector & 3) as u8))
        })
        .unwrap_or((0, 0));
    let reason = reason.map(|r| match r {
        StopReason::DoneStep => "step".to_string(),
        StopReason::SwBreak(_) => "breakpoint".to_string(),
        StopReason::HwBreak(_) => "hw_breakpoint".to_string(),
        StopReason::Signal(Signal::SIGINT) => "interrupt".to_string(),
        StopReason::Signal(_) => "trap".to_string(),
        other => format!("{other:?}"),
    });
    write_record(m, event, reason, Some(rip), Some(cpl));
}

fn record_plain(m: &mut Machine, event: &str) {
    write_record(m, event, None, None, None);
}

fn write_record(
    m: &mut Machine,
    event: &str,
    reason: Option<String>,
    rip: Option<u64>,
    cpl: Option<u8>,
) {
    let t_ns = m.now_ns();
    m.drain_ring(t_ns);
    if let Some(t) = m.trace.as_mut() {
        t.write(&Record::Debugger(DebuggerRecord {
            t_ns,
            event: event.into(),
            reason,
            rip,
            cpl,
        }));
    }
}
