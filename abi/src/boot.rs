//! The boot-info structure the VMM writes at [`crate::layout::BOOT_INFO`] and
//! hands to the kernel in RDI (as a physical address).

/// `BootInfo::magic`.
pub const MAGIC: u64 = u64::from_le_bytes(*b"LDEBOOT1");

/// Most memory-map entries.
pub const MAX_REGIONS: usize = 8;
/// Most boot modules (user programs): the most processes in one run.
pub const MAX_MODULES: usize = 256;
/// Most MLFQ levels.
pub const MAX_LEVELS: usize = 8;
/// Bytes of a module name (NUL padded).
pub const MODULE_NAME_LEN: usize = 32;
/// Most arguments a program gets after its name (argv[1..]).
pub const MAX_ARGS: usize = 31;
/// Bytes of a module's argument string (NUL padded, arguments separated by
/// single spaces).
pub const MODULE_ARGS_LEN: usize = 256;

/// Memory-map entry kinds. Usable RAM is zero when the kernel starts.
pub const REGION_USABLE: u32 = 1;
/// Memory used by boot structures, the kernel image and modules.
pub const REGION_RESERVED: u32 = 2;
/// The event ring: shared with the VMM, never allocated.
pub const REGION_TRACE_RING: u32 = 3;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MemRegion {
    pub base: u64,
    pub len: u64,
    pub kind: u32,
    pub _pad: u32,
}

/// What the scheduler may know of a process before it runs (OSTEP's job).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    /// The tick it arrives at; it is not in the system before.
    pub arrival_tick: u64,
    /// Its CPU length in ticks (0 = unknown). The kernel ends it with
    /// status 0 at the tick that completes it, and SJF and STCF sort by it.
    pub length_ticks: u64,
    /// Lottery and stride tickets (0 = the default, [`DEFAULT_TICKETS`]).
    pub tickets: u64,
    /// Its I/O, which the kernel carries out at exact ticks as OSTEP's
    /// simulators do: block for `io_ticks` after every `io_every` ticks of
    /// CPU (mlfq.py's iofreq; 0 = not periodic) ...
    pub io_every: u64,
    pub io_ticks: u64,
    /// ... or at the listed points: block for `io_len[i]` ticks once its CPU
    /// time reaches `io_at[i]` (increasing), for the first `io_count`.
    pub io_count: u32,
    pub _pad: u32,
    pub io_at: [u32; MAX_IO_POINTS],
    pub io_len: [u32; MAX_IO_POINTS],
}

/// Most I/O points of a job's list.
pub const MAX_IO_POINTS: usize = 8;

impl Job {
    /// Arrives at 0, length unknown, default tickets, no I/O.
    pub const NONE: Job = Job {
        arrival_tick: 0,
        length_ticks: 0,
        tickets: 0,
        io_every: 0,
        io_ticks: 0,
        io_count: 0,
        _pad: 0,
        io_at: [0; MAX_IO_POINTS],
        io_len: [0; MAX_IO_POINTS],
    };

    /// The I/O due once CPU time reaches `cpu` ticks (a job that has just
    /// finished does no more I/O): its length in ticks.
    pub fn io_due(&self, cpu: u64) -> Option<u64> {
        if self.length_ticks != 0 && cpu >= self.length_ticks {
            return None;
        }
        if self.io_every != 0 {
            return (cpu.checked_rem(self.io_every) == Some(0)).then_some(self.io_ticks);
        }
        let n = (self.io_count as usize).min(MAX_IO_POINTS);
        (0..n)
            .find(|&i| self.io_at[i] as u64 == cpu)
            .map(|i| self.io_len[i] as u64)
    }

    /// The first CPU time after `cpu` ticks at which [`Job::io_due`] may
    /// answer (`None`: never): until then a tick's charge need not ask.
    pub fn next_io(&self, cpu: u64) -> Option<u64> {
        if let Some(periods) = cpu.checked_div(self.io_every) {
            return (periods + 1).checked_mul(self.io_every);
        }
        let n = (self.io_count as usize).min(MAX_IO_POINTS);
        self.io_at[..n]
            .iter()
            .map(|&at| at as u64)
            .filter(|&at| at > cpu)
            .min()
    }
}

impl Default for Job {
    fn default() -> Self {
        Job::NONE
    }
}

/// Tickets of a process that was given none.
pub const DEFAULT_TICKETS: u64 = 100;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Module {
    /// Guest-physical address of the ELF file.
    pub addr: u64,
    pub len: u64,
    pub name: [u8; MODULE_NAME_LEN],
    pub args: [u8; MODULE_ARGS_LEN],
    pub job: Job,
}

impl Module {
    pub const EMPTY: Module = Module {
        addr: 0,
        len: 0,
        name: [0; MODULE_NAME_LEN],
        args: [0; MODULE_ARGS_LEN],
        job: Job::NONE,
    };
}

