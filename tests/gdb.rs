//! `lde run --gdb`: the tests speak the GDB remote protocol to the stub over
//! TCP, as gdb would (no gdb needed), on real /dev/kvm. Each waits for what
//! it needs (a stop reply, the process's end), never for a fixed time.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use lde::host::Kvm;
use lde::trace::record::{ExitKind, Record};
use lde_abi::cpu::vector;

/// Only a safety net for a broken stub: every read waits for a reply.
const NET_DEADLINE: Duration = Duration::from_secs(300);

/// A running `lde run --gdb` and a protocol connection to it.
struct Session {
    child: Child,
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    stderr: Option<JoinHandle<String>>,
    stdout: Option<JoinHandle<String>>,
    /// The guest's console, line by line, as it comes.
    console: std::sync::mpsc::Receiver<String>,
    trace: PathBuf,
}

struct Ended {
    status: i32,
    stdout: String,
    stderr: String,
    records: Vec<Record>,
}

/// Start `lde run --gdb 127.0.0.1:0 --trace T ARGS`, read the port it
/// listens on from its stderr, and connect.
fn start(args: &[&str]) -> Session {
    common::require_kvm();
    let trace = common::temp_path("gdb", "jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lde"))
        .args(["run", "--gdb", "127.0.0.1:0", "--trace"])
        .arg(&trace)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting lde");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let addr: SocketAddr = loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            panic!("lde ended before listening for gdb: {seen}");
        }
        seen.push_str(&line);
        if let Some(rest) = line.strip_prefix("lde: waiting for gdb on ") {
            break rest.split(';').next().unwrap().parse().unwrap();
        }
    };
    let stderr = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
        seen + &rest
    });
    let out = BufReader::new(child.stdout.take().unwrap());
    let (console_tx, console) = std::sync::mpsc::channel();
    let stdout = std::thread::spawn(move || {
        let mut s = String::new();
        for line in out.lines().map_while(Result::ok) {
            s.push_str(&line);
            s.push('\n');
            let _ = console_tx.send(line);
        }
        s
    });
    let stream = TcpStream::connect(addr).expect("connecting to the stub");
    stream.set_read_timeout(Some(NET_DEADLINE)).unwrap();
    stream.set_nodelay(true).unwrap();
    let reader = BufReader::new(stream.try_clone().unwrap());
    Session {
        child,
        stream,
        reader,
        stderr: Some(stderr),
        stdout: Some(stdout),
        console,
        trace,
    }
}

fn checksum(body: &str) -> u8 {
    body.bytes().fold(0u8, |a, b| a.wrapping_add(b))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Undo the protocol's run-length encoding: `X*N` is X and then
/// `N - 29` more of it.
fn expand_rle(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '*' {
            let n = chars.next().expect("a count after '*'") as usize - 29;
            let last = out.chars().last().expect("something to repeat");
            out.extend(std::iter::repeat_n(last, n));
        } else {
            out.push(c);
        }
    }
    out
}

fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().unwrap())
}

struct Regs {
    gpr: [u64; 16],
    rip: u64,
    cs: u32,
}

impl Regs {
    fn rdi(&self) -> u64 {
        self.gpr[5]
    }
}

impl Session {
    fn send(&mut self, body: &str) {
        let packet = format!("${body}#{:02x}", checksum(body));
        self.stream.write_all(packet.as_bytes()).unwrap();
        let mut ack = [0u8];
        self.reader.read_exact(&mut ack).unwrap();
        assert_eq!(ack[0], b'+', "the stub acknowledges '{body}'");
    }

    /// The next packet from the stub (acknowledged).
    fn recv(&mut self) -> String {
        let mut skipped = Vec::new();
        self.reader.read_until(b'$', &mut skipped).unwrap();
        let mut body = Vec::new();
        self.reader.read_until(b'#', &mut body).unwrap();
        assert_eq!(body.pop(), Some(b'#'), "a whole packet");
        let mut sum = [0u8; 2];
        self.reader.read_exact(&mut sum).unwrap();
        self.stream.write_all(b"+").unwrap();
        expand_rle(&String::from_utf8(body).unwrap())
    }

