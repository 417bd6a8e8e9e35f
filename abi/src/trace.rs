//! The guest event ring: how the kernel reports traps, system calls, ticks,
//! context switches and process lifecycle without an exit per event.
//!
//! The ring sits in guest RAM at `BootInfo::trace_ring_addr`: a
//! [`RingHeader`] followed by `capacity` fixed-size [`Event`] slots
//! (`capacity` = [`ring_capacity`] of the ring's size, a power of two). The
//! kernel is the only writer of `head` and `dropped`; the VMM is the only
//! writer of `tail`. Slot `i & (capacity - 1)` holds event number `i`.
//!
//! Each slot publishes itself: its [`Event::mark`] word (flags, kind,
//! detail; never 0, as no kind is 0) is the last thing the kernel stores,
//! and x86 keeps stores in order, so a slot whose mark is not 0 is whole.
//! The VMM reads slots from `tail` on until one has mark 0, clears the mark
//! of each slot it consumes and then advances `tail`. The kernel writes a
//! slot only when `tail` says the VMM has consumed it (event number minus
//! `tail` below `capacity`); when the ring is full it counts the event in
//! `dropped` instead of overwriting. No shared `head`: publishing an event
//! is its own stores. The kernel writes only the words an
//! event's kind uses (see [`Encoded`]): the rest of a slot is left over from
//! an older event, and the VMM does not read it. The VMM drains at exits it takes
//! anyway, when the kernel rings [`crate::ports::TRACE_DOORBELL`] (half
//! full), and at the end.

pub const RING_MAGIC: u64 = u64::from_le_bytes(*b"LDERING1");
pub const RING_VERSION: u32 = 4;
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
    /// Events consumed by the VMM so far (slot `tail & (capacity - 1)` is
    /// the next it reads).
    pub tail: u64,
    /// Events the kernel dropped because the ring was full.
    pub dropped: u64,
    pub _reserved: [u64; 3],
}

/// One guest event as it sits in a ring slot. `kind` says what the
/// arguments mean (see [`kind`]); [`KernelEvent`] writes and reads them.
/// `flags`, `kind` and `detail` are one 32-bit word, the slot's mark (see
/// the module doc): the kernel stores it last, in one store.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// Guest TSC when the event happened.
    pub tsc: u64,
    /// A small value of the kind's own (a system call's path, a trap's
    /// from-user bit, a tick's charged bit and reason); 0 for kinds that
    /// have none. First in the mark, so that a kernel that knows the rest
    /// of the mark adds a flag with one `or`.
    pub flags: u8,
    /// Never 0 in a written slot ([`kind`]): 0 = empty.
    pub kind: u8,
    /// A 16-bit value of the kind's own (a system call's number, a trap's
    /// vector); 0 for kinds that have none.
    pub detail: u16,
    /// The process the event concerns (0 = the kernel / idle).
    pub pid: u32,
    pub args: [u64; 6],
}

impl Event {
    /// The slot's mark as one word: `flags`, `kind`, `detail`.
    pub const fn mark(flags: u8, kind: u8, detail: u16) -> u32 {
        flags as u32 | (kind as u32) << 8 | (detail as u32) << 16
    }
}

/// Where the mark word sits in a slot.
pub const MARK_OFFSET: u64 = core::mem::offset_of!(Event, flags) as u64;

const _: () = assert!(
    core::mem::offset_of!(Event, kind) == MARK_OFFSET as usize + 1
        && core::mem::offset_of!(Event, detail) == MARK_OFFSET as usize + 2
        && MARK_OFFSET.is_multiple_of(4)
);