/// `BootInfo::flags`: a debugger is attached (`lde run --gdb`). The kernel
/// then hands user-mode #DB and #BP to the VMM ([`crate::debug`]) instead
/// of handling them itself, because KVM cannot single-step or break in user
/// mode on every host.
pub const FLAG_DEBUGGER: u32 = 1;

/// Scheduling policies the kernel knows (`BootInfo::sched`).
pub const SCHED_RR: u32 = 0;
pub const SCHED_FIFO: u32 = 1;
pub const SCHED_COOP: u32 = 2;
pub const SCHED_SJF: u32 = 3;
pub const SCHED_STCF: u32 = 4;
pub const SCHED_MLFQ: u32 = 5;
pub const SCHED_LOTTERY: u32 = 6;
pub const SCHED_STRIDE: u32 = 7;

/// `PolicyParams::flags`: MLFQ's I/O resets a job's quantum and allotment
/// (mlfq.py `-S`).
pub const MLFQ_IO_STAY: u32 = 1;
/// `PolicyParams::flags`: a job back from I/O goes to the front of its
/// queue (mlfq.py `-I`).
pub const MLFQ_IO_BUMP: u32 = 2;

/// The policy's settings, in ticks (OSTEP's simulators' options).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyParams {
    /// rr, lottery, stride: the time slice in ticks (at least 1).
    pub slice_ticks: u64,
    /// mlfq: number of levels (1 to [`MAX_LEVELS`]), `MLFQ_*` flags.
    pub levels: u32,
    pub flags: u32,
    /// mlfq: each level's quantum in ticks and allotment in quanta, top
    /// level first.
    pub level_quantum: [u32; MAX_LEVELS],
    pub level_allot: [u32; MAX_LEVELS],
    /// mlfq: boost every job to the top level every this many ticks (0 =
    /// never).
    pub boost_ticks: u64,
    /// lottery: the seed of its random numbers (`lottery.py -s`).
    pub seed: u64,
}

impl PolicyParams {
    /// OSTEP's defaults: slice 1; mlfq.py's 3 levels, quantum 10,
    /// allotment 1, no boost; seed 0.
    pub const DEFAULT: PolicyParams = PolicyParams {
        slice_ticks: 1,
        levels: 3,
        flags: 0,
        level_quantum: [10; MAX_LEVELS],
        level_allot: [1; MAX_LEVELS],
        boost_ticks: 0,
        seed: 0,
    };
}

/// The policies' names, indexed by `SCHED_*`, as `lde run --sched` spells
/// them and traces record them.
pub const SCHED_NAMES: [&str; 8] = [
    "rr", "fifo", "coop", "sjf", "stcf", "mlfq", "lottery", "stride",
];

/// The name of policy `sched`, if the kernel knows it.
pub fn sched_name(sched: u32) -> Option<&'static str> {
    SCHED_NAMES.get(sched as usize).copied()
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BootInfo {
    pub magic: u64,
    pub version: u32,
    pub region_count: u32,
    pub regions: [MemRegion; MAX_REGIONS],
    /// Bytes of guest RAM.
    pub mem_size: u64,
    /// Guest-physical address and length of the command line (not NUL
    /// terminated).
    pub cmdline_addr: u64,
    pub cmdline_len: u64,
    /// TSC frequency as KVM reports it (0 when unknown).
    pub tsc_khz: u64,
    /// Guest-physical address and size of the event ring (0 = no tracing).
    pub trace_ring_addr: u64,
    pub trace_ring_size: u64,
    /// Scheduling policy (`SCHED_*`), quantum in microseconds and CPU limit
    /// per process in microseconds (0 = none).
    pub sched: u32,
    pub _pad: u32,
    pub quantum_us: u64,
    pub cpu_limit_us: u64,
    pub policy: PolicyParams,
    pub module_count: u32,
    /// `FLAG_*` bits.
    pub flags: u32,
    pub modules: [Module; MAX_MODULES],
}

impl BootInfo {
    /// An empty boot info with the magic and version filled in.
    pub const fn new() -> Self {
        BootInfo {
            magic: MAGIC,
            version: crate::CONTRACT_VERSION,
            region_count: 0,
            regions: [MemRegion {
                base: 0,
                len: 0,
                kind: 0,
                _pad: 0,
            }; MAX_REGIONS],
            mem_size: 0,
            cmdline_addr: 0,
            cmdline_len: 0,
            tsc_khz: 0,
            trace_ring_addr: 0,
            trace_ring_size: 0,
            sched: SCHED_RR,
            _pad: 0,
            quantum_us: 10_000,
            cpu_limit_us: 0,
            policy: PolicyParams::DEFAULT,
            module_count: 0,
            flags: 0,
            modules: [Module::EMPTY; MAX_MODULES],
        }
    }
}

impl Default for BootInfo {
    fn default() -> Self {
        Self::new()
    }
}

/// The bytes of a NUL-padded field, up to the first NUL.
pub fn c_str(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

// The boot info must fit below the command line.
const _: () = assert!(
    core::mem::size_of::<BootInfo>() as u64 <= crate::layout::CMDLINE - crate::layout::BOOT_INFO
);