    fn ask(&mut self, body: &str) -> String {
        self.send(body);
        self.recv()
    }

    /// `monitor CMD`: the console output it produced.
    fn monitor(&mut self, cmd: &str) -> String {
        self.send(&format!("qRcmd,{}", hex(cmd.as_bytes())));
        let mut text = String::new();
        loop {
            let reply = self.recv();
            match reply.strip_prefix('O') {
                Some(h) if reply != "OK" => text.push_str(&String::from_utf8_lossy(&unhex(h))),
                _ => {
                    assert_eq!(reply, "OK", "monitor {cmd}");
                    return text;
                }
            }
        }
    }

    fn regs(&mut self) -> Regs {
        let b = unhex(&self.ask("g"));
        assert!(b.len() >= 16 * 8 + 8 + 4 + 4, "a register packet");
        let mut gpr = [0u64; 16];
        for (i, r) in gpr.iter_mut().enumerate() {
            *r = le64(&b[i * 8..]);
        }
        Regs {
            gpr,
            rip: le64(&b[128..]),
            cs: u32::from_le_bytes(b[140..144].try_into().unwrap()),
        }
    }

    fn read_mem(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, String> {
        let reply = self.ask(&format!("m{addr:x},{len:x}"));
        if reply.starts_with('E') || reply.is_empty() {
            return Err(reply);
        }
        Ok(unhex(&reply))
    }

    /// Resume (`c` or `s`) and wait for the stop reply; its signal number.
    fn resume(&mut self, how: &str) -> String {
        self.ask(how)
    }

    fn breakpoint(&mut self, kind: u8, addr: u64, insert: bool) {
        let op = if insert { 'Z' } else { 'z' };
        assert_eq!(
            self.ask(&format!("{op}{kind},{addr:x},1")),
            "OK",
            "{op}{kind} at {addr:#x}"
        );
    }

    /// Wait until the guest prints a line containing `text`.
    fn wait_console(&mut self, text: &str) {
        loop {
            let line = self
                .console
                .recv_timeout(NET_DEADLINE)
                .unwrap_or_else(|_| panic!("the guest never printed '{text}'"));
            if line.contains(text) {
                return;
            }
        }
    }

    /// Wait for lde to end and collect what it wrote.
    fn wait(mut self) -> Ended {
        let status = self.child.wait().unwrap().code().unwrap_or(-1);
        let records = common::read_trace(&self.trace);
        let _ = std::fs::remove_file(&self.trace);
        Ended {
            status,
            stdout: self.stdout.take().unwrap().join().unwrap(),
            stderr: self.stderr.take().unwrap().join().unwrap(),
            records,
        }
    }
}

/// A failing test must not leave its VM running.
impl Drop for Session {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Stop replies: `S05`/`T05...` (SIGTRAP), `T02` (SIGINT), `W00` (exited).
fn signal_of(reply: &str) -> Option<u8> {
    match reply.as_bytes().first() {
        Some(b'S' | b'T') => u8::from_str_radix(&reply[1..3], 16).ok(),
        _ => None,
    }
}

/// The address of the first symbol of `elf` whose name contains `part`.
/// The address of the symbol named `part`, or else of the first whose
/// (mangled) name contains it: `_start` must not find `xstate_stub_start`.
fn symbol(elf_bytes: &[u8], part: &str) -> u64 {
    let elf = elf::ElfBytes::<elf::endian::LittleEndian>::minimal_parse(elf_bytes).unwrap();
    let (symtab, strtab) = elf.symbol_table().unwrap().expect("a symbol table");
    let named = |exact: bool| {
        symtab.iter().find(|s| {
            s.st_value != 0
                && strtab.get(s.st_name as usize).is_ok_and(|n| {
                    if exact {
                        n == part
                    } else {
                        n.contains(part)
                    }
                })
        })
    };
    named(true)
        .or_else(|| named(false))
        .unwrap_or_else(|| panic!("no symbol like {part}"))
        .st_value
}

fn kernel_symbol(part: &str) -> u64 {
    symbol(lde::embedded::KERNEL, part)
}

fn debugger_records(records: &[Record]) -> Vec<&lde::trace::record::DebuggerRecord> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Debugger(d) => Some(d),
            _ => None,
        })
        .collect()
}

