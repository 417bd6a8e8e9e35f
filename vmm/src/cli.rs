//! The command line: `lde run ...` and `lde trace ...`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::policy::Policy;

const EXAMPLES: &str = "\
Without a command, lde does `lde run`.

Examples:
  lde run                                   the default demo: processes, a hog, a kill
  lde run --program hello                   run one embedded user program
  lde run --program 'worker:A 5' --program 'worker:B 5' --sched coop
  lde run --program spin:3 --program spin:5 --program spin:2 --quantum 20ms --trace run.jsonl
  lde run --list-programs                   what the embedded programs are
  lde run -- exit=7                         boot the kernel alone; it ends with status 7
  lde trace summary run.jsonl               exits, traps, system calls, per-process table
  lde trace timeline run.jsonl --svg run.svg";

const RUN_EXAMPLES: &str = "\
Examples:
  lde run
  lde run --program hello --program 'args:one two' -v
  lde run --program hog --program 'worker:A 3' --sched coop --timeout 2s
  lde run --program ./my-static-elf --trace out.jsonl --timeline out.svg
  lde run --kernel path/to/lde-kernel --mem 128M -- show-idt exit=0

Kernel arguments (after --): exit=N, crash=triple, crash=panic, crash=fault,
spin, show-idt.

Programs: a bare NAME is an embedded program (lde run --list-programs), even
if a file of that name is in the current directory; a file needs a path with a
'/' in it (./prog).

Exit status: the guest's status (0-99); 2 bad input; 100 triple fault;
101 KVM internal error; 102 failed VM entry; 103 kernel panic; 104 guest broke
the contract; 124 watchdog timeout; 130 interrupted (Ctrl-C, SIGTERM, SIGHUP);
1 host error (an I/O error writing the trace or timeline, unless the run
ended with another non-zero status, which is kept).";

