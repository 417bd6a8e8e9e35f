//! The boot-info structure the VMM writes at [`crate::layout::BOOT_INFO`] and
//! hands to the kernel in RDI (as a physical address).

/// `BootInfo::magic`.
pub const MAGIC: u64 = u64::from_le_bytes(*b"LDEBOOT1");

/// Most memory-map entries.
pub const MAX_REGIONS: usize = 8;
/// Most boot modules (user programs).
pub const MAX_MODULES: usize = 16;
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

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Module {
    /// Guest-physical address of the ELF file.
    pub addr: u64,
    pub len: u64,
    pub name: [u8; MODULE_NAME_LEN],
    pub args: [u8; MODULE_ARGS_LEN],
}

impl Module {
    pub const EMPTY: Module = Module {
        addr: 0,
        len: 0,
        name: [0; MODULE_NAME_LEN],
        args: [0; MODULE_ARGS_LEN],
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

/// The policies' names, indexed by `SCHED_*`, as `lde run --sched` spells
/// them and traces record them.
pub const SCHED_NAMES: [&str; 3] = ["rr", "fifo", "coop"];

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
