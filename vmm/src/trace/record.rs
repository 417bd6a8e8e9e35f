//! The trace schema (version [`super::SCHEMA_VERSION`]): one JSON object per
//! line, its `type` saying which record it is. The README documents it.
//!
//! A file is: one `header`, then `exit`, `event` and `registers` records in
//! time order, then one `process` record per process, then one `footer`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The header's and the boot event's `sched`: the same type as `--sched`.
pub use crate::policy::Policy;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Header(Header),
    Exit(ExitRecord),
    Event(EventRecord),
    Registers(RegisterDump),
    Process(ProcessRecord),
    Debugger(DebuggerRecord),
    Footer(Footer),
}

/// The debugger (`lde run --gdb`) attached, stopped the guest, resumed it,
/// or detached. Time stopped is part of the wall time but not of the
/// watchdog's.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DebuggerRecord {
    pub t_ns: u64,
    /// `attach`, `stop`, `resume`, `detach`.
    pub event: String,
    /// Why it stopped: `breakpoint`, `hw_breakpoint`, `step`, `interrupt`
    /// (Ctrl-C in gdb), `trap` (a user int3 or #DB not set by gdb).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where the stopped context is (the user context for a stop the kernel
    /// forwarded), and its privilege level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rip: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpl: Option<u8>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Header {
    pub schema: u32,
    pub lde_version: String,
    pub host_kernel: String,
    /// `pvm`, `vmx`, `svm` or `unknown`.
    pub kvm: crate::host::Kvm,
    pub cpu_model: String,
    /// TSC frequency of the vCPU as KVM reports it (guest events are placed
    /// on the host timeline with it).
    pub tsc_khz: u64,
    pub mem_bytes: u64,
    /// `embedded` or the path given with --kernel.
    pub kernel: String,
    pub kernel_cmdline: String,
    pub programs: Vec<ProgramInfo>,
    pub sched: Policy,
    pub quantum_us: u64,
    pub cpu_limit_us: Option<u64>,
    pub timeout_ms: u64,
    /// `lde`'s own command line.
    pub argv: Vec<String>,
    /// Wall-clock start, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct ProgramInfo {
    /// The pid the kernel gives it (1 for the first --program, ...).
    pub pid: u32,
    pub name: String,
    pub args: Vec<String>,
    /// Its job: arrival tick, CPU length in ticks (0 = unknown), tickets
    /// (0 = the default). Absent in traces of older lde versions.
    #[serde(default)]
    pub arrival_tick: u64,
    #[serde(default)]
    pub length_ticks: u64,
    #[serde(default)]
    pub tickets: u64,
}

/// One exit that reached the VMM.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ExitRecord {
    /// Nanoseconds since the vCPU first entered the guest.
    pub t_ns: u64,
    pub vcpu: u32,
    /// Time the VMM spent handling it.
    pub handle_ns: u64,
    #[serde(flatten)]
    pub exit: ExitKind,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ExitKind {
    /// `size` bytes per item, `count` items (more than 1 for a string
    /// instruction such as `rep outsb`); `value`: the first bytes, little
    /// endian.
    IoOut {
        port: u16,
        size: u8,
        count: u32,
        value: u64,
    },
    IoIn {
        port: u16,
        size: u8,
        count: u32,
        value: u64,
    },
    MmioRead {
        addr: u64,
        len: u8,
        value: u64,
    },
    MmioWrite {
        addr: u64,
        len: u8,
        value: u64,
    },
    Hlt,
    /// Triple fault.
    Shutdown,
    FailEntry {
        hardware_reason: u64,
        cpu: u32,
    },
    InternalError {
        suberror: u32,
        data: Vec<u64>,
    },
    SystemEvent {
        event: u32,
        data: Vec<u64>,
    },
    /// KVM_RUN interrupted by a signal (the watchdog, Ctrl-C, gdb's kick).
    Intr,
    /// KVM_EXIT_DEBUG (single-step or breakpoint, only with `--gdb`):
    /// exception vector (1 #DB, 3 #BP), RIP, DR6.
    Debug {
        exception: u32,
        pc: u64,
        dr6: u64,
    },
    /// Any exit lde does not expect (named as kvm-ioctls names it).
    Unexpected {
        what: String,
    },
}