#[derive(Parser, Debug)]
#[command(
    name = "lde",
    version,
    about = "Limited direct execution on KVM: boot a Rust kernel, run user programs, record every exit",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// What to do; without one, `lde` is `lde run` with its defaults (so a
    /// bare `cargo run --release` shows the default demo).
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// The subcommand given, or `run` with every option at its default.
    pub fn command_or_default(self) -> Command {
        self.command.unwrap_or_else(|| {
            Cli::parse_from(["lde", "run"])
                .command
                .expect("`lde run` parses")
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Boot the guest kernel in a KVM virtual machine and run user programs.
    #[command(after_help = RUN_EXAMPLES)]
    Run(Box<RunArgs>),
    /// Inspect a trace file written by `lde run --trace`.
    #[command(subcommand)]
    Trace(TraceCommand),
    /// Write the embedded guest kernel's ELF (symbols and debug info, for
    /// gdb) or a user program's to a file.
    Kernel(KernelArgs),
}

#[derive(Args, Debug, Clone)]
pub struct KernelArgs {
    /// Write the embedded kernel ELF to FILE (e.g. for `gdb FILE`).
    #[arg(long, value_name = "FILE")]
    pub extract: PathBuf,

    /// Write this embedded user program instead (for gdb's
    /// `add-symbol-file FILE`; every program is linked at 0x400000).
    #[arg(long, value_name = "NAME")]
    pub program: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Guest kernel ELF to boot instead of the embedded one.
    #[arg(long, value_name = "ELF")]
    pub kernel: Option<PathBuf>,

    /// Guest RAM, e.g. 64M, 128M, 1G (from 8M to 3G).
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_mem)]
    pub mem: u64,

    /// Stop a guest that runs longer than this (e.g. 30s, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Write every exit and guest event to FILE as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,

    /// Largest trace file (e.g. 100M, 2G). Past it exit and event records
    /// are counted but not written (the footer says how many).
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_trace_max)]
    pub trace_max: u64,

    /// Draw the run as an SVG timeline into FILE.
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,

    /// Print each exit as it happens (-vv: also each guest event).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// A user program to run: an embedded NAME, or a PATH (anything with a
    /// `/`, e.g. ./prog) to a static x86-64 ELF, with arguments after a
    /// colon, separated by spaces or commas (`worker:A,5`). A bare name is
    /// always an embedded program, even if a file of that name is in the
    /// current directory. `@T` at the end makes it arrive at tick T
    /// (default 0), `#N` gives it N tickets (lottery, stride; default 100).
    /// Repeat for several; they run concurrently.
    #[arg(
        long = "program",
        short = 'p',
        value_name = "NAME[:ARGS][@TICK][#TICKETS]"
    )]
    pub programs: Vec<OsString>,

    /// Jobs in OSTEP's homework syntax, run after the --program ones:
    /// scheduler.py's lengths `10,20,30`; with --sched mlfq, mlfq.py's
    /// `start,run,iofreq:...`; with lottery or stride, lottery.py's
    /// `length:tickets,...`.
    #[arg(long, value_name = "LIST")]
    pub jobs: Option<String>,

    /// List the embedded user programs and exit.
    #[arg(long)]
    pub list_programs: bool,

    /// Scheduling policy (OSTEP's scheduling chapters).
    #[arg(long, value_enum, default_value_t = Policy::Rr)]
    pub sched: Policy,

    /// The timer period: one tick, the unit of every scheduling figure
    /// (1ms to 1s).
    #[arg(long, value_name = "DURATION", default_value = "10ms", value_parser = parse_quantum)]
    pub quantum: Duration,

    /// Time slice in ticks (OSTEP's -q): rr, lottery, stride (default 1);
    /// mlfq: one quantum for every level or one per level, top first
    /// (mlfq.py -q / -Q; default 10).
    #[arg(long, value_name = "TICKS[,TICKS...]")]
    pub slice: Option<String>,

    /// mlfq: number of levels (mlfq.py -n; default 3).
    #[arg(long, value_name = "N")]
    pub levels: Option<u32>,

    /// mlfq: allotment in quanta, for every level or per level, top first
    /// (mlfq.py -a / -A; default 1).
    #[arg(long, value_name = "QUANTA[,QUANTA...]")]
    pub allot: Option<String>,

    /// mlfq: move every job to the top level every TICKS ticks (mlfq.py -B;
    /// default never).
    #[arg(long, value_name = "TICKS")]
    pub boost: Option<u64>,

    /// mlfq: an I/O resets the job's quantum and allotment, the gameable
    /// rule (mlfq.py -S).
    #[arg(long)]
    pub io_stay: bool,

    /// mlfq: a job back from I/O goes to the front of its queue (mlfq.py -I).
    #[arg(long)]
    pub io_bump: bool,

    /// mlfq: how long each I/O of a --jobs job lasts (mlfq.py -i; default 5).
    #[arg(long, value_name = "TICKS")]
    pub io_time: Option<u64>,

    /// lottery: the random seed; the draws are lottery.py -s SEED's.
    #[arg(long, value_name = "SEED")]
    pub seed: Option<u64>,

    /// Kill any process that uses more CPU time than this.
    #[arg(long, value_name = "DURATION", value_parser = parse_cpu_limit)]
    pub cpu_limit: Option<Duration>,

    /// Turn off the guest's event ring (only VMM exits are traced).
    #[arg(long)]
    pub no_guest_events: bool,

    /// Size of the guest's event ring (e.g. 1M, 64K; at least 128 bytes,
    /// one event). A ring too small for the run drops events: they are
    /// counted and reported, never lost silently.
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = parse_ring_size)]
    pub guest_ring: u64,

    /// Wait for gdb on [ADDR:]PORT before the first guest instruction
    /// (default 127.0.0.1:1234; only loopback unless --gdb-any-interface).
    #[arg(long, value_name = "[ADDR:]PORT", num_args = 0..=1,
          default_missing_value = "127.0.0.1:1234", value_parser = parse_gdb_addr)]
    pub gdb: Option<std::net::SocketAddr>,

    /// Let --gdb listen on an address other than loopback. The stub can read
    /// and write all guest memory: only for networks you trust.
    #[arg(long, requires = "gdb")]
    pub gdb_any_interface: bool,

    /// Arguments for the guest kernel (after `--`).
    #[arg(last = true, value_name = "KERNEL ARGS")]
    pub kernel_args: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum TraceCommand {
    /// Exits by reason, KVM counters, traps, system calls, switches, and the
    /// per-process table (response, turnaround, wait, CPU).
    Summary {
        /// Trace file (JSON Lines from `lde run --trace`).
        file: PathBuf,
    },
    /// One readable line per record.
    Show {
        file: PathBuf,
        /// Only records about this process.
        #[arg(long)]
        pid: Option<u32>,
        /// Only records of this kind (exit, syscall, trap, tick, switch, ...).
        #[arg(long)]
        kind: Option<String>,
        /// Only records at or after this time since start (e.g. 10ms).
        #[arg(long, value_parser = parse_duration)]
        since: Option<Duration>,
        /// Only records at or before this time since start.
        #[arg(long, value_parser = parse_duration)]
        until: Option<Duration>,
    },
    /// Draw the run: one lane per process, marks for events, a lane for exits.
    Timeline {
        file: PathBuf,
        /// Output SVG file.
        #[arg(long, value_name = "OUT.svg")]
        svg: PathBuf,
    },
    /// Convert to Chrome trace-event JSON (ui.perfetto.dev, chrome://tracing).
    Export {
        file: PathBuf,
        /// Output JSON file.
        #[arg(long, value_name = "OUT.json")]
        perfetto: PathBuf,
    },
}

/// Parse a memory size such as 64M, 128MiB, 1G (binary units).
pub fn parse_mem(s: &str) -> Result<u64, String> {
    let cfg = parse_size::Config::new().with_binary();
    let bytes = cfg
        .parse_size(s)
        .map_err(|e| format!("'{s}' is not a size like 64M or 1G ({e})"))?;
    let min = lde_abi::layout::MIN_RAM;
    let max = lde_abi::layout::MAX_RAM;
    if bytes < min {
        return Err(format!(
            "{s} is too small: the guest needs at least {}M",
            min >> 20
        ));
    }
    if bytes > max {
        return Err(format!("{s} is too large: at most {}G", max >> 30));
    }
    if bytes % (2 << 20) != 0 {
        return Err(format!("{s} is not a multiple of 2M"));
    }
    Ok(bytes)
}

