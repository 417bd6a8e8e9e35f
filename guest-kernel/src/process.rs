//! Processes: the process table, each entry with its state, its own kernel
//! stack, its address space, and its accounting in ticks.
//!
//! A process is born with a kernel stack that looks as if it had trapped
//! into the kernel and then switched away: at the top a [`TrapFrame`] that
//! returns to the program's entry point in user mode, below it a
//! [`Context`] whose return address is `trap_return`. The first switch to it
//! therefore "returns from a trap" into user mode, like every later one.

use lde_abi::boot::{c_str, Job, Module, MAX_MODULES, MODULE_NAME_LEN};

use crate::fpu::FpuState;
use crate::gdt::{USER_CS, USER_DS};
use crate::kcell::KernelCell;
use crate::loader;
use crate::paging::AddressSpace;
use crate::switch::Context;
use crate::trap_entry::{self, TrapFrame};

pub const MAX_PROCS: usize = MAX_MODULES;
const KSTACK_SIZE: usize = 16 * 1024;
/// RFLAGS for a new process: interrupts on (bit 9), reserved bit 1.
const USER_RFLAGS: u64 = 0x202;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State {
    Unused,
    /// Loaded at boot, not in the system before its arrival tick (xv6's
    /// EMBRYO): not runnable, and no event concerns it yet.
    Embryo,
    Runnable,
    Running,
    Sleeping,
    Exited,
    Killed,
}

impl State {
    /// Alive, or due to arrive.
    pub fn is_alive(self) -> bool {
        matches!(
            self,
            State::Embryo | State::Runnable | State::Running | State::Sleeping
        )
    }
}

pub struct Process {
    pub pid: u32,
    name: [u8; MODULE_NAME_LEN],
    pub state: State,
    /// Saved kernel stack pointer while switched out (see switch.rs).
    pub context: u64,
    pub space: Option<AddressSpace>,
    /// Accounting, in ticks (time.rs).
    pub cpu_ticks: u64,
    pub arrival: u64,
    pub first_run: Option<u64>,
    pub end: u64,
    pub wait_ticks: u64,
    /// When it last became runnable (for `wait_ticks`).
    pub ready_since: u64,
    /// What the scheduler may know before it runs (arrival, length,
    /// tickets).
    pub job: Job,
    /// Its current run carries out a tick's scheduling decision, so it owns
    /// the next tick (sched.rs, "charging").
    pub owns_next_tick: bool,
    /// Ticks on the CPU since its last system call (the hog rule, sched.rs).
    pub ticks_since_trap: u64,
    pub wake_tick: u64,
    /// End with status 0 once `cpu_ticks` reaches this (0 = no budget).
    pub cpu_budget: u64,
    pub exit_code: i32,
    pub kill_reason: u64,
    /// TSC time on the CPU, and when its current run started.
    pub cpu_tsc: u64,
    pub run_start_tsc: u64,
    /// Its FPU/SSE registers while it is off the CPU (fpu.rs).
    pub fpu: FpuState,
}

impl Process {
    const UNUSED: Process = Process {
        pid: 0,
        name: [0; MODULE_NAME_LEN],
        state: State::Unused,
        context: 0,
        space: None,
        cpu_ticks: 0,
        arrival: 0,
        first_run: None,
        end: 0,
        wait_ticks: 0,
        ready_since: 0,
        job: Job::NONE,
        owns_next_tick: false,
        ticks_since_trap: 0,
        wake_tick: 0,
        cpu_budget: 0,
        exit_code: 0,
        kill_reason: 0,
        cpu_tsc: 0,
        run_start_tsc: 0,
        fpu: FpuState::ZERO,
    };

    pub fn name(&self) -> &str {
        core::str::from_utf8(c_str(&self.name)).unwrap_or("?")
    }
}

pub struct ProcessTable {
    pub procs: [Process; MAX_PROCS],
    pub count: usize,
    /// Slot of the process on the CPU, if any.
    pub current: Option<usize>,
    /// How many are sleeping (so the timer need not look when none is).
    pub sleeping: usize,
}

