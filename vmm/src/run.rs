//! `lde run`: put the pieces together.
//!
//! Check the input -> create the VM -> load kernel and programs -> boot info
//! and long mode -> run the vCPU on its own thread while this thread keeps
//! the watchdog and listens for Ctrl-C -> drain, count, summarise, flush.

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use lde_abi::boot::{self, BootInfo, MemRegion};
use lde_abi::layout::KERNEL_PHYS;

use crate::cli::RunArgs;
use crate::devices::serial::Com1;
use crate::error::{self, bad_input, to_stderr, to_stdout};
use crate::exits::{self, Ending, Machine};
use crate::kvm_stats::{self, KvmStats};
use crate::programs::{self, Program};
use crate::run_report::{self, RunReport};
use crate::trace::record::{Footer, Header, ProgramInfo, Record};
use crate::trace::ring::RingReader;
use crate::trace::run_figures::RunFigures;
use crate::trace::writer::{Flusher, TraceWriter};
use crate::trace::SCHEMA_VERSION;
use crate::vm::{self, Vm};
use crate::{boot as vm_boot, embedded, gdb, host, kernel, paths, watchdog};

/// Run the VM; returns `lde`'s exit status.
pub fn run(args: &RunArgs, argv: Vec<String>) -> Result<i32> {
    if args.list_programs {
        to_stdout(&programs::list());
        return Ok(0);
    }

    // All input is checked before /dev/kvm is touched.
    let (kernel_bytes, kernel_name): (Cow<[u8]>, String) = match &args.kernel {
        Some(path) => (
            Cow::Owned(crate::elf_file::read_limited(path, "kernel")?),
            path.display().to_string(),
        ),
        None => (Cow::Borrowed(embedded::KERNEL), "embedded".to_string()),
    };
    let specs: Vec<OsString> = if !args.programs.is_empty() || args.jobs.is_some() {
        args.programs.clone()
    } else if args.kernel_args.is_empty() {
        programs::DEFAULT_DEMO.iter().map(OsString::from).collect()
    } else {
        Vec::new()
    };
    let mut progs: Vec<Program> = specs
        .iter()
        .map(|s| programs::resolve(s, args.mem))
        .collect::<Result<_>>()?;
    let policy = crate::policy::params(args)?;
    if let Some(list) = &args.jobs {
        let io_time = args.io_time.unwrap_or(crate::policy::DEFAULT_IO_TIME);
        for spec in crate::jobs::from_list(list, args.sched, io_time)? {
            progs.push(programs::resolve(OsStr::new(&spec), args.mem)?);
        }
    }
    let ring_size = if args.no_guest_events {
        0
    } else {
        args.guest_ring
    };
    if ring_size + lde_abi::layout::KERNEL_PHYS * 2 > args.mem {
        return Err(bad_input("--guest-ring does not fit in --mem"));
    }
    let ring_addr = args.mem - ring_size;
    let kernel_what = format!("kernel '{kernel_name}'");
    let checked = kernel::check(&kernel_bytes, &kernel_what, ring_addr)?;
    let cmdline = args.kernel_args.join(" ");
    // --timeline without --trace still needs a trace to draw from.
    let trace_path = args.trace.clone().or_else(|| {
        args.timeline
            .as_ref()
            .map(|_| std::env::temp_dir().join(format!("lde-{}.jsonl", std::process::id())))
    });
    // Refuse unwritable outputs, and outputs that are the run's own input,
    // now; but truncate the trace file only once the VM is built, so an
    // error before the run leaves an old trace alone.
    let mut inputs: Vec<(&str, &Path)> = Vec::new();
    if let Some(k) = &args.kernel {
        inputs.push(("kernel", k));
    }
    for spec in &specs {
        if let Some(file) = programs::file_of(spec) {
            inputs.push(("program", file));
        }
    }
    if let Some(path) = &args.trace {
        paths::check_output(path, "trace file", &inputs)?;
        inputs.push(("trace file", path));
    }
    if let Some(path) = &args.timeline {
        paths::check_output(path, "timeline", &inputs)?;
    }

    let gdb = args.gdb.map(|addr| prepare_gdb(args, addr)).transpose()?;

    let kvm = vm::open_kvm()?;
    let vm = Vm::new(kvm, args.mem)?;
    let nx = vm.host_has_nx();
    vm_boot::write_boot_tables(&vm.ram)?;
    let loaded = kernel::load(&vm.ram, &checked)?;
    let (modules, free_start) = programs::place(&vm.ram, &progs, loaded.end, ring_addr)?;
    let vcpu = vm.create_vcpu()?;
    let tsc_khz = vcpu.get_tsc_khz().map(u64::from).unwrap_or(0);

    let mut info = boot_info(args, tsc_khz, &modules, free_start, ring_addr, ring_size);
    info.policy = policy;
    if gdb.is_some() {
        info.flags |= boot::FLAG_DEBUGGER;
    }
    vm_boot::write_boot_info(&vm.ram, &mut info, &cmdline)?;
    vm_boot::setup_vcpu(&vcpu, loaded.entry, nx)?;

    let mut trace = trace_path
        .as_deref()
        .map(|p| TraceWriter::create(p, args.trace_max))
        .transpose()?;
    let flusher = trace.as_ref().map(TraceWriter::flusher);
    let header = trace_header(args, argv, tsc_khz, kernel_name, cmdline, &progs);
    if let Some(t) = trace.as_mut() {
        t.write(&Record::Header(header.clone()));
    }

    // The run's stop flag: set by the watchdog or Ctrl-C (watchdog.rs).
    let stop = Arc::new(AtomicU8::new(watchdog::RUNNING));
    let kvm_stats = KvmStats::open(&vcpu);
    let stats_start = kvm_stats.as_ref().map(|s| s.read()).unwrap_or_default();
    let names = progs.iter().map(|p| p.name.clone()).collect();
    let machine = Machine {
        com1: Com1::new(&vm.fd, stop.clone())?,
        vcpu,
        ram: vm.ram.clone(),
        ring: RingReader::new(info.trace_ring_addr, ring_size, tsc_khz, names),
        procs: RunFigures::new(info.quantum_us * 1000),
        trace,
        log_events: args.verbose >= 2,
        debug: None,
        start: Instant::now(),
        exits: 0,
        totals: Default::default(),
        last_event: None,
    };

    let gdb_clock = gdb.as_ref().map(|d| d.clock.clone());
    let (machine, ending, wall) = run_vcpu(machine, args.timeout, stop, flusher, gdb)?;
    let stats_end = kvm_stats.as_ref().map(|s| s.read()).unwrap_or_default();
    let delta = kvm_stats::delta(&stats_start, &stats_end);
    let (status, mut problems) = finish(args, machine, ending, wall, delta, &header);
    if let Some(clock) = gdb_clock {
        to_stderr(&format!(
            "debugger: the guest was stopped {} times, {:.3} s in all (the watchdog does not count it)\n",
            clock.pauses(),
            clock.total().as_secs_f64()
        ));
    }
    if let (Some(svg), Some(path)) = (&args.timeline, &trace_path) {
        match crate::trace::timeline::draw_file(path, svg) {
            Ok(()) => to_stderr(&format!("timeline: {}\n", svg.display())),
            Err(e) => problems.push(e.context("drawing the timeline")),
        }
        if args.trace.is_none() {
            let _ = std::fs::remove_file(path);
        }
    }
    Ok(error::with_io_problems(status, &problems))
}