/// Parse `--gdb`: `PORT` (on 127.0.0.1) or `ADDR:PORT`. Whether a
/// non-loopback address is allowed is decided in `run` (it needs
/// `--gdb-any-interface`).
pub fn parse_gdb_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::{Ipv4Addr, SocketAddr};
    let bad = || format!("'{s}' is not PORT or ADDR:PORT, e.g. 1234 or 127.0.0.1:1234");
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    s.parse::<SocketAddr>().map_err(|_| bad())
}

/// Parse the event-ring size: 128 bytes to 64M.
pub fn parse_ring_size(s: &str) -> Result<u64, String> {
    let cfg = parse_size::Config::new().with_binary();
    let bytes = cfg
        .parse_size(s)
        .map_err(|e| format!("'{s}' is not a size like 1M or 64K ({e})"))?;
    let min = lde_abi::trace::HEADER_SIZE + lde_abi::trace::EVENT_SIZE;
    if !(min..=64 << 20).contains(&bytes) {
        return Err(format!(
            "ring size {s} is out of range: use {min} bytes to 64M"
        ));
    }
    Ok(bytes.next_multiple_of(lde_abi::trace::EVENT_SIZE))
}

/// Parse `--trace-max`: at least 64K, room for the header and the closing
/// records with exits to spare.
pub fn parse_trace_max(s: &str) -> Result<u64, String> {
    let cfg = parse_size::Config::new().with_binary();
    let bytes = cfg
        .parse_size(s)
        .map_err(|e| format!("'{s}' is not a size like 100M or 2G ({e})"))?;
    if bytes < 64 << 10 {
        return Err(format!("trace size {s} is too small: at least 64K"));
    }
    Ok(bytes)
}

/// Parse a duration such as 30s, 500ms, 1m.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("'{s}' is not a duration like 500ms or 30s ({e})"))
}

/// Longest `--timeout` and `--cpu-limit`: a week is plenty, and keeps
/// every deadline arithmetic far from overflow.
const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err("the timeout must be more than 0".into());
    }
    if d > MAX_DURATION {
        return Err(format!("timeout {s} is too long: at most 7 days"));
    }
    Ok(d)
}

/// The quantum: from 1 ms to 1 s (KVM's timer cannot go much faster on some
/// hosts, and a slower tick makes the demonstration pointless).
pub fn parse_quantum(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_millis(1) || d > Duration::from_secs(1) {
        return Err(format!("quantum {s} is out of range: use 1ms to 1s"));
    }
    Ok(d)
}

fn parse_cpu_limit(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err("the CPU limit must be more than 0".into());
    }
    if d > MAX_DURATION {
        return Err(format!("CPU limit {s} is too long: at most 7 days"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_sizes() {
        assert_eq!(parse_mem("64M").unwrap(), 64 << 20);
        assert_eq!(parse_mem("1G").unwrap(), 1 << 30);
        assert_eq!(parse_mem("128MiB").unwrap(), 128 << 20);
        assert!(parse_mem("4M").unwrap_err().contains("too small"));
        assert!(parse_mem("64X").unwrap_err().contains("not a size"));
        assert!(parse_mem("5G").unwrap_err().contains("too large"));
        assert!(parse_mem("9M").unwrap_err().contains("multiple"));
    }

    #[test]
    fn no_command_means_run_with_defaults() {
        let Command::Run(args) = Cli::parse_from(["lde"]).command_or_default() else {
            panic!("`lde` alone should be `lde run`");
        };
        assert_eq!(args.mem, 64 << 20);
        assert_eq!(args.timeout, Duration::from_secs(30));
        assert!(args.programs.is_empty() && args.kernel_args.is_empty());
    }

    #[test]
    fn gdb_addresses() {
        assert_eq!(
            parse_gdb_addr("1234").unwrap().to_string(),
            "127.0.0.1:1234"
        );
        assert_eq!(
            parse_gdb_addr("0.0.0.0:99").unwrap().to_string(),
            "0.0.0.0:99"
        );
        assert_eq!(parse_gdb_addr("[::1]:5").unwrap().to_string(), "[::1]:5");
        assert!(parse_gdb_addr("host:x").is_err());
        assert!(parse_gdb_addr("70000").is_err());
        let Command::Run(args) = Cli::parse_from(["lde", "run", "--gdb"]).command_or_default()
        else {
            panic!("a run");
        };
        assert_eq!(args.gdb.unwrap().to_string(), "127.0.0.1:1234");
    }

    #[test]
    fn quantum_range() {
        assert_eq!(parse_quantum("10ms").unwrap(), Duration::from_millis(10));
        assert!(parse_quantum("500us").is_err());
        assert!(parse_quantum("2s").is_err());
        assert!(parse_quantum("ten").is_err());
    }
}