impl ExitKind {
    /// The reason as a short name (the `reason` field).
    pub fn reason(&self) -> &'static str {
        match self {
            ExitKind::IoOut { .. } => "io_out",
            ExitKind::IoIn { .. } => "io_in",
            ExitKind::MmioRead { .. } => "mmio_read",
            ExitKind::MmioWrite { .. } => "mmio_write",
            ExitKind::Hlt => "hlt",
            ExitKind::Shutdown => "shutdown",
            ExitKind::FailEntry { .. } => "fail_entry",
            ExitKind::InternalError { .. } => "internal_error",
            ExitKind::SystemEvent { .. } => "system_event",
            ExitKind::Intr => "intr",
            ExitKind::Debug { .. } => "debug",
            ExitKind::Unexpected { .. } => "unexpected",
        }
    }
}

/// One guest event from the kernel's ring.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// Host timeline (same clock as exits), from the guest TSC.
    pub t_ns: u64,
    pub tsc: u64,
    /// The process concerned (0 = kernel/idle).
    pub pid: u32,
    #[serde(flatten)]
    pub event: GuestEvent,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GuestEvent {
    Boot {
        tsc_khz: u64,
        quantum_us: u64,
        sched: Policy,
        timer: bool,
    },
    Trap {
        vector: u64,
        name: String,
        rip: u64,
        error: u64,
        user: bool,
        cr2: u64,
    },
    Syscall {
        nr: u64,
        name: String,
        /// The arguments the call takes (`syscall::arity`: none for
        /// `getpid`), as strace shows them; all three for a number the
        /// kernel does not know.
        args: Vec<u64>,
        result: i64,
        path: SyscallPath,
        /// The code segment in the trap frame (RPL 3: the call came from user
        /// mode).
        cs: u64,
    },
    Tick {
        tick: u64,
        /// Why the tick counts as nobody's CPU time (`idle`, `switch`);
        /// absent when it was charged to the process on the CPU.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unaccounted: Option<Unaccounted>,
    },
    Switch {
        to: u32,
        reason: SwitchReason,
    },
    ProcCreate {
        name: String,
        arrival_tick: u64,
        /// The CPU length the kernel knew (0 = unknown) and the tickets.
        #[serde(default)]
        length_ticks: u64,
        #[serde(default)]
        tickets: u64,
    },
    ProcFirstRun {
        tick: u64,
    },
    ProcExit {
        code: i64,
        tick: u64,
    },
    ProcKill {
        reason: KillReason,
        vector: u64,
        vector_name: String,
        rip: u64,
        error: u64,
        addr: u64,
        tick: u64,
    },
    Sleep {
        until_tick: u64,
    },
    Wake {
        tick: u64,
    },
    Idle {
        start: bool,
    },
    ProcStats {
        cpu_ticks: u64,
        arrival_tick: u64,
        first_run_tick: u64,
        end_tick: u64,
        wait_ticks: u64,
        killed: bool,
        code: i64,
    },
    /// A scheduling decision: at `tick` the policy chose this event's pid,
    /// for the reason `why`.
    Decision {
        tick: u64,
        #[serde(flatten)]
        why: Why,
    },
    /// MLFQ: this event's pid went from level `from` to `to` (0 = top).
    Level {
        tick: u64,
        from: u64,
        to: u64,
    },
    /// MLFQ: every job went back to the top level.
    Boost {
        tick: u64,
    },
}

/// Why a policy chose a process (`decision` records): the contract's type,
/// which the kernel's policies answer with.
pub use lde_abi::trace::Why;