static TABLE: KernelCell<ProcessTable> = KernelCell::new(ProcessTable {
    procs: [Process::UNUSED; MAX_PROCS],
    count: 0,
    current: None,
    sleeping: 0,
});

#[repr(C, align(16))]
struct KernelStack([u8; KSTACK_SIZE]);

static KSTACKS: KernelCell<[KernelStack; MAX_PROCS]> =
    KernelCell::new([const { KernelStack([0; KSTACK_SIZE]) }; MAX_PROCS]);

/// The process table (see kcell.rs for the rules).
pub fn table() -> &'static mut ProcessTable {
    TABLE.get()
}

/// Top of slot `i`'s kernel stack: TSS.RSP0 while it runs.
pub fn kstack_top(i: usize) -> u64 {
    KSTACKS.get()[i].0.as_ptr() as u64 + KSTACK_SIZE as u64
}

/// Slot of the running process.
pub fn current() -> Option<usize> {
    table().current
}

/// Create a process from boot module `module` (slot = module index, pid =
/// slot + 1): load the program, build its first trap frame and context. It
/// is an embryo until the scheduler admits it at its arrival tick.
pub fn create(slot: usize, module: &Module) -> Result<u32, &'static str> {
    let image_len = module.len as usize;
    // SAFETY: the VMM placed the module's bytes at `addr` in RAM, in a region
    // the memory map reserves; the direct map covers it; nothing writes it.
    let image = unsafe {
        core::slice::from_raw_parts(
            crate::boot::phys_to_virt(module.addr) as *const u8,
            image_len,
        )
    };
    let name = c_str(&module.name);
    let mut argv: [&[u8]; lde_abi::boot::MAX_ARGS + 1] = [&[]; lde_abi::boot::MAX_ARGS + 1];
    argv[0] = name;
    let mut argc = 1;
    for arg in c_str(&module.args)
        .split(|&b| b == b' ')
        .filter(|a| !a.is_empty())
    {
        if argc == argv.len() {
            break;
        }
        argv[argc] = arg;
        argc += 1;
    }
    let loaded = loader::load(image, module.addr, &argv[..argc])?;

    // The first trap frame: "return" to the entry point in ring 3.
    let top = kstack_top(slot);
    let tf_addr = top - core::mem::size_of::<TrapFrame>() as u64;
    let frame = TrapFrame {
        rip: loaded.entry,
        cs: USER_CS as u64,
        rflags: USER_RFLAGS,
        rsp: loaded.rsp,
        ss: USER_DS as u64,
        ..Default::default()
    };
    let ctx_addr = tf_addr - core::mem::size_of::<Context>() as u64;
    let ctx = Context {
        r15: 0,
        r14: 0,
        r13: 0,
        r12: 0,
        rbx: 0,
        rbp: 0,
        rip: trap_entry::trap_return_addr(),
    };
    // SAFETY: both structures go at the top of this slot's kernel stack,
    // which no one uses yet; addresses are 8-byte aligned.
    unsafe {
        (tf_addr as *mut TrapFrame).write(frame);
        (ctx_addr as *mut Context).write(ctx);
    }

    let t = table();
    let p = &mut t.procs[slot];
    *p = Process::UNUSED;
    p.pid = slot as u32 + 1;
    p.name[..name.len().min(MODULE_NAME_LEN - 1)]
        .copy_from_slice(&name[..name.len().min(MODULE_NAME_LEN - 1)]);
    p.state = State::Embryo;
    p.fpu = FpuState::initial();
    p.context = ctx_addr;
    p.space = Some(loaded.space);
    p.job = module.job;
    if p.job.tickets == 0 {
        p.job.tickets = lde_abi::boot::DEFAULT_TICKETS;
    }
    // A job of known length ends at the tick that completes it.
    p.cpu_budget = p.job.length_ticks;
    p.arrival = p.job.arrival_tick;
    p.ready_since = p.arrival;
    t.count = t.count.max(slot + 1);
    Ok(p.pid)
}