/// Event kinds and the meaning of their arguments.
pub mod kind {
    /// Kernel booted: [tsc_khz, quantum_us, sched policy, timer on (0/1)].
    pub const BOOT: u8 = 1;
    /// Trap entry, `detail` = vector, `flags` = from user (0/1): [rip,
    /// error code, cr2]; the error code only for a vector that has one
    /// (`cpu::vector::has_error_code`), CR2 only for #PF (14): the others
    /// are not written (read as 0).
    pub const TRAP: u8 = 2;
    /// System call served, `detail` = its number (0xffff: the number is in
    /// args[5]), `flags` = the path it arrived by: [result, CS, then the
    /// arguments the call takes (`syscall::arity`)] (CS as the trap frame
    /// holds it: RPL 3 shows the call came from user mode). Arguments a
    /// call does not take are not written (read as 0).
    pub const SYSCALL: u8 = 3;
    /// Timer tick, `pid` = the process on the CPU: [tick number], `flags`
    /// = charged (bit 0: 1 = the tick counts as its CPU time, 0 =
    /// unaccounted) | the [`super::uncharged`] reason when unaccounted << 1
    /// (in `flags`, so the most frequent event writes one argument).
    pub const TICK: u8 = 4;
    /// Context switch, `pid` = from: [to pid, reason].
    pub const SWITCH: u8 = 5;
    /// Process arrived (entered the system): [module index, arrival tick,
    /// CPU length in ticks (0 = unknown), tickets].
    pub const PROC_CREATE: u8 = 6;
    /// Process ran for the first time: [tick].
    pub const PROC_FIRST_RUN: u8 = 7;
    /// Process exited: [code, tick].
    pub const PROC_EXIT: u8 = 8;
    /// Process killed: [kill reason, vector, rip, error code, fault address, tick].
    pub const PROC_KILL: u8 = 9;
    /// Process went to sleep: [wake-up tick].
    pub const SLEEP: u8 = 10;
    /// Process woke up: [tick].
    pub const WAKE: u8 = 11;
    /// CPU idle (nothing runnable): [1 = idle starts, 0 = ends].
    pub const IDLE: u8 = 12;
    /// Final figures of a process: [cpu ticks, arrival tick, first-run
    /// tick, end tick, ticks waiting while runnable, `stats_end` word].
    pub const PROC_STATS: u8 = 13;
    /// A scheduling decision, `pid` = the process chosen: [tick,
    /// [`super::Why`] code, detail, detail] (details by reason: demoted
    /// from, to; ahead: level; shortest/preempts: ticks left; lottery:
    /// winning ticket, total tickets; stride: pass).
    pub const DECISION: u8 = 14;
    /// MLFQ: the process changed level (0 = top): [tick, from, to].
    pub const LEVEL: u8 = 15;
    /// MLFQ: every job moved to the top level: [tick].
    pub const BOOST: u8 = 16;
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

/// The codes of [`Why`] in a `DECISION` event (args[1]).
pub mod why {
    pub const NEXT: u64 = 0;
    pub const SLICE_USED: u64 = 1;
    pub const DEMOTED: u64 = 2;
    pub const BOOST: u64 = 3;
    pub const AHEAD: u64 = 4;
    pub const SHORTEST: u64 = 5;
    pub const PREEMPTS: u64 = 6;
    pub const LOTTERY: u64 = 7;
    pub const STRIDE: u64 = 8;
}

/// Why the scheduler chose a process: a policy's answer (the kernel's
/// `sched` module) and the reason a `DECISION` event carries to the trace.
/// With the `serde` feature (the VMM's) it is the JSONL `why` field and
/// its details. Every detail is a `u64`, an event word as it is: the
/// kernel's encoding then loads each from where the policy left it
/// (measured: `u8` levels cost the switching tick 12 more instructions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "why", rename_all = "snake_case"))]
pub enum Why {
    /// First in line (the process before it left the CPU).
    Next,
    /// The process before it used up its time slice.
    SliceUsed,
    /// The process before it used up its allotment at level `from` and was
    /// demoted to `to` (0 is the top).
    Demoted {
        #[cfg_attr(feature = "serde", serde(rename = "from_level"))]
        from: u64,
        #[cfg_attr(feature = "serde", serde(rename = "to_level"))]
        to: u64,
    },
    /// A priority boost moved every job to the top level.
    Boost,
    /// MLFQ: it is ahead of the process on the CPU, which it preempts: at a
    /// higher level, or put at the front of the same level (`-I`).
    Ahead { level: u64 },
    /// SJF/STCF: its remaining length is the shortest of the runnable ones.
    Shortest { remaining: u64 },
    /// STCF: it has arrived (or woken) with less left to run than the
    /// process on the CPU, which it preempts.
    Preempts { remaining: u64 },
    /// Lottery: it holds ticket `winner` of `total`.
    Lottery { winner: u64, total: u64 },
    /// Stride: its pass was the smallest.
    Stride { pass: u64 },
}

impl Why {
    /// The event's three words: [code, detail, detail]. Inlined: a policy's
    /// constant reason becomes constant stores into the slot.
    #[inline(always)]
    pub fn encode(self) -> [u64; 3] {
        use Why::*;
        match self {
            Next => [why::NEXT, 0, 0],
            SliceUsed => [why::SLICE_USED, 0, 0],
            Demoted { from, to } => [why::DEMOTED, from, to],
            Boost => [why::BOOST, 0, 0],
            Ahead { level } => [why::AHEAD, level, 0],
            Shortest { remaining } => [why::SHORTEST, remaining, 0],
            Preempts { remaining } => [why::PREEMPTS, remaining, 0],
            Lottery { winner, total } => [why::LOTTERY, winner, total],
            Stride { pass } => [why::STRIDE, pass, 0],
        }
    }