/// The KVM flavour in the trace header: `pvm`, `vmx`, `svm`.
fn kvm_flavour(records: &[Record]) -> Kvm {
    match records.first() {
        Some(Record::Header(h)) => h.kvm,
        other => panic!("the trace starts with its header, not {other:?}"),
    }
}

/// The exit that made the guest stop for the debugger: the last exit
/// before the first `stop` record matching `pick`.
fn exit_before_stop(
    records: &[Record],
    pick: impl Fn(&lde::trace::record::DebuggerRecord) -> bool,
) -> &ExitKind {
    let at = records
        .iter()
        .position(|r| matches!(r, Record::Debugger(d) if d.event == "stop" && pick(d)))
        .expect("such a stop");
    records[..at]
        .iter()
        .rev()
        .find_map(|r| match r {
            Record::Exit(e) => Some(&e.exit),
            _ => None,
        })
        .expect("an exit before the stop")
}

/// The kernel forwarded a user trap (`vector`) to the debug port.
fn forwarded(exit: &ExitKind, vector: u8) -> bool {
    matches!(exit, ExitKind::IoOut { port, value, .. }
        if *port == lde_abi::ports::DEBUG && *value & 0xff == u64::from(vector))
}

fn trap_frame(bytes: &[u8]) -> [u64; 22] {
    let mut q = [0u64; 22];
    for (i, v) in q.iter_mut().enumerate() {
        *v = le64(&bytes[i * 8..]);
    }
    q
}
impl Session {
    /// From the stop before the first instruction, run to the first system
    /// call (a breakpoint on the dispatcher, left in); its address.
    fn stop_in_first_syscall(&mut self) -> u64 {
        assert_eq!(signal_of(&self.ask("?")), Some(5));
        let dispatch = kernel_symbol("syscall8dispatch");
        self.breakpoint(0, dispatch, true);
        assert_eq!(signal_of(&self.resume("c")), Some(5));
        assert_eq!(self.regs().rip, dispatch, "stopped on the breakpoint");
        dispatch
    }
}

const TF_RAX: usize = 0;
const TF_RIP: usize = 17;
const TF_CS: usize = 18;