/// A decision's reason in one line for people.
pub fn describe(why: &Why) -> String {
    match *why {
        Why::Next => "next in line".into(),
        Why::SliceUsed => "the one before used its slice".into(),
        Why::Demoted { from, to } => {
            format!("the one before was demoted from level {from} to {to}")
        }
        Why::Boost => "priority boost".into(),
        Why::Ahead { level } => format!("ahead at level {level}"),
        Why::Shortest { remaining } => format!("shortest job ({remaining} ticks left)"),
        Why::Preempts { remaining } => {
            format!("arrived shorter ({remaining} ticks left), preempting")
        }
        Why::Lottery { winner, total } => format!("winning ticket {winner} of {total}"),
        Why::Stride { pass } => format!("lowest pass {pass}"),
    }
}

impl GuestEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            GuestEvent::Boot { .. } => "boot",
            GuestEvent::Trap { .. } => "trap",
            GuestEvent::Syscall { .. } => "syscall",
            GuestEvent::Tick { .. } => "tick",
            GuestEvent::Switch { .. } => "switch",
            GuestEvent::ProcCreate { .. } => "proc_create",
            GuestEvent::ProcFirstRun { .. } => "proc_first_run",
            GuestEvent::ProcExit { .. } => "proc_exit",
            GuestEvent::ProcKill { .. } => "proc_kill",
            GuestEvent::Sleep { .. } => "sleep",
            GuestEvent::Wake { .. } => "wake",
            GuestEvent::Idle { .. } => "idle",
            GuestEvent::ProcStats { .. } => "proc_stats",
            GuestEvent::Decision { .. } => "decision",
            GuestEvent::Level { .. } => "level",
            GuestEvent::Boost { .. } => "boost",
        }
    }
}

impl GuestEvent {
    /// Why a `proc_kill` event killed its process, in the words of the
    /// process table.
    pub fn kill_cause(reason: KillReason, vector_name: &str) -> KillCause {
        match reason {
            KillReason::Fault => KillCause::Fault(vector_name.to_string()),
            KillReason::CpuLimit => KillCause::CpuLimit,
            KillReason::LastHog => KillCause::LastHog,
        }
    }
}

/// A closed set with `ALL` and `name()`, written as its name: serde through
/// `&'static str` and `String` (with `#[serde(into = "&'static str",
/// try_from = "String")]`), `Display`, and an error listing the names for
/// one not in the set.
macro_rules! named_set {
    ($t:ident, $what:literal) => {
        impl From<$t> for &'static str {
            fn from(v: $t) -> &'static str {
                v.name()
            }
        }

        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(name: String) -> Result<$t, String> {
                $t::ALL
                    .into_iter()
                    .find(|v| v.name() == name)
                    .ok_or_else(|| {
                        let known: Vec<&str> = $t::ALL.iter().map(|v| v.name()).collect();
                        format!("unknown {} {name:?} (known: {})", $what, known.join(", "))
                    })
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.pad(self.name())
            }
        }
    };
}
pub(crate) use named_set;

/// Names the closed sets below as their schema strings.
macro_rules! schema_names {
    ($t:ident { $($v:ident = $name:literal <- $abi:expr),* $(,)? }) => {
        impl $t {
            /// The value the kernel encodes as `raw`, if it is one.
            pub fn from_abi(raw: u64) -> Option<$t> {
                $(if raw == $abi { return Some($t::$v); })*
                None
            }

            /// The name in the trace schema.
            pub fn name(self) -> &'static str {
                match self {
                    $($t::$v => $name,)*
                }
            }
        }

        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(name: &str) -> Result<$t, String> {
                $(if name == $name { return Ok($t::$v); })*
                Err(format!("not a {}: {name:?}", stringify!($t)))
            }
        }

        // Ordered by name, so tables keyed by them keep their order.
        impl Ord for $t {
            fn cmp(&self, other: &$t) -> std::cmp::Ordering {
                self.name().cmp(other.name())
            }
        }

        impl PartialOrd for $t {
            fn partial_cmp(&self, other: &$t) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.pad(self.name())
            }
        }
    };
}

/// How a system call reached the kernel.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SyscallPath {
    /// Through IDT vector 0x80, as on VMX/SVM hosts.
    Gate,
    /// As a #UD on the `int 0x80` bytes, as on PVM hosts.
    Ud,
}

schema_names!(SyscallPath {
    Gate = "gate" <- lde_abi::syscall::path::GATE,
    Ud = "ud" <- lde_abi::syscall::path::UD,
});