    /// The reason in an event's three words; `None` for an unknown code
    /// (the guest is untrusted).
    pub fn decode([code, a, b]: [u64; 3]) -> Option<Why> {
        use Why::*;
        Some(match code {
            why::NEXT => Next,
            why::SLICE_USED => SliceUsed,
            why::DEMOTED => Demoted { from: a, to: b },
            why::BOOST => Boost,
            why::AHEAD => Ahead { level: a },
            why::SHORTEST => Shortest { remaining: a },
            why::PREEMPTS => Preempts { remaining: a },
            why::LOTTERY => Lottery {
                winner: a,
                total: b,
            },
            why::STRIDE => Stride { pass: a },
            _ => return None,
        })
    }
}

/// Why a tick was not charged to any process (`TICK` `flags` >> 1).
pub mod uncharged {
    /// Charged (not a reason).
    pub const NONE: u64 = 0;
    /// Nothing was running: the CPU idled.
    pub const IDLE: u64 = 1;
    /// The process on the CPU had been switched in during the tick and
    /// ran less than half of it before the tick was due: the tick belongs
    /// to the switch.
    pub const SWITCH: u64 = 2;
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
}

/// Why the kernel killed a process (`PROC_KILL` args[0]).
pub mod kill_reason {
    /// A fault (the vector says which) or a restricted operation.
    pub const FAULT: u64 = 0;
    /// Used more CPU than `--cpu-limit`.
    pub const CPU_LIMIT: u64 = 1;
    /// Still running when every other process had ended (`rr` hog rule).
    pub const LAST_HOG: u64 = 2;
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
        v if v == crate::cpu::vector::SYSCALL as u64 => "syscall",
        v if v == crate::cpu::vector::TIMER as u64 => "timer",
        v if v == crate::cpu::vector::SPURIOUS as u64 => "spurious",
        _ => "reserved",
    }
}

/// A guest event, typed: the one definition of what each kind carries.
/// The kernel builds one and [`encode`](KernelEvent::encode)s it into a
/// ring slot; the VMM [`decode`](KernelEvent::decode)s the slot back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelEvent {
    /// The kernel booted: `sched` is a `boot::SCHED_*`.
    Boot {
        tsc_khz: u64,
        quantum_us: u64,
        sched: u32,
        timer: bool,
    },
    /// A trap that is not a system call (a breakpoint, a fault). `error`
    /// is recorded only for a vector that has one, `cr2` only for #PF
    /// (else they read as 0).
    Trap {
        vector: u64,
        rip: u64,
        error: u64,
        from_user: bool,
        cr2: u64,
    },
    /// A system call was served; it arrived by `path` (`syscall::path`)
    /// from code segment `cs` (RPL 3: from user mode). Only the first
    /// `syscall::arity(nr)` of `args` are recorded (the rest read as 0).
    Syscall {
        nr: u64,
        args: [u64; 3],
        result: u64,
        path: u64,
        cs: u64,
    },
    /// Timer tick number `tick`, with the event's pid the process on the
    /// CPU: `charged` when the tick counts as its CPU time; otherwise
    /// `uncharged` says why ([`uncharged`]).
    Tick {
        tick: u64,
        charged: bool,
        uncharged: u64,
    },
    /// Context switch from the event's pid to `to`, for `reason`
    /// ([`switch_reason`]).
    Switch { to: u32, reason: u64 },
    /// A process from boot module `module` arrived (entered the system),
    /// with the CPU length the kernel knows (0 = unknown) and its tickets.
    ProcCreate {
        module: u64,
        arrival: u64,
        length: u64,
        tickets: u64,
    },
    /// A process ran for the first time.
    ProcFirstRun { tick: u64 },
    /// A process exited.
    ProcExit { code: i32, tick: u64 },
    /// A process was killed for `reason` ([`kill_reason`]); a fault's
    /// vector, RIP, error code and address.
    ProcKill {
        reason: u64,
        vector: u64,
        rip: u64,
        error: u64,
        addr: u64,
        tick: u64,
    },
    /// A process went to sleep until tick `wake`.
    Sleep { wake: u64 },
    /// A process woke up.
    Wake { tick: u64 },
    /// The CPU starts (`true`) or stops idling.
    Idle { starts: bool },
    /// The final figures of a process: `code` is its exit code, or its
    /// kill reason when `killed`.
    ProcStats {
        cpu_ticks: u64,
        arrival: u64,
        first_run: u64,
        end: u64,
        wait_ticks: u64,
        killed: bool,
        code: i32,
    },
    /// A scheduling decision at `tick`: the policy chose the event's pid
    /// for reason `why`.
    Decision { tick: u64, why: Why },
    /// MLFQ: the event's pid moved from level `from` to `to` (0 = top).
    Level { tick: u64, from: u64, to: u64 },
    /// MLFQ: every job went back to the top level.
    Boost { tick: u64 },
}