/// `--gdb`: check the address, listen, and say how to attach.
fn prepare_gdb(args: &RunArgs, addr: std::net::SocketAddr) -> Result<gdb::Debugger> {
    if !addr.ip().is_loopback() && !args.gdb_any_interface {
        return Err(bad_input(format!(
            "--gdb {addr}: not a loopback address; the stub reads and writes all guest \
             memory, so other interfaces need --gdb-any-interface"
        )));
    }
    let symbols = match &args.kernel {
        Some(path) => path.clone(),
        None => gdb::symbols::embedded_kernel_file().context("writing the kernel ELF for gdb")?,
    };
    let kicker = Arc::new(gdb::kick::Kicker::default());
    let (link, bound) = gdb::link::listen(addr, kicker.clone())?;
    to_stderr(&format!(
        "lde: waiting for gdb on {bound}; the guest is stopped before its first instruction. Attach with:\n  {}\n",
        gdb::symbols::gdb_command(&symbols, bound)
    ));
    Ok(gdb::Debugger {
        link,
        kicker,
        clock: Arc::new(watchdog::PauseClock::paused()),
        pvm: host::kvm_flavour() == host::Kvm::Pvm,
    })
}

/// The boot info for this run: the memory map (what is reserved, what the
/// kernel may use, where the event ring is), the scheduler settings and
/// the boot modules.
fn boot_info(
    args: &RunArgs,
    tsc_khz: u64,
    modules: &[boot::Module],
    free_start: u64,
    ring_addr: u64,
    ring_size: u64,
) -> BootInfo {
    let mut info = BootInfo::new();
    let regions = [
        (0, KERNEL_PHYS, boot::REGION_RESERVED),
        (KERNEL_PHYS, free_start - KERNEL_PHYS, boot::REGION_RESERVED),
        (free_start, ring_addr - free_start, boot::REGION_USABLE),
        (ring_addr, ring_size, boot::REGION_TRACE_RING),
    ];
    for (base, len, kind) in regions.into_iter().filter(|r| r.1 > 0) {
        info.regions[info.region_count as usize] = MemRegion {
            base,
            len,
            kind,
            _pad: 0,
        };
        info.region_count += 1;
    }
    info.mem_size = args.mem;
    info.tsc_khz = tsc_khz;
    info.trace_ring_addr = if ring_size > 0 { ring_addr } else { 0 };
    info.trace_ring_size = ring_size;
    info.sched = args.sched.abi();
    info.quantum_us = args.quantum.as_micros() as u64;
    info.cpu_limit_us = args.cpu_limit.map(|d| d.as_micros() as u64).unwrap_or(0);
    info.module_count = modules.len() as u32;
    info.modules[..modules.len()].copy_from_slice(modules);
    info
}