#[test]
fn break_in_the_syscall_dispatcher_read_the_frame_step_over_iretq_and_finish() {
    let mut g = start(&["-p", "hello"]);
    // Stopped before the first instruction: RIP is the kernel's entry.
    assert_eq!(signal_of(&g.ask("?")), Some(5));
    let entry = kernel_symbol("_start");
    assert_eq!(g.regs().rip, entry, "stopped at _start");
    assert!(g.monitor("cpl").contains("cpl 0"));

    let dispatch = kernel_symbol("syscall8dispatch");
    g.breakpoint(0, dispatch, true);
    assert_eq!(signal_of(&g.resume("c")), Some(5));
    let regs = g.regs();
    assert_eq!(regs.rip, dispatch, "stopped on the breakpoint");
    assert_eq!(regs.cs & 3, 0, "in the kernel");
    // First argument (RDI): the trap frame the user's int 0x80 pushed.
    let frame = trap_frame(&g.read_mem(regs.rdi(), 22 * 8).expect("the frame is mapped"));
    assert_eq!(
        frame[TF_CS] & 3,
        3,
        "the frame's CS has RPL 3: the call came from user mode"
    );
    let nr = frame[TF_RAX];
    let user_rip = frame[TF_RIP];
    assert!(user_rip < 0x8000_0000_0000, "a user RIP: {user_rip:#x}");

    // Step a few kernel instructions: each a stop, RIP moving, still ring 0.
    g.breakpoint(0, dispatch, false);
    let mut rip = dispatch;
    for _ in 0..3 {
        assert_eq!(signal_of(&g.resume("s")), Some(5));
        let r = g.regs();
        assert_ne!(r.rip, rip, "a step moves RIP");
        assert_eq!(r.cs & 3, 0);
        rip = r.rip;
    }

    // A hardware breakpoint on the iretq at the end of trap_return, then a
    // step over it: from ring 0 to the user instruction after `int 0x80`.
    let trap_return = kernel_symbol("trap_return");
    let code = g.read_mem(trap_return, 64).unwrap();
    let at = code
        .windows(2)
        .position(|w| w == [0x48, 0xcf])
        .expect("iretq in trap_return");
    let iretq = trap_return + at as u64;
    g.breakpoint(1, iretq, true);
    assert_eq!(signal_of(&g.resume("c")), Some(5));
    assert_eq!(g.regs().rip, iretq);
    assert!(g.monitor("cpl").contains("cpl 0"));
    // Step with the breakpoint left in: the stub steps over it itself.
    assert_eq!(signal_of(&g.resume("s")), Some(5));
    let r = g.regs();
    assert_eq!(r.cs & 3, 3, "after iretq: user mode");
    assert_eq!(
        r.rip, user_rip,
        "at the frame's return address, after the int 0x80"
    );
    assert!(g.monitor("cpl").contains("cpl 3"));
    assert!(g.monitor("cr3").contains("cr3 0x"));
    assert!(g.monitor("idt").contains("128"), "gate 0x80 listed");
    g.breakpoint(1, iretq, false);

    let end = g.resume("c");
    assert_eq!(end, "W00", "gdb hears the guest exit with status 0");
    let run = g.wait();
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stdout.contains("hello from user mode"));
    // The trace agrees: the first system call was the number in the frame.
    let first = run
        .records
        .iter()
        .find_map(|r| match r {
            Record::Event(e) => match &e.event {
                lde::trace::record::GuestEvent::Syscall { nr, .. } => Some(*nr),
                _ => None,
            },
            _ => None,
        })
        .expect("a syscall event");
    assert_eq!(first, nr, "RAX in the frame is the call number");
    let d = debugger_records(&run.records);
    assert_eq!(d.first().map(|d| d.event.as_str()), Some("attach"));
    assert!(d
        .iter()
        .any(|d| d.event == "stop" && d.reason.as_deref() == Some("breakpoint")));
    assert!(d
        .iter()
        .any(|d| d.event == "stop" && d.reason.as_deref() == Some("step") && d.cpl == Some(3)));
    // How the kernel breakpoint stopped the guest: on PVM the int3 gdb's
    // `Z0` patched in is an emulation failure; on VMX/SVM `Z0` in the
    // kernel is a debug register, whose #DB KVM hands to lde.
    // And the step over iretq into user mode: on PVM KVM's step would not
    // stop in ring 3, so the stub's one-shot int3 there is forwarded by the
    // kernel; on VMX/SVM KVM's single-step stops there itself.
    let hit = exit_before_stop(&run.records, |d| d.reason.as_deref() == Some("breakpoint"));
    let iret = exit_before_stop(&run.records, |d| {
        d.reason.as_deref() == Some("step") && d.cpl == Some(3)
    });
    if kvm_flavour(&run.records) == Kvm::Pvm {
        assert!(matches!(hit, ExitKind::InternalError { .. }), "{hit:?}");
        assert!(forwarded(iret, vector::BREAKPOINT), "{iret:?}");
    } else {
        assert!(
            matches!(hit, ExitKind::Debug { exception, pc, .. }
                if *exception == u32::from(vector::DEBUG) && *pc == dispatch),
            "{hit:?}"
        );
        assert!(
            matches!(iret, ExitKind::Debug { exception, pc, .. }
                if *exception == u32::from(vector::DEBUG) && *pc == user_rip),
            "{iret:?}"
        );
    }
}

