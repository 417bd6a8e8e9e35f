//! The guest event ring: how the kernel reports traps, system calls, ticks,
//! context switches and process lifecycle without an exit per event.
//!
//! The ring sits in guest RAM at `BootInfo::trace_ring_addr`: a
//! [`RingHeader`] followed by `capacity` fixed-size [`Event`] slots
//! (`capacity` = [`ring_capacity`] of the ring's size, a power of two). The
//! kernel is the only writer of `head` and `dropped`; the VMM is the only
//! writer of `tail`. Slot `i & (capacity - 1)` holds event number `i`. The kernel
//! writes the slot, then publishes it by storing `head = i + 1`; when
//! `head - tail == capacity` the ring is full and the kernel counts the event
//! in `dropped` instead of overwriting. The VMM drains at exits it takes
//! anyway, when the kernel rings [`crate::ports::TRACE_DOORBELL`] (half
//! full), and at the end.

pub const RING_MAGIC: u64 = u64::from_le_bytes(*b"LDERING1");
pub const RING_VERSION: u32 = 1;
/// Bytes from the start of the ring to the first slot.
pub const HEADER_SIZE: u64 = 64;
pub const EVENT_SIZE: u64 = core::mem::size_of::<Event>() as u64;

/// Slots in a ring of `size` bytes: the largest power of two that fits, so
/// the kernel finds a slot with a mask instead of a division.
pub const fn ring_capacity(size: u64) -> u64 {
    if size < HEADER_SIZE + EVENT_SIZE {
        return 0;
    }
    let slots = (size - HEADER_SIZE) / EVENT_SIZE;
    1 << (63 - slots.leading_zeros())
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RingHeader {
    pub magic: u64,
    pub version: u32,
    pub event_size: u32,
    pub capacity: u64,
    /// Events published by the kernel so far.
    pub head: u64,
    /// Events consumed by the VMM so far.
    pub tail: u64,
    /// Events the kernel dropped because the ring was full.
    pub dropped: u64,
    pub _reserved: [u64; 2],
}

/// One guest event. `kind` says what the arguments mean (see [`kind`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// Guest TSC when the event happened.
    pub tsc: u64,
    pub kind: u16,
    pub _pad: u16,
    /// The process the event concerns (0 = the kernel / idle).
    pub pid: u32,
    pub args: [u64; 6],
}

/// Event kinds and the meaning of their arguments.
pub mod kind {
    /// Kernel booted: [tsc_khz, quantum_us, sched policy, timer on (0/1)].
    pub const BOOT: u16 = 1;
    /// Trap entry: [vector, rip, error code, from user (0/1), cr2].
    pub const TRAP: u16 = 2;
    /// System call served: [nr, arg0, arg1, arg2, result, path | CS << 16]
    /// (CS as the trap frame holds it: RPL 3 shows the call came from user
    /// mode).
    pub const SYSCALL: u16 = 3;
    /// Timer tick, `pid` = the process on the CPU: [tick number, charged
    /// (1 = the tick counts as its CPU time, 0 = unaccounted),
    /// [`super::uncharged`] reason when unaccounted].
    pub const TICK: u16 = 4;
    /// Context switch, `pid` = from: [to pid, reason].
    pub const SWITCH: u16 = 5;
    /// Process arrived (entered the system): [module index, arrival tick,
    /// CPU length in ticks (0 = unknown), tickets].
    pub const PROC_CREATE: u16 = 6;
    /// Process ran for the first time: [tick].
    pub const PROC_FIRST_RUN: u16 = 7;
    /// Process exited: [code, tick].
    pub const PROC_EXIT: u16 = 8;
    /// Process killed: [kill reason, vector, rip, error code, fault address, tick].
    pub const PROC_KILL: u16 = 9;
    /// Process went to sleep: [wake-up tick].
    pub const SLEEP: u16 = 10;
    /// Process woke up: [tick].
    pub const WAKE: u16 = 11;
    /// CPU idle (nothing runnable): [1 = idle starts, 0 = ends].
    pub const IDLE: u16 = 12;
    /// Final figures of a process: [cpu ticks, arrival tick, first-run
    /// tick, end tick, ticks waiting while runnable, `stats_end` word].
    pub const PROC_STATS: u16 = 13;
    /// A scheduling decision, `pid` = the process chosen: [tick,
    /// [`super::why`] reason, detail, detail] (details by reason: demoted
    /// from, to; ahead: level; shortest/preempts: ticks left; lottery:
    /// winning ticket, total tickets; stride: pass).
    pub const DECISION: u16 = 14;
    /// MLFQ: the process changed level (0 = top): [tick, from, to].
    pub const LEVEL: u16 = 15;
    /// MLFQ: every job moved to the top level: [tick].
    pub const BOOST: u16 = 16;

