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

use crate::devices::exit::{self as exit_device, GuestExit};
use crate::devices::serial::Com1;
use crate::devices::{console, totals};
use crate::memory::GuestRam;
use crate::trace::record::{
    EventRecord, ExitKind, ExitRecord, ReasonTotals, Record, RegisterDump, RunEnd,
};
use crate::trace::ring::RingReader;
use crate::trace::run_figures::RunFigures;
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

    /// Its kind, without the details (the trace footer's `end`).
    pub fn kind(&self) -> RunEnd {
        match self {
            Ending::Exit(_) => RunEnd::Exit,
            Ending::Panic => RunEnd::Panic,
            Ending::TripleFault => RunEnd::TripleFault,
            Ending::InternalError { .. } => RunEnd::InternalError,
            Ending::FailEntry { .. } => RunEnd::FailEntry,
            Ending::GuestError(_) => RunEnd::GuestError,
            Ending::Timeout => RunEnd::Timeout,
            Ending::Interrupted => RunEnd::Interrupted,
            Ending::HostError(_) => RunEnd::HostError,
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
    pub procs: RunFigures,
    pub trace: Option<TraceWriter>,
    /// Print guest events as they are drained (-vv).
    pub log_events: bool,
    /// The debugger, while gdb is attached (`lde run --gdb`).
    pub debug: Option<Box<crate::gdb::session::Session>>,
    pub start: Instant,
    pub exits: u64,
    pub totals: BTreeMap<&'static str, ReasonTotals>,
    /// The last event the guest recorded (what it was doing when it died).
    pub last_event: Option<EventRecord>,
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
            last_event,
            ..
        } = self;
        let before = ring.events;
        ring.drain(ram, now_ns, |ev| {
            procs.observe(&ev);
            *last_event = Some(ev.clone());
            if *log_events {
                log::debug!("guest event {:?}", ev);
            }
            if let Some(t) = trace.as_mut() {
                t.write(&Record::Event(ev));
            }
        });
        // Whatever ends the run later, what the guest reported so far is in
        // the file (writer.rs).
        if let Some(t) = trace.as_mut().filter(|_| ring.events != before) {
            t.flush();
        }
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
        // lde's kernel runs in long mode from its first instruction; real
        // mode at the reset vector (CS 0xf000, RIP 0xfff0) is the state an
        // INIT leaves, which KVM on AMD applies before KVM_EXIT_SHUTDOWN.
        let reset = s.efer & EFER_LMA == 0 && s.cs.selector == 0xf000 && r.rip == 0xfff0;
        Some(RegisterDump {
            reset,
            t_ns: self.now_ns(),
            vcpu: 0,
            regs: regs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            sregs: sregs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        })
    }
}

/// EFER.LMA: long mode is active.
const EFER_LMA: u64 = 1 << 10;

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

/// The port devices an exit can reach (COM1's registers, and the console
/// the console port's text goes to), behind a trait so that
/// [`handle_exit`] can be tested without a VM.
pub trait Uart {
    fn write(&mut self, offset: u8, value: u8);
    fn read(&mut self, offset: u8) -> u8;
    /// Text from the console port, to the same output.
    fn print(&mut self, bytes: &[u8]);
}

impl Uart for Com1 {
    fn write(&mut self, offset: u8, value: u8) {
        Com1::write(self, offset, value)
    }
    fn read(&mut self, offset: u8) -> u8 {
        Com1::read(self, offset)
    }
    fn print(&mut self, bytes: &[u8]) {
        Com1::print(self, bytes)
    }
}

/// What handling one exit came to.
#[derive(Debug, PartialEq)]
pub struct Handled {
    /// What to record (string I/O sizes and internal-error details are
    /// filled in by the caller, which owns the vCPU).
    pub exit: ExitKind,
    /// The run ends with this.
    pub ending: Option<Ending>,
}