#[test]
fn a_user_breakpoint_in_hello_stops_through_the_kernel() {
    let mut g = start(&["-p", "hello"]);
    // User breakpoints go into the current address space: first get into
    // hello's, at its first system call.
    let dispatch = g.stop_in_first_syscall();
    g.breakpoint(0, dispatch, false);
    let hello = lde::embedded::program("hello").unwrap().1;
    let exit = symbol(hello, "3sys4exit");
    g.breakpoint(0, exit, true);
    assert_eq!(signal_of(&g.resume("c")), Some(5));
    let r = g.regs();
    assert_eq!(r.rip, exit, "stopped on the user breakpoint");
    assert_eq!(r.cs, 0x33, "user CS: the kernel forwarded the #BP");
    assert!(g.monitor("cpl").contains("cpl 3"));
    // Step from the breakpoint in user mode (TF, forwarded #DB).
    g.breakpoint(0, exit, false);
    assert_eq!(signal_of(&g.resume("s")), Some(5));
    let r2 = g.regs();
    assert!(
        r2.rip > exit && r2.rip < exit + 16,
        "one instruction on: {:#x}",
        r2.rip
    );
    assert_eq!(r2.cs, 0x33);
    assert_eq!(g.resume("c"), "W00");
    let run = g.wait();
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stdout.contains("hello from user mode"));
    let d = debugger_records(&run.records);
    assert!(d.iter().any(|d| d.reason.as_deref() == Some("breakpoint")
        && d.cpl == Some(3)
        && d.rip == Some(exit)));
    // On every host the user's int3 and the #DB after the TF step reach
    // the guest's IDT (lde never sets KVM_GUESTDBG_USE_SW_BP, and no debug
    // register or KVM step is armed here) and the kernel forwards them.
    let bp = exit_before_stop(&run.records, |d| d.cpl == Some(3) && d.rip == Some(exit));
    assert!(forwarded(bp, vector::BREAKPOINT), "{bp:?}");
    let step = exit_before_stop(&run.records, |d| d.reason.as_deref() == Some("step"));
    assert!(forwarded(step, vector::DEBUG), "{step:?}");
}

#[test]
fn bad_addresses_are_errors_and_the_guest_goes_on() {
    let mut g = start(&["-p", "hello"]);
    assert_eq!(signal_of(&g.ask("?")), Some(5));
    // Not mapped by the boot page tables; non-canonical; the very top.
    for addr in [0x7fff_0000_0000u64, 0x8000_0000_0000_0000, u64::MAX - 3] {
        let r = g.read_mem(addr, 8);
        assert!(r.is_err(), "reading {addr:#x} should fail, got {r:?}");
    }
    let w = g.ask("M7fff00000000,4:00000000");
    assert!(w.starts_with('E'), "a write there fails too: {w}");
    // The kernel's entry is readable.
    assert_eq!(g.read_mem(kernel_symbol("_start"), 4).unwrap().len(), 4);
    assert_eq!(g.resume("c"), "W00");
    let run = g.wait();
    assert_eq!(run.status, 0, "{}", run.stderr);
}

#[test]
fn ctrl_c_interrupts_a_running_guest() {
    // hog never makes a system call, and under coop nothing ends it.
    let mut g = start(&["-p", "hog", "--sched", "coop", "--timeout", "60s"]);
    assert_eq!(signal_of(&g.ask("?")), Some(5));
    g.send("c");
    // Once hog spins in user mode only a kick gets the vCPU out. The
    // banner may still be on its way out of the kernel: interrupt until
    // the stop is in hog itself.
    g.wait_console("hog: spinning forever");
    let mut tries = 0;
    loop {
        g.stream.write_all(&[0x03]).unwrap();
        let reply = g.recv();
        assert_eq!(signal_of(&reply), Some(2), "SIGINT stop: {reply}");
        let r = g.regs();
        if r.cs & 3 == 3 {
            assert!(r.rip < 0x8000_0000_0000, "in hog: {:#x}", r.rip);
            break;
        }
        tries += 1;
        assert!(tries < 100, "never stopped in user mode");
        g.send("c");
    }
    // `k` ends the guest like Ctrl-C on lde.
    g.stream.write_all(b"$k#6b").unwrap();
    let run = g.wait();
    assert_eq!(
        run.status,
        lde_abi::exit::status::INTERRUPTED,
        "{}",
        run.stderr
    );
    let d = debugger_records(&run.records);
    assert!(d.iter().any(|d| d.reason.as_deref() == Some("interrupt")));
}