/// The trace's first record: this host, this kernel, these programs, these
/// settings.
fn trace_header(
    args: &RunArgs,
    argv: Vec<String>,
    tsc_khz: u64,
    kernel_name: String,
    cmdline: String,
    progs: &[Program],
) -> Header {
    Header {
        schema: SCHEMA_VERSION,
        lde_version: env!("CARGO_PKG_VERSION").into(),
        host_kernel: host::kernel_release(),
        kvm: host::kvm_flavour(),
        cpu_model: host::cpu_model(),
        tsc_khz,
        mem_bytes: args.mem,
        kernel: kernel_name,
        kernel_cmdline: cmdline,
        programs: progs
            .iter()
            .enumerate()
            .map(|(i, p)| ProgramInfo {
                pid: i as u32 + 1,
                name: p.name.clone(),
                args: p.args.clone(),
                arrival_tick: p.job.arrival_tick,
                length_ticks: p.job.length_ticks,
                tickets: p.job.tickets,
            })
            .collect(),
        sched: args.sched,
        quantum_us: args.quantum.as_micros() as u64,
        cpu_limit_us: args.cpu_limit.map(|d| d.as_micros() as u64),
        timeout_ms: args.timeout.as_millis() as u64,
        argv,
        started_unix_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    }
}

/// Run the vCPU on its own thread; this thread enforces `timeout` and turns
/// SIGINT/SIGTERM/SIGHUP into an orderly stop, and flushes the trace
/// every so often (writer.rs) even while the guest makes no exits.
fn run_vcpu(
    mut machine: Machine,
    timeout: Duration,
    stop: Arc<AtomicU8>,
    flusher: Option<Flusher>,
    gdb: Option<gdb::Debugger>,
) -> Result<(Machine, Ending, Duration)> {
    let clock = gdb.as_ref().map(|d| d.clock.clone());
    watchdog::install().context("installing the vCPU kick signal")?;
    let interrupted = Arc::new(AtomicBool::new(false));
    // A closed terminal (SIGHUP) ends the run like Ctrl-C: the trace is
    // completed instead of the process dying mid-write.
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, interrupted.clone())
            .context("installing the Ctrl-C handler")?;
    }
    let (done_tx, done_rx) = mpsc::channel();
    let thread_stop = stop.clone();
    let start = Instant::now();
    let vcpu_thread = std::thread::Builder::new()
        .name("vcpu0".into())
        .spawn(move || {
            machine.start = Instant::now();
            let ending = match gdb {
                Some(dbg) => gdb::serve(&mut machine, &thread_stop, dbg),
                None => exits::run(&mut machine, &thread_stop),
            };
            let _ = done_tx.send(());
            (machine, ending)
        })
        .context("starting the vCPU thread")?;
    loop {
        let now = Instant::now();
        // Time stopped in the debugger does not count.
        let deadline = start + timeout + clock.as_ref().map(|c| c.total()).unwrap_or_default();
        if interrupted.load(Ordering::SeqCst) {
            watchdog::stop(&vcpu_thread, &stop, watchdog::STOP_INTERRUPTED);
            break;
        }
        if now >= deadline {
            watchdog::stop(&vcpu_thread, &stop, watchdog::STOP_TIMEOUT);
            break;
        }
        if let Some(f) = &flusher {
            f.tick();
        }
        let wait = (deadline - now).min(Duration::from_millis(20));
        match done_rx.recv_timeout(wait) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
    let wall = start.elapsed();
    let (machine, ending) = vcpu_thread
        .join()
        .map_err(|_| anyhow!("the vCPU thread panicked"))?;
    Ok((machine, ending, wall))
}