/// Handle one return of `KVM_RUN`: serve the device it reached and say
/// what to record and whether the run ends. Pure apart from `uart` (and
/// reading guest RAM for the console port), like Firecracker's
/// `handle_kvm_exit`; `Err` is a host failure that ends the run at once.
pub fn handle_exit(
    result: Result<VcpuExit<'_>, kvm_ioctls::Error>,
    uart: &mut impl Uart,
    ram: &GuestRam,
) -> Result<Handled, Ending> {
    let mut ending = None;
    let exit = match result {
        Ok(VcpuExit::IoOut(port, data)) => {
            if port == ports::COM1 {
                // The data register: one byte, or a `rep outsb` string.
                for &b in data.iter() {
                    uart.write(0, b);
                }
            } else if in_com1(port) && data.len() == 1 {
                uart.write((port - ports::COM1) as u8, data[0]);
            } else if port == ports::CONSOLE {
                match console::text(ram, data) {
                    Ok(text) => uart.print(&text),
                    Err(why) => ending = Some(Ending::GuestError(why)),
                }
            } else if port == ports::EXIT {
                ending = Some(match exit_device::decode(data) {
                    // With the kernel's totals, if it left any: the
                    // end-of-run lines, last on its console.
                    GuestExit::Status(s) => match totals::read(ram) {
                        Ok(Some(t)) => {
                            uart.print(totals::lines(&t).as_bytes());
                            Ending::Exit(s)
                        }
                        Ok(None) => Ending::Exit(s),
                        Err(why) => Ending::GuestError(why),
                    },
                    GuestExit::Panic => Ending::Panic,
                    GuestExit::Invalid(v) => Ending::GuestError(format!(
                        "the guest wrote {v:#x} ({} bytes) to the exit device, which the contract does not define",
                        data.len()
                    )),
                });
            }
            // The doorbell needs nothing more: the ring is drained at every
            // exit.
            ExitKind::IoOut {
                port,
                size: data.len() as u8,
                count: 1,
                value: value_of(data),
            }
        }
        Ok(VcpuExit::IoIn(port, data)) => {
            if in_com1(port) && data.len() == 1 {
                data[0] = uart.read((port - ports::COM1) as u8);
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
            // Details come from the vCPU's run area (the caller's).
            ending = Some(Ending::InternalError {
                suberror: 0,
                data: Vec::new(),
            });
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
        Ok(VcpuExit::Debug(arch)) => {
            // Only a debugger asks for these; with one attached its hook
            // (gdb/session.rs) takes the exit and clears this ending.
            ending = Some(Ending::GuestError("a debug exit without a debugger".into()));
            // Not dr7: garbage on PVM hosts.
            ExitKind::Debug {
                exception: arch.exception,
                pc: arch.pc,
                dr6: arch.dr6,
            }
        }
        Ok(other) => {
            let what = format!("{other:?}");
            ending = Some(Ending::GuestError(format!("unexpected exit {what}")));
            ExitKind::Unexpected { what }
        }
        Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => ExitKind::Intr,
        Err(e) => return Err(Ending::HostError(format!("KVM_RUN failed: {e}"))),
    };
    Ok(Handled { exit, ending })
}

/// Why [`run_until_paused`] returned.
pub enum Ran {
    Ended(Ending),
    /// The debugger takes over (only with gdb attached): its session says
    /// why.
    Paused,
}

/// Run the guest until it ends. `stop` is set by the main thread (watchdog,
/// Ctrl-C) before it kicks this thread out of `KVM_RUN`.
pub fn run(m: &mut Machine, stop: &AtomicU8) -> Ending {
    loop {
        if let Ran::Ended(ending) = run_until_paused(m, stop) {
            return ending;
        }
    }
}

/// Run the guest until it ends or, with gdb attached, until the debugger
/// must take over (a breakpoint, a step, data from gdb).
pub fn run_until_paused(m: &mut Machine, stop: &AtomicU8) -> Ran {
    loop {
        match stop.load(Ordering::SeqCst) {
            watchdog::STOP_TIMEOUT => return Ran::Ended(Ending::Timeout),
            watchdog::STOP_INTERRUPTED => return Ran::Ended(Ending::Interrupted),
            _ => {}
        }
        let result = m.vcpu.run();
        let entered = Instant::now();
        let t_ns = entered.duration_since(m.start).as_nanos() as u64;
        let Handled {
            mut exit,
            mut ending,
        } = match handle_exit(result, &mut m.com1, &m.ram) {
            Ok(handled) => handled,
            Err(ending) => return Ran::Ended(ending),
        };
        complete_from_run_area(&mut m.vcpu, &mut exit, &mut ending);
        // With gdb attached: a stop for the debugger? (gdb/session.rs)
        let pause = crate::gdb::session::after_exit(m, &exit, &mut ending);
        m.drain_ring(t_ns);
        let handle_ns = entered.elapsed().as_nanos() as u64;
        m.record_exit(t_ns, handle_ns, exit);
        if let Some(ending) = ending {
            return Ran::Ended(ending);
        }
        if pause {
            return Ran::Paused;
        }
    }
}

/// Fill in what only the vCPU's run area knows: the item size and count of
/// string I/O, and an internal error's suberror and data.
fn complete_from_run_area(vcpu: &mut VcpuFd, exit: &mut ExitKind, ending: &mut Option<Ending>) {
    match exit {
        ExitKind::IoOut { size, count, .. } | ExitKind::IoIn { size, count, .. } => {
            // A string instruction moves `count` items of `size` bytes.
            let run = vcpu.get_kvm_run();
            // SAFETY: the exit was KVM_EXIT_IO, so `io` is the union member
            // KVM filled in.
            let io = unsafe { run.__bindgen_anon_1.io };
            *size = io.size;
            *count = io.count;
        }
        ExitKind::InternalError { .. } => {
            let (suberror, data) = internal_error_details(vcpu);
            *ending = Some(Ending::InternalError {
                suberror,
                data: data.clone(),
            });
            *exit = ExitKind::InternalError { suberror, data };
        }
        _ => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use lde_abi::exit::{encode, KIND_EXIT, KIND_PANIC};

    /// A UART that records what was written and answers reads with a
    /// fixed line status.
    #[derive(Default)]
    struct FakeUart {
        written: Vec<(u8, u8)>,
        reads: Vec<u8>,
        printed: Vec<u8>,
    }

    impl Uart for FakeUart {
        fn write(&mut self, offset: u8, value: u8) {
            self.written.push((offset, value));
        }
        fn read(&mut self, offset: u8) -> u8 {
            self.reads.push(offset);
            0x60
        }
        fn print(&mut self, bytes: &[u8]) {
            self.printed.extend_from_slice(bytes);
        }
    }

    fn handle(exit: VcpuExit<'_>) -> (Handled, FakeUart) {
        handle_with(exit, &GuestRam::new(1 << 20).expect("guest RAM"))
    }

    fn handle_with(exit: VcpuExit<'_>, ram: &GuestRam) -> (Handled, FakeUart) {
        let mut uart = FakeUart::default();
        let handled = handle_exit(Ok(exit), &mut uart, ram).expect("not a host error");
        (handled, uart)
    }

    #[test]
    fn console_port_prints_the_buffer_it_points_at() {
        let ram = GuestRam::new(1 << 20).expect("guest RAM");
        ram.write(0x2000, &5u32.to_le_bytes()).unwrap();
        ram.write(0x2000 + lde_abi::console::BYTES_OFFSET, b"hello")
            .unwrap();
        let (h, uart) = handle_with(
            VcpuExit::IoOut(ports::CONSOLE, &0x2000u32.to_le_bytes()),
            &ram,
        );
        assert_eq!(h.ending, None);
        assert_eq!(uart.printed, b"hello");
    }

    #[test]
    fn the_exit_prints_the_kernels_totals_if_it_left_any() {
        let ram = GuestRam::new(1 << 20).expect("guest RAM");
        let exit = lde_abi::exit::encode(lde_abi::exit::KIND_EXIT, 0).to_le_bytes();
        let (h, uart) = handle_with(VcpuExit::IoOut(ports::EXIT, &exit), &ram);
        assert_eq!(h.ending, Some(Ending::Exit(0)));
        assert!(uart.printed.is_empty());
        let mut t = lde_abi::totals::RunTotals {
            magic: lde_abi::totals::MAGIC,
            processes: 3,
            killed: 1,
            ..Default::default()
        };
        ram.write_pod(lde_abi::layout::RUN_TOTALS, &t).unwrap();
        let (h, uart) = handle_with(VcpuExit::IoOut(ports::EXIT, &exit), &ram);
        assert_eq!(h.ending, Some(Ending::Exit(0)));
        let text = String::from_utf8(uart.printed).unwrap();
        assert!(text.starts_with("lde kernel: all 3 processes have ended (1 killed)"));
        assert_eq!(text.lines().count(), 3);
        t.killed = 4;
        ram.write_pod(lde_abi::layout::RUN_TOTALS, &t).unwrap();
        let (h, uart) = handle_with(VcpuExit::IoOut(ports::EXIT, &exit), &ram);
        assert!(matches!(h.ending, Some(Ending::GuestError(_))), "{h:?}");
        assert!(uart.printed.is_empty());
    }

    #[test]
    fn console_port_refuses_a_bad_length_or_address() {
        let ram = GuestRam::new(1 << 20).expect("guest RAM");
        ram.write(0x2000, &10_000u32.to_le_bytes()).unwrap();
        for addr in [0x2000u32, (1 << 20) - 4, u32::MAX] {
            let (h, uart) = handle_with(VcpuExit::IoOut(ports::CONSOLE, &addr.to_le_bytes()), &ram);
            assert!(
                matches!(h.ending, Some(Ending::GuestError(_))),
                "{addr:#x}: {h:?}"
            );
            assert!(uart.printed.is_empty());
        }
        let (h, _) = handle_with(VcpuExit::IoOut(ports::CONSOLE, &[0, 0x20]), &ram);
        assert!(matches!(h.ending, Some(Ending::GuestError(_))));
    }

    #[test]
    fn com1_data_bytes_go_to_the_uart() {
        let (h, uart) = handle(VcpuExit::IoOut(ports::COM1, b"hi"));
        assert_eq!(uart.written, [(0, b'h'), (0, b'i')]);
        assert_eq!(h.ending, None);
        assert!(
            matches!(h.exit, ExitKind::IoOut { port, size: 2, value, .. }
            if port == ports::COM1 && value == 0x6968)
        );
    }

    #[test]
    fn com1_register_writes_reach_their_register() {
        let (h, uart) = handle(VcpuExit::IoOut(ports::COM1 + 3, &[0x03]));
        assert_eq!(uart.written, [(3, 0x03)]);
        assert_eq!(h.ending, None);
    }

    #[test]
    fn exit_device_status_ends_the_run() {
        let value = encode(KIND_EXIT, 7).to_le_bytes();
        let (h, _) = handle(VcpuExit::IoOut(ports::EXIT, &value));
        assert_eq!(h.ending, Some(Ending::Exit(7)));
    }

    #[test]
    fn exit_device_panic_ends_the_run() {
        let value = encode(KIND_PANIC, 0).to_le_bytes();
        let (h, _) = handle(VcpuExit::IoOut(ports::EXIT, &value));
        assert_eq!(h.ending, Some(Ending::Panic));
    }

    #[test]
    fn exit_device_garbage_is_a_guest_error() {
        let (h, _) = handle(VcpuExit::IoOut(ports::EXIT, &[9]));
        assert!(matches!(h.ending, Some(Ending::GuestError(m)) if m.contains("exit device")));
    }

    #[test]
    fn doorbell_and_unknown_ports_are_recorded_only() {
        for port in [ports::TRACE_DOORBELL, ports::NULL_PORT, 0x80] {
            let (h, uart) = handle(VcpuExit::IoOut(port, &[0]));
            assert_eq!(h.ending, None);
            assert!(uart.written.is_empty());
            assert!(matches!(h.exit, ExitKind::IoOut { port: p, .. } if p == port));
        }
    }

    #[test]
    fn com1_reads_come_from_the_uart() {
        let mut data = [0u8];
        let (h, uart) = handle(VcpuExit::IoIn(ports::COM1 + 5, &mut data));
        assert_eq!(uart.reads, [5]);
        assert!(matches!(h.exit, ExitKind::IoIn { value: 0x60, .. }));
        assert_eq!(h.ending, None);
    }

    #[test]
    fn reads_of_nothing_float_high() {
        let mut data = [0u8; 2];
        let (h, uart) = handle(VcpuExit::IoIn(0x60, &mut data));
        assert!(uart.reads.is_empty());
        assert!(matches!(
            h.exit,
            ExitKind::IoIn {
                value: 0xffff,
                size: 2,
                ..
            }
        ));
        let mut data = [0u8; 4];
        let (h, _) = handle(VcpuExit::MmioRead(0xfee0_0000, &mut data));
        assert!(matches!(
            h.exit,
            ExitKind::MmioRead {
                addr: 0xfee0_0000,
                len: 4,
                value: 0xffff_ffff
            }
        ));
        assert_eq!(h.ending, None);
    }

    #[test]
    fn mmio_writes_are_recorded_only() {
        let (h, _) = handle(VcpuExit::MmioWrite(0x1000_0000, &[1, 2]));
        assert!(matches!(
            h.exit,
            ExitKind::MmioWrite {
                len: 2,
                value: 0x0201,
                ..
            }
        ));
        assert_eq!(h.ending, None);
    }

    #[test]
    fn hlt_and_intr_go_on() {
        assert_eq!(handle(VcpuExit::Hlt).0.ending, None);
        assert_eq!(handle(VcpuExit::Intr).0.exit, ExitKind::Intr);
    }

    #[test]
    fn shutdown_is_a_triple_fault() {
        let (h, _) = handle(VcpuExit::Shutdown);
        assert_eq!(h.exit, ExitKind::Shutdown);
        assert_eq!(h.ending, Some(Ending::TripleFault));
    }

    #[test]
    fn fail_entry_ends_the_run() {
        let (h, _) = handle(VcpuExit::FailEntry(0x80000021, 0));
        assert_eq!(
            h.ending,
            Some(Ending::FailEntry {
                hardware_reason: 0x80000021
            })
        );
    }

    #[test]
    fn internal_error_ends_the_run() {
        let (h, _) = handle(VcpuExit::InternalError);
        assert!(matches!(h.exit, ExitKind::InternalError { .. }));
        assert!(matches!(h.ending, Some(Ending::InternalError { .. })));
    }

    #[test]
    fn system_event_is_a_guest_error() {
        let (h, _) = handle(VcpuExit::SystemEvent(1, &[]));
        assert!(matches!(h.ending, Some(Ending::GuestError(m)) if m.contains("system event 1")));
    }

    #[test]
    fn an_unexpected_exit_is_a_guest_error() {
        let (h, _) = handle(VcpuExit::Unknown);
        assert!(matches!(h.exit, ExitKind::Unexpected { .. }));
        assert!(matches!(h.ending, Some(Ending::GuestError(m)) if m.contains("unexpected exit")));
    }

    #[test]
    fn a_debug_exit_without_a_debugger_is_a_guest_error() {
        let arch = kvm_bindings::kvm_debug_exit_arch {
            exception: 1,
            pc: 0x1000,
            dr6: 0xffff0ff1,
            ..Default::default()
        };
        let (h, _) = handle(VcpuExit::Debug(arch));
        assert_eq!(
            h.exit,
            ExitKind::Debug {
                exception: 1,
                pc: 0x1000,
                dr6: 0xffff0ff1
            }
        );
        assert!(
            matches!(h.ending, Some(Ending::GuestError(m)) if m.contains("without a debugger"))
        );
    }

    #[test]
    fn interrupted_kvm_run_goes_on_and_a_failed_one_ends() {
        let mut uart = FakeUart::default();
        let ram = GuestRam::new(1 << 20).expect("guest RAM");
        let h = handle_exit(Err(kvm_ioctls::Error::new(libc::EINTR)), &mut uart, &ram).unwrap();
        assert_eq!(h.exit, ExitKind::Intr);
        assert_eq!(h.ending, None);
        let end =
            handle_exit(Err(kvm_ioctls::Error::new(libc::EBADF)), &mut uart, &ram).unwrap_err();
        assert!(matches!(end, Ending::HostError(m) if m.contains("KVM_RUN failed")));
    }
}
