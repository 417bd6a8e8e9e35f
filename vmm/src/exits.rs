//! The vCPU run loop: enter the guest, take the exit, record it, handle it,
//! repeat, until the guest ends the VM or dies, or we are told to stop.
//!
//! Everything that reaches the VMM is one arm of the `match` on `VcpuExit`
//! below. Each exit is timed (handling time) and recorded; the guest's
//! event ring is drained at every exit, before the exit itself is recorded,
//! so the trace stays in time order.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use kvm_bindings::KVM_EXIT_INTERNAL_ERROR;
use kvm_ioctls::{VcpuExit, VcpuFd};
use lde_abi::ports;

use crate::devices::console;
use crate::devices::exit::{self as exit_device, GuestExit};
use crate::devices::serial::Com1;
use crate::memory::GuestRam;
use crate::trace::processes::ProcessTable;
use crate::trace::record::{ExitKind, ExitRecord, ReasonTotals, Record, RegisterDump};
use crate::trace::ring::RingReader;
use crate::trace::writer::TraceWriter;
use crate::watchdog;

/// How the guest's run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// The guest wrote a status to the exit device.
    Exit(u8),
    /// The guest kernel reported a panic.
    Panic,
    /// KVM_EXIT_SHUTDOWN: a triple fault.
    TripleFault,
    InternalError {
        suberror: u32,
        data: Vec<u64>,
    },
    FailEntry {
        hardware_reason: u64,
    },
    /// The guest broke the contract.
    GuestError(String),
    Timeout,
    Interrupted,
    HostError(String),
}

impl Ending {
    /// `lde`'s exit status for this ending.
    pub fn status(&self) -> i32 {
        use lde_abi::exit::status::*;
        match self {
            Ending::Exit(s) => *s as i32,
            Ending::Panic => KERNEL_PANIC,
            Ending::TripleFault => TRIPLE_FAULT,
            Ending::InternalError { .. } => INTERNAL_ERROR,
            Ending::FailEntry { .. } => FAIL_ENTRY,
            Ending::GuestError(_) => GUEST_ERROR,
            Ending::Timeout => TIMEOUT,
            Ending::Interrupted => INTERRUPTED,
            Ending::HostError(_) => HOST_ERROR,
        }
    }

    /// Short name (the trace footer's `end`).
    pub fn name(&self) -> &'static str {
        match self {
            Ending::Exit(_) => "exit",
            Ending::Panic => "panic",
            Ending::TripleFault => "triple_fault",
            Ending::InternalError { .. } => "internal_error",
            Ending::FailEntry { .. } => "fail_entry",
            Ending::GuestError(_) => "guest_error",
            Ending::Timeout => "timeout",
            Ending::Interrupted => "interrupted",
            Ending::HostError(_) => "host_error",
        }
    }

    /// Did the guest die (so a register dump helps)?
    pub fn is_crash(&self) -> bool {
        matches!(
            self,
            Ending::TripleFault | Ending::InternalError { .. } | Ending::FailEntry { .. }
        )
    }
}

/// Everything the vCPU thread owns while the guest runs.
pub struct Machine {
    pub vcpu: VcpuFd,
    pub ram: GuestRam,
    pub com1: Com1,
    pub ring: RingReader,
    pub procs: ProcessTable,
    pub trace: Option<TraceWriter>,
    /// Print guest events as they are drained (-vv).
    pub log_events: bool,
    pub start: Instant,
    pub exits: u64,
    pub totals: BTreeMap<&'static str, ReasonTotals>,
}

impl Machine {
    /// Nanoseconds since the run started.
    pub fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Read new guest events into the trace and the process table.
    pub fn drain_ring(&mut self, now_ns: u64) {
        let Machine {
            ram,
            ring,
            procs,
            trace,
            log_events,
            ..
        } = self;
        ring.drain(ram, now_ns, |ev| {
            procs.observe(&ev);
            if *log_events {
                log::debug!("guest event {:?}", ev);
            }
            if let Some(t) = trace.as_mut() {
                t.write(&Record::Event(ev));
            }
        });
    }