/// An event as the kernel writes it into a slot: its mark (`flags`, `kind`,
/// `detail`) and the first `len` of `args`, the ones this event uses. The
/// others are not written (every word the kernel stores is an emulated
/// instruction on PVM hosts); the VMM reads only the ones the event uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoded {
    pub flags: u8,
    pub kind: u8,
    pub detail: u16,
    pub args: [u64; 6],
    pub len: usize,
}

/// `SYSCALL` `detail` when the number does not fit: it is in args[5].
pub const NR_IN_ARGS: u16 = 0xffff;

impl Encoded {
    /// The slot's mark word ([`Event::mark`]).
    #[inline(always)]
    pub const fn mark(&self) -> u32 {
        Event::mark(self.flags, self.kind, self.detail)
    }

    #[inline(always)]
    const fn new<const N: usize>(kind: u8, used: [u64; N]) -> Encoded {
        let mut args = [0; 6];
        let mut i = 0;
        while i < N {
            args[i] = used[i];
            i += 1;
        }
        Encoded {
            flags: 0,
            kind,
            detail: 0,
            args,
            len: N,
        }
    }
}

impl KernelEvent {
    /// The slot's kind, detail and arguments. Inlined so that the kernel's
    /// call sites store constants straight into the slot (every kernel
    /// instruction is emulated on PVM hosts).
    #[inline(always)]
    pub fn encode(self) -> Encoded {
        use KernelEvent::*;
        match self {
            Boot {
                tsc_khz,
                quantum_us,
                sched,
                timer,
            } => Encoded::new(
                kind::BOOT,
                [tsc_khz, quantum_us, sched as u64, timer as u64],
            ),
            Trap {
                vector,
                rip,
                error,
                from_user,
                cr2,
            } => Encoded {
                flags: from_user as u8,
                detail: vector as u16,
                len: if vector == crate::cpu::vector::PAGE_FAULT as u64 {
                    3
                } else if crate::cpu::vector::has_error_code(vector) {
                    2
                } else {
                    1
                },
                ..Encoded::new(kind::TRAP, [rip, error, cr2])
            },
            Syscall {
                nr,
                args,
                result,
                path,
                cs,
            } => {
                // A constant `nr` (getpid's fast path) folds all of this.
                let fits = nr < NR_IN_ARGS as u64;
                Encoded {
                    flags: path as u8,
                    detail: if fits { nr as u16 } else { NR_IN_ARGS },
                    len: if fits {
                        2 + crate::syscall::arity(nr)
                    } else {
                        6
                    },
                    ..Encoded::new(kind::SYSCALL, [result, cs, args[0], args[1], args[2], nr])
                }
            }
            Tick {
                tick,
                charged,
                uncharged,
            } => Encoded {
                flags: (charged as u8) | (uncharged as u8) << 1,
                ..Encoded::new(kind::TICK, [tick])
            },
            Switch { to, reason } => Encoded::new(kind::SWITCH, [to as u64, reason]),
            ProcCreate {
                module,
                arrival,
                length,
                tickets,
            } => Encoded::new(kind::PROC_CREATE, [module, arrival, length, tickets]),
            Decision { tick, why } => {
                let [code, a, b] = why.encode();
                Encoded::new(kind::DECISION, [tick, code, a, b])
            }
            Level { tick, from, to } => Encoded::new(kind::LEVEL, [tick, from, to]),
            Boost { tick } => Encoded::new(kind::BOOST, [tick]),
            ProcFirstRun { tick } => Encoded::new(kind::PROC_FIRST_RUN, [tick]),
            ProcExit { code, tick } => Encoded::new(kind::PROC_EXIT, [code as i64 as u64, tick]),
            ProcKill {
                reason,
                vector,
                rip,
                error,
                addr,
                tick,
            } => Encoded::new(kind::PROC_KILL, [reason, vector, rip, error, addr, tick]),
            Sleep { wake } => Encoded::new(kind::SLEEP, [wake]),
            Wake { tick } => Encoded::new(kind::WAKE, [tick]),
            Idle { starts } => Encoded::new(kind::IDLE, [starts as u64]),
            ProcStats {
                cpu_ticks,
                arrival,
                first_run,
                end,
                wait_ticks,
                killed,
                code,
            } => Encoded::new(
                kind::PROC_STATS,
                [
                    cpu_ticks,
                    arrival,
                    first_run,
                    end,
                    wait_ticks,
                    stats_end(killed, code),
                ],
            ),
        }
    }