    pub fn name(kind: u16) -> Option<&'static str> {
        Some(match kind {
            BOOT => "boot",
            TRAP => "trap",
            SYSCALL => "syscall",
            TICK => "tick",
            SWITCH => "switch",
            PROC_CREATE => "proc_create",
            PROC_FIRST_RUN => "proc_first_run",
            PROC_EXIT => "proc_exit",
            PROC_KILL => "proc_kill",
            SLEEP => "sleep",
            WAKE => "wake",
            IDLE => "idle",
            PROC_STATS => "proc_stats",
            DECISION => "decision",
            LEVEL => "level",
            BOOST => "boost",
            _ => return None,
        })
    }
}

/// The last `PROC_STATS` argument: bit 32 set = killed, low 32 bits = the
/// exit code (signed) or the kill reason.
pub fn stats_end(killed: bool, code: i32) -> u64 {
    ((killed as u64) << 32) | code as u32 as u64
}

/// Split a `stats_end` word into (killed, code).
pub fn split_stats_end(word: u64) -> (bool, i32) {
    (word >> 32 & 1 != 0, word as u32 as i32)
}

/// Why the scheduler chose a process (`DECISION` args[1]).
pub mod why {
    /// First in line (the process before it left the CPU).
    pub const NEXT: u64 = 0;
    /// The process before it used up its time slice.
    pub const SLICE_USED: u64 = 1;
    /// The process before it was demoted from level `from` to `to`.
    pub const DEMOTED: u64 = 2;
    /// A priority boost moved every job to the top.
    pub const BOOST: u64 = 3;
    /// MLFQ: it is ahead of the process on the CPU (a higher level, or the
    /// front of the same one).
    pub const AHEAD: u64 = 4;
    /// SJF/STCF: the least time left.
    pub const SHORTEST: u64 = 5;
    /// STCF: it has less left than the process on the CPU, preempted.
    pub const PREEMPTS: u64 = 6;
    /// Lottery: it holds the winning ticket.
    pub const LOTTERY: u64 = 7;
    /// Stride: the lowest pass.
    pub const STRIDE: u64 = 8;
}

/// Why a tick was not charged to any process (`TICK` args[2]).
pub mod uncharged {
    /// Charged (not a reason).
    pub const NONE: u64 = 0;
    /// Nothing was running: the CPU idled.
    pub const IDLE: u64 = 1;
    /// The process on the CPU had been switched in during the tick and
    /// ran less than half of it before the tick was due: the tick belongs
    /// to the switch.
    pub const SWITCH: u64 = 2;

    pub fn name(r: u64) -> &'static str {
        match r {
            NONE => "none",
            IDLE => "idle",
            SWITCH => "switch",
            _ => "?",
        }
    }
}

/// Why the kernel switched away from a process (`SWITCH` args[1]).
pub mod switch_reason {
    pub const YIELD: u64 = 0;
    pub const PREEMPT: u64 = 1;
    pub const SLEEP: u64 = 2;
    pub const EXIT: u64 = 3;
    pub const KILL: u64 = 4;
    /// From idle (pid 0) to a process that became runnable.
    pub const WAKE: u64 = 5;
    /// The first dispatch at boot.
    pub const START: u64 = 6;

    pub fn name(r: u64) -> &'static str {
        match r {
            YIELD => "yield",
            PREEMPT => "preempt",
            SLEEP => "sleep",
            EXIT => "exit",
            KILL => "kill",
            WAKE => "wake",
            START => "start",
            _ => "?",
        }
    }
}

/// Why the kernel killed a process (`PROC_KILL` args[0]).
pub mod kill_reason {
    /// A fault (the vector says which) or a restricted operation.
    pub const FAULT: u64 = 0;
    /// Used more CPU than `--cpu-limit`.
    pub const CPU_LIMIT: u64 = 1;
    /// Still running when every other process had ended (`rr` hog rule).
    pub const LAST_HOG: u64 = 2;

    pub fn name(r: u64) -> &'static str {
        match r {
            FAULT => "fault",
            CPU_LIMIT => "cpu-limit",
            LAST_HOG => "last-hog",
            _ => "?",
        }
    }
}

/// Names of the x86 exception vectors, for kill reasons and summaries.
pub fn vector_name(vector: u64) -> &'static str {
    match vector {
        0 => "#DE divide error",
        1 => "#DB debug",
        2 => "NMI",
        3 => "#BP breakpoint",
        4 => "#OF overflow",
        5 => "#BR bound range",
        6 => "#UD invalid opcode",
        7 => "#NM device not available",
        8 => "#DF double fault",
        9 => "coprocessor segment overrun",
        10 => "#TS invalid TSS",
        11 => "#NP segment not present",
        12 => "#SS stack fault",
        13 => "#GP general protection",
        14 => "#PF page fault",
        16 => "#MF x87 floating point",
        17 => "#AC alignment check",
        18 => "#MC machine check",
        19 => "#XM SIMD floating point",
        20 => "#VE virtualization",
        21 => "#CP control protection",
        0x80 => "syscall",
        0x20 => "timer",
        0xff => "spurious",
        _ => "reserved",
    }
}