/// Why the kernel switched away from a process.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SwitchReason {
    Yield,
    Preempt,
    Sleep,
    Exit,
    Kill,
    /// From idle (pid 0) to a process that became runnable.
    Wake,
    /// The first dispatch at boot.
    Start,
}

schema_names!(SwitchReason {
    Yield = "yield" <- lde_abi::trace::switch_reason::YIELD,
    Preempt = "preempt" <- lde_abi::trace::switch_reason::PREEMPT,
    Sleep = "sleep" <- lde_abi::trace::switch_reason::SLEEP,
    Exit = "exit" <- lde_abi::trace::switch_reason::EXIT,
    Kill = "kill" <- lde_abi::trace::switch_reason::KILL,
    Wake = "wake" <- lde_abi::trace::switch_reason::WAKE,
    Start = "start" <- lde_abi::trace::switch_reason::START,
});

/// Why a tick was not charged to the process on the CPU.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Unaccounted {
    /// Nothing was running: the CPU idled.
    Idle,
    /// The process had been switched in during the tick and ran less than
    /// half of it: the tick belongs to the switch.
    Switch,
}

schema_names!(Unaccounted {
    Idle = "idle" <- lde_abi::trace::uncharged::IDLE,
    Switch = "switch" <- lde_abi::trace::uncharged::SWITCH,
});

/// Why the kernel killed a process.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum KillReason {
    /// A fault (the vector says which) or a restricted operation.
    Fault,
    /// Used more CPU than `--cpu-limit`.
    CpuLimit,
    /// Still running when every other process had ended (`rr` hog rule).
    LastHog,
}

schema_names!(KillReason {
    Fault = "fault" <- lde_abi::trace::kill_reason::FAULT,
    CpuLimit = "cpu-limit" <- lde_abi::trace::kill_reason::CPU_LIMIT,
    LastHog = "last-hog" <- lde_abi::trace::kill_reason::LAST_HOG,
});

/// Why a process was killed, as the process table says it: the fault's
/// vector name (`#GP general protection`), `cpu-limit` or `last-hog`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(into = "String", from = "String")]
pub enum KillCause {
    Fault(String),
    CpuLimit,
    LastHog,
}

impl From<String> for KillCause {
    fn from(s: String) -> KillCause {
        match s.as_str() {
            "cpu-limit" => KillCause::CpuLimit,
            "last-hog" => KillCause::LastHog,
            _ => KillCause::Fault(s),
        }
    }
}

impl From<KillCause> for String {
    fn from(c: KillCause) -> String {
        c.to_string()
    }
}

impl std::fmt::Display for KillCause {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.pad(match self {
            KillCause::Fault(vector) => vector,
            KillCause::CpuLimit => KillReason::CpuLimit.name(),
            KillCause::LastHog => KillReason::LastHog.name(),
        })
    }
}

/// Registers of a guest that died (or that the watchdog stopped).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct RegisterDump {
    pub t_ns: u64,
    pub vcpu: u32,
    /// General registers by name (rax ... r15, rip, rflags).
    pub regs: BTreeMap<String, u64>,
    /// Control registers, EFER, and CS/SS selectors, by name.
    pub sregs: BTreeMap<String, u64>,
    /// The registers are the vCPU's reset state, not the guest's: KVM on
    /// AMD (SVM) INITs the vCPU before it reports a triple fault
    /// (KVM_EXIT_SHUTDOWN), so the faulting state cannot be had.
    #[serde(default)]
    pub reset: bool,
}