    fn record_exit(&mut self, t_ns: u64, handle_ns: u64, exit: ExitKind) {
        self.exits += 1;
        let totals = self.totals.entry(exit.reason()).or_default();
        totals.count += 1;
        totals.total_ns += handle_ns;
        if log::log_enabled!(log::Level::Debug) {
            log::debug!(
                "exit #{} at {} ns: {:?} ({} ns)",
                self.exits,
                t_ns,
                exit,
                handle_ns
            );
        }
        if let Some(t) = self.trace.as_mut() {
            t.write(&Record::Exit(ExitRecord {
                t_ns,
                vcpu: 0,
                handle_ns,
                exit,
            }));
        }
    }

    /// The vCPU's registers, for a crash report or the watchdog.
    pub fn register_dump(&self) -> Option<RegisterDump> {
        let r = self.vcpu.get_regs().ok()?;
        let s = self.vcpu.get_sregs().ok()?;
        let regs = [
            ("rax", r.rax),
            ("rbx", r.rbx),
            ("rcx", r.rcx),
            ("rdx", r.rdx),
            ("rsi", r.rsi),
            ("rdi", r.rdi),
            ("rbp", r.rbp),
            ("rsp", r.rsp),
            ("r8", r.r8),
            ("r9", r.r9),
            ("r10", r.r10),
            ("r11", r.r11),
            ("r12", r.r12),
            ("r13", r.r13),
            ("r14", r.r14),
            ("r15", r.r15),
            ("rip", r.rip),
            ("rflags", r.rflags),
        ];
        let sregs = [
            ("cr0", s.cr0),
            ("cr2", s.cr2),
            ("cr3", s.cr3),
            ("cr4", s.cr4),
            ("efer", s.efer),
            ("cs", s.cs.selector as u64),
            ("cpl", s.cs.dpl as u64),
            ("ss", s.ss.selector as u64),
            ("gdt_base", s.gdt.base),
            ("idt_base", s.idt.base),
            ("idt_limit", s.idt.limit as u64),
            ("tr", s.tr.selector as u64),
        ];
        Some(RegisterDump {
            t_ns: self.now_ns(),
            vcpu: 0,
            regs: regs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            sregs: sregs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        })
    }
}

/// Little-endian value of up to 8 bytes of exit data.
fn value_of(data: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = data.len().min(8);
    b[..n].copy_from_slice(&data[..n]);
    u64::from_le_bytes(b)
}

fn in_com1(port: u16) -> bool {
    (ports::COM1..ports::COM1 + ports::COM1_LEN).contains(&port)
}