#[test]
fn gdb_going_away_leaves_the_guest_running_to_its_end() {
    let mut g = start(&["-p", "worker:A,3"]);
    g.stop_in_first_syscall();
    // Mid-run, at a breakpoint: the connection just closes.
    g.stream.shutdown(std::net::Shutdown::Both).unwrap();
    let run = g.wait();
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stdout.contains("A: step 3/3"), "{}", run.stdout);
    let d = debugger_records(&run.records);
    assert_eq!(d.last().map(|d| d.event.as_str()), Some("detach"));
}

#[test]
fn gdb_refuses_other_interfaces_unless_asked() {
    let out = Command::new(env!("CARGO_BIN_EXE_lde"))
        .args(["run", "--gdb", "0.0.0.0:0", "-p", "hello"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--gdb-any-interface"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn the_watchdog_does_not_count_time_stopped_in_the_debugger() {
    let timeout = Duration::from_secs(2);
    let mut g = start(&["-p", "hello", "--timeout", "2s"]);
    let dispatch = g.stop_in_first_syscall();
    // Stay stopped (talking to the stub) until well past the timeout.
    let stopped = std::time::Instant::now();
    while stopped.elapsed() < timeout + Duration::from_millis(500) {
        assert_eq!(g.regs().rip, dispatch);
        std::thread::sleep(Duration::from_millis(50));
    }
    g.breakpoint(0, dispatch, false);
    assert_eq!(g.resume("c"), "W00", "the guest ran to its end");
    let run = g.wait();
    assert_eq!(run.status, 0, "not 124: {}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("debugger: the guest was stopped"))
        .expect("the summary says how long the guest was stopped");
    // "debugger: the guest was stopped N times, S s in all ..."
    let secs: f64 = line.split_whitespace().nth(7).unwrap().parse().unwrap();
    assert!(secs >= timeout.as_secs_f64(), "{line}");
}

#[test]
fn detaching_at_a_user_breakpoint_leaves_the_program_whole() {
    let mut g = start(&["-p", "hello"]);
    let dispatch = g.stop_in_first_syscall();
    g.breakpoint(0, dispatch, false);
    // On exit's `mov $60, %eax`: resumed one byte late, it would be
    // `cmp $0, %al; add %al, (%rax)`, a fault.
    let exit = symbol(lde::embedded::program("hello").unwrap().1, "3sys4exit");
    let code = g.read_mem(exit, 16).unwrap();
    let at = code
        .windows(5)
        .position(|w| w == [0xb8, 60, 0, 0, 0])
        .expect("exit loads the call number 60");
    let bp = exit + at as u64;
    g.breakpoint(0, bp, true);
    assert_eq!(signal_of(&g.resume("c")), Some(5));
    assert_eq!(g.regs().rip, bp);
    // Detach with the breakpoint still in: the stub takes it out and the
    // program resumes on the instruction it replaced.
    assert_eq!(g.ask("D"), "OK");
    let run = g.wait();
    assert_eq!(run.status, 0, "{}", run.stderr);
    let hello = run
        .records
        .iter()
        .find_map(|r| match r {
            Record::Process(p) => Some(p.end.clone()),
            _ => None,
        })
        .expect("a process record");
    assert_eq!(
        serde_json::to_string(&hello).unwrap(),
        r#"{"exited":0}"#,
        "hello exited normally after the detach"
    );
}