/// A process's figures in OSTEP's terms (ticks of one quantum each).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct ProcessRecord {
    pub pid: u32,
    pub name: String,
    pub end: ProcessEnd,
    pub cpu_ticks: u64,
    pub response_ticks: u64,
    pub turnaround_ticks: u64,
    pub wait_ticks: u64,
    pub tick_ns: u64,
    pub arrival_tick: u64,
    pub first_run_tick: u64,
    pub end_tick: u64,
    /// The CPU length the kernel knew before it ran (0 = unknown).
    #[serde(default)]
    pub length_ticks: u64,
    /// Its lottery/stride tickets, and the scheduling decisions that chose
    /// it (under lottery: the draws it won).
    #[serde(default)]
    pub tickets: u64,
    #[serde(default)]
    pub chosen: u64,
    /// MLFQ: its level over time, `[tick, level]` from its arrival (0 = top).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<[u64; 2]>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProcessEnd {
    Exited(i64),
    Killed(KillCause),
    /// Still there when the run ended (watchdog, crash, Ctrl-C).
    #[default]
    Running,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct ReasonTotals {
    pub count: u64,
    pub total_ns: u64,
}

/// How a run ended, as the footer's `end` names it (`Ending`'s kind,
/// without its details, which are in the footer's `message`).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(into = "&'static str", try_from = "String")]
pub enum RunEnd {
    Exit,
    Panic,
    TripleFault,
    InternalError,
    FailEntry,
    GuestError,
    Timeout,
    Interrupted,
    HostError,
}

impl RunEnd {
    pub const ALL: [RunEnd; 9] = [
        RunEnd::Exit,
        RunEnd::Panic,
        RunEnd::TripleFault,
        RunEnd::InternalError,
        RunEnd::FailEntry,
        RunEnd::GuestError,
        RunEnd::Timeout,
        RunEnd::Interrupted,
        RunEnd::HostError,
    ];

    /// The name in the trace schema.
    pub fn name(self) -> &'static str {
        match self {
            RunEnd::Exit => "exit",
            RunEnd::Panic => "panic",
            RunEnd::TripleFault => "triple_fault",
            RunEnd::InternalError => "internal_error",
            RunEnd::FailEntry => "fail_entry",
            RunEnd::GuestError => "guest_error",
            RunEnd::Timeout => "timeout",
            RunEnd::Interrupted => "interrupted",
            RunEnd::HostError => "host_error",
        }
    }
}