/// Run the guest until it ends. `stop` is set by the main thread (watchdog,
/// Ctrl-C) before it kicks this thread out of `KVM_RUN`.
pub fn run(m: &mut Machine, stop: &AtomicU8) -> Ending {
    loop {
        match stop.load(Ordering::SeqCst) {
            watchdog::STOP_TIMEOUT => return Ending::Timeout,
            watchdog::STOP_INTERRUPTED => return Ending::Interrupted,
            _ => {}
        }
        let result = m.vcpu.run();
        let entered = Instant::now();
        let t_ns = entered.duration_since(m.start).as_nanos() as u64;
        let mut ending = None;
        let mut internal_error = false;
        // Each arm handles the exit and says what to record.
        let exit = {
            let com1 = &mut m.com1;
            let ram = &m.ram;
            match result {
                Ok(VcpuExit::IoOut(port, data)) => {
                    let value = value_of(data);
                    if port == ports::COM1 {
                        // The data register: one byte, or a `rep outsb` string.
                        for &b in data.iter() {
                            com1.write(0, b);
                        }
                    } else if in_com1(port) && data.len() == 1 {
                        com1.write((port - ports::COM1) as u8, data[0]);
                    } else if port == ports::CONSOLE {
                        if let Err(why) = console::print(ram, com1, data) {
                            ending = Some(Ending::GuestError(why));
                        }
                    } else if port == ports::EXIT {
                        ending = Some(match exit_device::decode(data) {
                            GuestExit::Status(s) => Ending::Exit(s),
                            GuestExit::Panic => Ending::Panic,
                            GuestExit::Invalid(v) => Ending::GuestError(format!(
                                "the guest wrote {v:#x} ({} bytes) to the exit device, which the contract does not define",
                                data.len()
                            )),
                        });
                    }
                    // The doorbell needs nothing more: the ring is drained at
                    // every exit below.
                    ExitKind::IoOut {
                        port,
                        size: data.len() as u8,
                        count: 1,
                        value,
                    }
                }
                Ok(VcpuExit::IoIn(port, data)) => {
                    if in_com1(port) && data.len() == 1 {
                        data[0] = com1.read((port - ports::COM1) as u8);
                    } else {
                        data.fill(0xff);
                    }
                    ExitKind::IoIn {
                        port,
                        size: data.len() as u8,
                        count: 1,
                        value: value_of(data),
                    }
                }
                Ok(VcpuExit::MmioRead(addr, data)) => {
                    // Nothing is mapped there: reads float high, like a PC bus.
                    data.fill(0xff);
                    ExitKind::MmioRead {
                        addr,
                        len: data.len() as u8,
                        value: value_of(data),
                    }
                }
                Ok(VcpuExit::MmioWrite(addr, data)) => ExitKind::MmioWrite {
                    addr,
                    len: data.len() as u8,
                    value: value_of(data),
                },
                Ok(VcpuExit::Hlt) => ExitKind::Hlt,
                Ok(VcpuExit::Shutdown) => {
                    ending = Some(Ending::TripleFault);
                    ExitKind::Shutdown
                }
                Ok(VcpuExit::FailEntry(hardware_reason, cpu)) => {
                    ending = Some(Ending::FailEntry { hardware_reason });
                    ExitKind::FailEntry {
                        hardware_reason,
                        cpu,
                    }
                }
                Ok(VcpuExit::InternalError) => {
                    internal_error = true;
                    ExitKind::InternalError {
                        suberror: 0,
                        data: Vec::new(),
                    }
                }
                Ok(VcpuExit::SystemEvent(event, data)) => {
                    ending = Some(Ending::GuestError(format!(
                        "the guest raised system event {event}"
                    )));
                    ExitKind::SystemEvent {
                        event,
                        data: data.to_vec(),
                    }
                }
                Ok(VcpuExit::Intr) => ExitKind::Intr,
                Ok(other) => {
                    let what = format!("{other:?}");
                    ending = Some(Ending::GuestError(format!("unexpected exit {what}")));
                    ExitKind::Unexpected { what }
                }
                Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => ExitKind::Intr,
                Err(e) => return Ending::HostError(format!("KVM_RUN failed: {e}")),
            }
        };
        let mut exit = exit;
        if let ExitKind::IoOut { size, count, .. } | ExitKind::IoIn { size, count, .. } = &mut exit
        {
            // A string instruction moves `count` items of `size` bytes.
            let run = m.vcpu.get_kvm_run();
            // SAFETY: the exit was KVM_EXIT_IO, so `io` is the union member
            // KVM filled in.
            let io = unsafe { run.__bindgen_anon_1.io };
            *size = io.size;
            *count = io.count;
        }
        let exit = if internal_error {
            let (suberror, data) = internal_error_details(&mut m.vcpu);
            ending = Some(Ending::InternalError {
                suberror,
                data: data.clone(),
            });
            ExitKind::InternalError { suberror, data }
        } else {
            exit
        };
        m.drain_ring(t_ns);
        let handle_ns = entered.elapsed().as_nanos() as u64;
        m.record_exit(t_ns, handle_ns, exit);
        if let Some(ending) = ending {
            return ending;
        }
    }
}

/// Suberror and data of a `KVM_EXIT_INTERNAL_ERROR`.
fn internal_error_details(vcpu: &mut VcpuFd) -> (u32, Vec<u64>) {
    let run = vcpu.get_kvm_run();
    if run.exit_reason != KVM_EXIT_INTERNAL_ERROR {
        return (0, Vec::new());
    }
    // SAFETY: exit_reason is KVM_EXIT_INTERNAL_ERROR, so `internal` is the
    // union member KVM filled in.
    let internal = unsafe { run.__bindgen_anon_1.internal };
    let n = (internal.ndata as usize).min(internal.data.len());
    (internal.suberror, internal.data[..n].to_vec())
}