    /// The event in a slot; `None` for an unknown kind or a value outside
    /// a closed set (a policy or a switch reason the contract does not
    /// know): the guest is untrusted.
    pub fn decode(ev: &Event) -> Option<KernelEvent> {
        use KernelEvent::*;
        let a = ev.args;
        Some(match ev.kind {
            kind::BOOT => Boot {
                tsc_khz: a[0],
                quantum_us: a[1],
                sched: crate::boot::sched_name(a[2] as u32).and(u32::try_from(a[2]).ok())?,
                timer: a[3] != 0,
            },
            kind::TRAP if ev.flags <= 1 => {
                let vector = ev.detail as u64;
                let error = crate::cpu::vector::has_error_code(vector);
                let pf = vector == crate::cpu::vector::PAGE_FAULT as u64;
                Trap {
                    vector,
                    rip: a[0],
                    error: if error { a[1] } else { 0 },
                    from_user: ev.flags != 0,
                    cr2: if pf { a[2] } else { 0 },
                }
            }
            kind::SYSCALL => {
                let nr = match ev.detail {
                    NR_IN_ARGS => a[5],
                    nr => nr as u64,
                };
                let n = crate::syscall::arity(nr);
                let arg = |i: usize| if i < n { a[2 + i] } else { 0 };
                Syscall {
                    nr,
                    args: [arg(0), arg(1), arg(2)],
                    result: a[0],
                    path: ev.flags as u64,
                    cs: a[1],
                }
            }
            kind::TICK if (ev.flags >> 1) as u64 <= uncharged::SWITCH => Tick {
                tick: a[0],
                charged: ev.flags & 1 != 0,
                uncharged: (ev.flags >> 1) as u64,
            },
            kind::SWITCH if a[1] <= switch_reason::START => Switch {
                to: a[0] as u32,
                reason: a[1],
            },
            kind::PROC_CREATE => ProcCreate {
                module: a[0],
                arrival: a[1],
                length: a[2],
                tickets: a[3],
            },
            kind::DECISION => Decision {
                tick: a[0],
                why: Why::decode([a[1], a[2], a[3]])?,
            },
            kind::LEVEL => Level {
                tick: a[0],
                from: a[1],
                to: a[2],
            },
            kind::BOOST => Boost { tick: a[0] },
            kind::PROC_FIRST_RUN => ProcFirstRun { tick: a[0] },
            kind::PROC_EXIT => ProcExit {
                code: a[0] as i64 as i32,
                tick: a[1],
            },
            kind::PROC_KILL => ProcKill {
                reason: a[0],
                vector: a[1],
                rip: a[2],
                error: a[3],
                addr: a[4],
                tick: a[5],
            },
            kind::SLEEP => Sleep { wake: a[0] },
            kind::WAKE => Wake { tick: a[0] },
            kind::IDLE => Idle { starts: a[0] != 0 },
            kind::PROC_STATS => {
                let (killed, code) = split_stats_end(a[5]);
                ProcStats {
                    cpu_ticks: a[0],
                    arrival: a[1],
                    first_run: a[2],
                    end: a[3],
                    wait_ticks: a[4],
                    killed,
                    code,
                }
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(ev: KernelEvent) {
        let e = ev.encode();
        // The words the kind does not use hold whatever an older event left.
        let mut args = [0xdead_beef_dead_beef; 6];
        args[..e.len].copy_from_slice(&e.args[..e.len]);
        let slot = Event {
            tsc: 7,
            flags: e.flags,
            kind: e.kind,
            detail: e.detail,
            pid: 3,
            args,
        };
        assert_ne!(e.mark(), 0, "a written slot's mark is never 0");
        assert_eq!(KernelEvent::decode(&slot), Some(ev), "{ev:?}");
    }

    #[test]
    fn boot_round_trips() {
        for sched in crate::boot::SCHED_RR..=crate::boot::SCHED_STRIDE {
            round_trip(KernelEvent::Boot {
                tsc_khz: 2_445_404,
                quantum_us: 10_000,
                sched,
                timer: sched != crate::boot::SCHED_COOP,
            });
        }
    }

    #[test]
    fn trap_round_trips() {
        round_trip(KernelEvent::Trap {
            vector: 14,
            rip: 0x40_1000,
            error: 6,
            from_user: true,
            cr2: 0xdead_b000,
        });
        round_trip(KernelEvent::Trap {
            vector: 13,
            rip: 0xffff_ffff_8010_0000,
            error: 0x10,
            from_user: false,
            cr2: 0,
        });
    }

    #[test]
    fn a_trap_writes_its_error_code_and_cr2_only_where_they_mean_something() {
        let trap = |vector| KernelEvent::Trap {
            vector,
            rip: 0x40_1000,
            error: 0,
            from_user: true,
            cr2: 0,
        };
        assert_eq!(trap(3).encode().len, 1, "int3: the RIP only");
        assert_eq!(trap(13).encode().len, 2, "#GP: and its error code");
        assert_eq!(trap(14).encode().len, 3, "#PF: and CR2");
        for v in [0, 1, 3, 6, 8, 13, 14, 17, 19, 0x20, 0x80] {
            round_trip(trap(v));
        }
    }

    #[test]
    fn syscall_round_trips() {
        round_trip(KernelEvent::Syscall {
            nr: crate::syscall::WRITE,
            args: [1, 0x40_2000, u64::MAX],
            result: -14i64 as u64,
            path: crate::syscall::path::UD,
            cs: 0x33,
        });
    }

    #[test]
    fn a_syscall_records_the_arguments_it_takes() {
        use crate::syscall::{self as nr, path};
        let call = |nr, args| KernelEvent::Syscall {
            nr,
            args,
            result: 7,
            path: path::GATE,
            cs: 0x33,
        };
        // getpid takes none: the number, path and CS are in the mark and
        // two words, the result in one.
        assert_eq!(call(nr::GETPID, [0; 3]).encode().len, 2);
        assert_eq!(call(nr::EXIT, [3, 0, 0]).encode().len, 3);
        assert_eq!(call(nr::WRITE, [1, 2, 3]).encode().len, 5);
        round_trip(call(nr::GETPID, [0; 3]));
        round_trip(call(nr::EXIT, [u64::MAX, 0, 0]));
        round_trip(call(nr::SLEEP_NS, [5, 0, 0]));
        // What the caller left in registers a call does not take is not
        // an argument: not recorded, read as 0.
        let e = call(nr::GETPID, [1, 2, 3]).encode();
        let slot = Event {
            flags: e.flags,
            kind: e.kind,
            detail: e.detail,
            args: [7, 0x33, 9, 9, 9, 9],
            ..Default::default()
        };
        assert_eq!(KernelEvent::decode(&slot), Some(call(nr::GETPID, [0; 3])));
        // Unknown numbers keep all three, also those too big for `detail`.
        for n in [4242, 0xfffe, 0xffff, u64::MAX] {
            round_trip(call(n, [1, 2, 3]));
        }
        assert_eq!(call(u64::MAX, [1, 2, 3]).encode().len, 6);
    }

    #[test]
    fn tick_round_trips() {
        round_trip(KernelEvent::Tick {
            tick: u64::MAX,
            charged: true,
            uncharged: uncharged::NONE,
        });
        round_trip(KernelEvent::Tick {
            tick: 3,
            charged: false,
            uncharged: uncharged::SWITCH,
        });
    }

    #[test]
    fn switch_round_trips_for_every_reason() {
        for reason in 0..=switch_reason::START {
            round_trip(KernelEvent::Switch { to: 16, reason });
        }
    }

    #[test]
    fn proc_create_round_trips() {
        round_trip(KernelEvent::ProcCreate {
            module: 15,
            arrival: 7,
            length: 100,
            tickets: 75,
        });
    }

    #[test]
    fn scheduling_decisions_round_trip_for_every_reason() {
        let every = [
            Why::Next,
            Why::SliceUsed,
            Why::Demoted { from: 1, to: 2 },
            Why::Boost,
            Why::Ahead { level: 3 },
            Why::Shortest { remaining: 37 },
            Why::Preempts { remaining: 5 },
            Why::Lottery {
                winner: 37,
                total: 200,
            },
            Why::Stride { pass: 1 << 40 },
        ];
        for (code, why) in every.into_iter().enumerate() {
            assert_eq!(why.encode()[0], code as u64, "{why:?}: codes in order");
            round_trip(KernelEvent::Decision { tick: 9, why });
        }
        round_trip(KernelEvent::Level {
            tick: 10,
            from: 0,
            to: 1,
        });
        round_trip(KernelEvent::Boost { tick: 50 });
    }

    #[test]
    fn proc_first_run_round_trips() {
        round_trip(KernelEvent::ProcFirstRun { tick: 3 });
    }

    #[test]
    fn proc_exit_round_trips_negative_codes() {
        round_trip(KernelEvent::ProcExit { code: -1, tick: 9 });
        round_trip(KernelEvent::ProcExit {
            code: i32::MAX,
            tick: 0,
        });
    }

    #[test]
    fn proc_kill_round_trips() {
        round_trip(KernelEvent::ProcKill {
            reason: kill_reason::FAULT,
            vector: 13,
            rip: 0x40_006e,
            error: 0,
            addr: 0,
            tick: 3,
        });
    }

    #[test]
    fn sleep_wake_idle_round_trip() {
        round_trip(KernelEvent::Sleep { wake: 12 });
        round_trip(KernelEvent::Wake { tick: 12 });
        round_trip(KernelEvent::Idle { starts: true });
        round_trip(KernelEvent::Idle { starts: false });
    }

    #[test]
    fn proc_stats_round_trips() {
        round_trip(KernelEvent::ProcStats {
            cpu_ticks: 50,
            arrival: 0,
            first_run: 2,
            end: 59,
            wait_ticks: 8,
            killed: true,
            code: kill_reason::LAST_HOG as i32,
        });
        round_trip(KernelEvent::ProcStats {
            cpu_ticks: 4,
            arrival: 0,
            first_run: 0,
            end: 13,
            wait_ticks: 8,
            killed: false,
            code: -3,
        });
    }

    #[test]
    fn garbage_does_not_decode() {
        let slot = |kind, args| Event {
            kind,
            pid: 1,
            args,
            ..Default::default()
        };
        assert_eq!(KernelEvent::decode(&slot(0, [0; 6])), None);
        assert_eq!(KernelEvent::decode(&slot(199, [0; 6])), None);
        assert_eq!(
            KernelEvent::decode(&slot(kind::BOOT, [1, 1, 99, 1, 0, 0])),
            None
        );
        assert_eq!(
            KernelEvent::decode(&slot(kind::BOOT, [1, 1, 1 << 32, 1, 0, 0])),
            None
        );
        assert_eq!(
            KernelEvent::decode(&slot(
                kind::SWITCH,
                [1, switch_reason::START + 1, 0, 0, 0, 0]
            )),
            None
        );
        assert_eq!(
            KernelEvent::decode(&slot(kind::DECISION, [1, why::STRIDE + 1, 0, 0, 0, 0])),
            None
        );
        let tick = Event {
            flags: ((uncharged::SWITCH + 1) << 1) as u8,
            ..slot(kind::TICK, [1, 0, 0, 0, 0, 0])
        };
        assert_eq!(KernelEvent::decode(&tick), None);
        let trap = Event {
            flags: 2,
            ..slot(kind::TRAP, [0; 6])
        };
        assert_eq!(KernelEvent::decode(&trap), None);
    }
}