named_set!(RunEnd, "run ending");

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Footer {
    /// How the run ended.
    pub end: RunEnd,
    /// `lde`'s exit status.
    pub status: i32,
    /// A sentence about the ending.
    pub message: String,
    pub wall_ns: u64,
    /// Exits that reached the VMM, in all and by reason.
    pub exits: u64,
    pub exits_by_reason: BTreeMap<String, ReasonTotals>,
    /// KVM's own counters (binary stats), end minus start; they include the
    /// exits KVM handled in the kernel.
    pub kvm_stats: BTreeMap<String, u64>,
    /// Guest events read from the ring, dropped by the guest because the ring
    /// was full, and skipped as garbage.
    pub guest_events: u64,
    pub dropped_events: u64,
    pub bad_events: u64,
    /// Records in this file before the footer.
    pub records: u64,
    /// Exit and event records counted but not written: the file reached
    /// `--trace-max`.
    #[serde(default)]
    pub not_written: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lde_abi::trace::{kill_reason, switch_reason};

    /// Each closed set serialises to the schema's string, parses back, and
    /// maps the kernel's number to itself; other numbers are not values.
    fn round_trips<T>(cases: &[(T, &str, u64)], from_abi: fn(u64) -> Option<T>)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug + Copy,
    {
        for &(v, name, raw) in cases {
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<T>(&format!("\"{name}\"")).unwrap(),
                v
            );
            assert_eq!(from_abi(raw), Some(v));
        }
        assert_eq!(from_abi(cases.len() as u64 + 100), None);
    }

    #[test]
    fn closed_sets_keep_the_schema_strings() {
        use SwitchReason as S;
        round_trips(
            &[
                (S::Yield, "yield", switch_reason::YIELD),
                (S::Preempt, "preempt", switch_reason::PREEMPT),
                (S::Sleep, "sleep", switch_reason::SLEEP),
                (S::Exit, "exit", switch_reason::EXIT),
                (S::Kill, "kill", switch_reason::KILL),
                (S::Wake, "wake", switch_reason::WAKE),
                (S::Start, "start", switch_reason::START),
            ],
            S::from_abi,
        );
        round_trips(
            &[
                (KillReason::Fault, "fault", kill_reason::FAULT),
                (KillReason::CpuLimit, "cpu-limit", kill_reason::CPU_LIMIT),
                (KillReason::LastHog, "last-hog", kill_reason::LAST_HOG),
            ],
            KillReason::from_abi,
        );
        round_trips(
            &[
                (SyscallPath::Gate, "gate", lde_abi::syscall::path::GATE),
                (SyscallPath::Ud, "ud", lde_abi::syscall::path::UD),
            ],
            SyscallPath::from_abi,
        );
        round_trips(
            &[
                (Unaccounted::Idle, "idle", lde_abi::trace::uncharged::IDLE),
                (
                    Unaccounted::Switch,
                    "switch",
                    lde_abi::trace::uncharged::SWITCH,
                ),
            ],
            Unaccounted::from_abi,
        );
    }

    #[test]
    fn a_decision_keeps_its_schema_strings() {
        // The JSONL of every reason, as the trace format (README) states it.
        let cases = [
            (Why::Next, r#""why":"next""#),
            (Why::SliceUsed, r#""why":"slice_used""#),
            (
                Why::Demoted { from: 0, to: 1 },
                r#""why":"demoted","from_level":0,"to_level":1"#,
            ),
            (Why::Boost, r#""why":"boost""#),
            (Why::Ahead { level: 2 }, r#""why":"ahead","level":2"#),
            (
                Why::Shortest { remaining: 9 },
                r#""why":"shortest","remaining":9"#,
            ),
            (
                Why::Preempts { remaining: 3 },
                r#""why":"preempts","remaining":3"#,
            ),
            (
                Why::Lottery {
                    winner: 37,
                    total: 200,
                },
                r#""why":"lottery","winner":37,"total":200"#,
            ),
            (Why::Stride { pass: 700 }, r#""why":"stride","pass":700"#),
        ];
        for (why, json) in cases {
            let event = GuestEvent::Decision { tick: 5, why };
            let text = serde_json::to_string(&event).unwrap();
            assert_eq!(text, format!(r#"{{"kind":"decision","tick":5,{json}}}"#));
            assert_eq!(serde_json::from_str::<GuestEvent>(&text).unwrap(), event);
        }
    }

    #[test]
    fn a_run_end_keeps_its_schema_string_and_refuses_others() {
        for (end, name) in [
            (RunEnd::Exit, "exit"),
            (RunEnd::Panic, "panic"),
            (RunEnd::TripleFault, "triple_fault"),
            (RunEnd::InternalError, "internal_error"),
            (RunEnd::FailEntry, "fail_entry"),
            (RunEnd::GuestError, "guest_error"),
            (RunEnd::Timeout, "timeout"),
            (RunEnd::Interrupted, "interrupted"),
            (RunEnd::HostError, "host_error"),
        ] {
            let json = format!("\"{name}\"");
            assert_eq!(serde_json::to_string(&end).unwrap(), json);
            assert_eq!(serde_json::from_str::<RunEnd>(&json).unwrap(), end);
        }
        let err = serde_json::from_str::<RunEnd>("\"melted\"").unwrap_err();
        assert!(
            err.to_string().starts_with("unknown run ending \"melted\""),
            "{err}"
        );
    }

    #[test]
    fn a_process_end_reads_and_writes_as_before() {
        for (end, json) in [
            (ProcessEnd::Exited(3), r#"{"exited":3}"#),
            (
                ProcessEnd::Killed(KillCause::LastHog),
                r#"{"killed":"last-hog"}"#,
            ),
            (
                ProcessEnd::Killed(KillCause::CpuLimit),
                r#"{"killed":"cpu-limit"}"#,
            ),
            (
                ProcessEnd::Killed(KillCause::Fault("#GP general protection".into())),
                r##"{"killed":"#GP general protection"}"##,
            ),
            (ProcessEnd::Running, r#""running""#),
        ] {
            assert_eq!(serde_json::to_string(&end).unwrap(), json);
            assert_eq!(serde_json::from_str::<ProcessEnd>(json).unwrap(), end);
        }
    }
}