/// After the guest: last events, register dump, process table, footer,
/// summary. Returns the exit status and the I/O problems met writing the
/// trace.
fn finish(
    args: &RunArgs,
    mut m: Machine,
    ending: Ending,
    wall: Duration,
    kvm_delta: std::collections::BTreeMap<String, u64>,
    header: &Header,
) -> (i32, Vec<anyhow::Error>) {
    let now = m.now_ns();
    m.drain_ring(now);
    let console_dropped = m.com1.finish();
    if console_dropped > 0 {
        to_stderr(&format!("lde: {console_dropped} bytes of guest console output dropped: stdout did not take them before the run stopped\n"));
    }
    let dump = (ending.is_crash() || ending == Ending::Timeout)
        .then(|| m.register_dump())
        .flatten();
    // The process on the CPU at the end held it until the run stopped (the
    // footer's wall time, which `lde trace summary` uses too).
    m.procs.finish(wall.as_nanos() as u64);
    let processes = m.procs.records();
    let message = run_report::ending_message(&ending, args, &m, dump.as_ref());
    let status = ending.status();
    let mut problems = Vec::new();
    if let Some(mut t) = m.trace.take() {
        if let Some(d) = &dump {
            t.write(&Record::Registers(d.clone()));
        }
        for p in &processes {
            t.write(&Record::Process(p.clone()));
        }
        let footer = Footer {
            end: ending.kind(),
            status,
            message: message.clone(),
            wall_ns: wall.as_nanos() as u64,
            exits: m.exits,
            exits_by_reason: m
                .totals
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            kvm_stats: kvm_delta.clone(),
            guest_events: m.ring.events,
            dropped_events: m.ring.dropped,
            bad_events: m.ring.bad,
            records: t.records(),
            not_written: t.not_written(),
        };
        t.write(&Record::Footer(footer));
        let not_written = t.not_written();
        if let Err(e) = t.finish() {
            problems.push(e);
        }
        if not_written > 0 {
            to_stderr(&format!(
                "lde: the trace reached --trace-max ({} bytes): {not_written} exit and event records were counted but not written\n",
                args.trace_max
            ));
        }
    }
    let explanation = crate::trace::explain::explain(
        &m.procs,
        &processes,
        ending == Ending::Timeout,
        header.quantum_us as f64 / 1000.0,
    );
    let report = RunReport {
        explanation,
        message: &message,
        wall,
        exits: m.exits,
        totals: &m.totals,
        kvm: &kvm_delta,
        processes: &processes,
        on_cpu_ns: &m.procs.on_cpu_ns,
        dump: dump.as_ref(),
        events: m.ring.events,
        dropped: m.ring.dropped,
        bad: m.ring.bad,
        ring_broken: m.ring.broken.as_deref(),
        header,
    };
    to_stderr(&run_report::render(&report));
    (status, problems)
}
