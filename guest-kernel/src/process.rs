//! Processes: the process table, each entry with its state, its own kernel
//! stack, its address space and its accounting (observe.rs); and their
//! lifecycle: create, sleep, wake, exit, kill, reap.
//!
//! A process is born with a kernel stack that looks as if it had trapped
//! into the kernel and then switched away: at the top a [`TrapFrame`] that
//! returns to the program's entry point in user mode, below it a
//! [`Context`] whose return address is `trap_return`. The first switch to it
//! therefore "returns from a trap" into user mode, like every later one.

use core::mem::MaybeUninit;

use lde_abi::boot::{c_str, Job, Module, MODULE_NAME_LEN};
use lde_abi::cpu::selector::{USER_CS, USER_DS};
use lde_abi::trace::switch_reason;

use crate::fpu::FpuState;
use crate::fsgs::Segments;
use crate::kcell::KernelCell;
use crate::loader;
use crate::observe::{self, Accounting};
use crate::paging::AddressSpace;
use crate::sched::{self, Admit, Leave, MAX_PROCS};
use crate::switch::Context;
use crate::trap_entry::{self, TrapFrame};
use crate::xstate;
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
    /// What the scheduler may know before it runs: arrival, length, I/O,
    /// tickets.
    pub job: Job,
    /// Its current run carries out a tick's scheduling decision, so it owns
    /// the next tick (observe.rs, "Charging").
    pub owns_next_tick: bool,
    pub wake_tick: u64,
    /// End with status 0 once its CPU time reaches this many ticks (0 = no
    /// budget).
    pub cpu_budget: u64,
    pub exit_code: i32,
    pub kill_reason: u64,
    /// Its FPU/SSE registers while it is off the CPU (fpu.rs).
    pub fpu: FpuState,
    /// Its FS and GS selectors and bases while it is off the CPU (fsgs.rs).
    pub segments: Segments,
    /// What observe.rs measures of it.
    pub acct: Accounting,
}

impl Process {
    const UNUSED: Process = Process {
        pid: 0,
        name: [0; MODULE_NAME_LEN],
        state: State::Unused,
        context: 0,
        space: None,
        job: Job::NONE,
        owns_next_tick: false,
        wake_tick: 0,
        cpu_budget: 0,
        exit_code: 0,
        kill_reason: 0,
        fpu: FpuState::ZERO,
        segments: Segments::INITIAL,
        acct: Accounting::ZERO,
    };

    pub fn name(&self) -> &str {
        core::str::from_utf8(c_str(&self.name)).unwrap_or("?")
    }

    /// `cpu_budget(ticks)`: its next charged tick is judged in full, since
    /// what is due (observe.rs, `check_at`) may have changed.
    pub fn set_cpu_budget(&mut self, ticks: u64) {
        self.cpu_budget = ticks;
        self.acct.check_at = 0;
    }

    /// Has it used the CPU budget it asked for?
    pub fn budget_spent(&self) -> bool {
        self.cpu_budget != 0 && self.acct.cpu_ticks >= self.cpu_budget
    }
}

pub struct ProcessTable {
    pub procs: [Process; MAX_PROCS],
    pub count: usize,
    /// Slot of the process on the CPU, if any.
    pub current: Option<usize>,
    /// How many are sleeping (so the timer need not look when none is).
    pub sleeping: usize,
    /// No arrival or wake-up is due before this tick (u64::MAX: none is
    /// pending; 0 until the first look), so most ticks need not scan.
    pub next_due: u64,
}

/// A slot of the process table as the byte offset of its entry: finding
/// the entry is then one load of it and an addressing mode, not a multiply
/// by the entry's size (the quiet tick, timer.rs). Only made from a slot.
#[derive(Clone, Copy)]
pub struct SlotAt(usize);

impl SlotAt {
    pub const fn new(slot: usize) -> Self {
        assert!(slot < MAX_PROCS);
        SlotAt(slot * core::mem::size_of::<Process>())
    }
}

impl ProcessTable {
    /// The process at `at`.
    #[inline(always)]
    pub fn at(&mut self, at: SlotAt) -> &mut Process {
        // SAFETY: `at` is a slot below MAX_PROCS times the entry's size
        // (`SlotAt::new`): the start of an entry of `procs`, borrowed
        // mutably with the table.
        unsafe { &mut *self.procs.as_mut_ptr().byte_add(at.0) }
    }

    pub fn alive_count(&self) -> usize {
        self.procs[..self.count]
            .iter()
            .filter(|p| p.state.is_alive())
            .count()
    }
}

static TABLE: KernelCell<ProcessTable> = KernelCell::new(ProcessTable {
    procs: [Process::UNUSED; MAX_PROCS],
    count: 0,
    current: None,
    sleeping: 0,
    next_due: 0,
});

#[repr(C, align(16))]
struct KernelStack([u8; KSTACK_SIZE]);

/// Only ever used by address (the CPU and `swtch` use the stacks).
static KSTACKS: KernelCell<[KernelStack; MAX_PROCS]> =
    KernelCell::new([const { KernelStack([0; KSTACK_SIZE]) }; MAX_PROCS]);

/// Lend the process table to `f` (see kcell.rs for the rules).
#[inline(always)]
pub fn with_table<R>(f: impl FnOnce(&mut ProcessTable) -> R) -> R {
    TABLE.with(f)
}

/// Lend the running process to `f`; `None` when no process runs.
#[inline(always)]
pub fn with_current<R>(f: impl FnOnce(&mut Process) -> R) -> Option<R> {
    TABLE.with(|t| t.current.map(|slot| f(&mut t.procs[slot])))
}

/// Top of slot `i`'s kernel stack: TSS.RSP0 while it runs.
pub fn kstack_top(i: usize) -> u64 {
    KSTACKS.as_ptr() as u64 + (i * KSTACK_SIZE + KSTACK_SIZE) as u64
}

/// Slot of the running process.
pub fn current() -> Option<usize> {
    TABLE.with(|t| t.current)
}

/// Root page table of the running process's address space.
#[inline(always)]
pub fn current_pml4() -> Option<u64> {
    TABLE.with(|t| {
        t.current
            .and_then(|slot| t.procs[slot].space.as_ref().map(|s| s.pml4))
    })
}

/// Pid of the process whose trap from user mode left the frame `tf`.
/// The CPU pushed that frame at the top of the running process's kernel
/// stack (TSS.RSP0), so where the frame lies says whose it is, and the pid
/// follows from the slot (pid = slot + 1, see [`create`]): a few register
/// instructions, where asking the process table takes a load, a test and
/// a bounds check (every kernel instruction is emulated on PVM hosts).
/// Not for an upcall's frame (upcall.rs), which lies on a stack of its own.
#[inline(always)]
pub fn pid_of_user_frame(tf: &TrapFrame) -> u32 {
    // slot + 1 = (tf - (KSTACKS - one stack)) / stack size: counting from
    // one stack below the first, the `+ 1` folds into the constant the
    // linker writes (one instruction less on every trap event). The `lea`
    // is asm so that the compiler keeps it one constant instead of
    // rearranging the sum into more instructions.
    let pid_zero: u64;
    // SAFETY: `lea` only computes an address (nothing is read).
    unsafe {
        core::arch::asm!("lea {z}, [rip + {stacks} - {size}]", z = out(reg) pid_zero,
            stacks = sym KSTACKS, size = const KSTACK_SIZE,
            options(pure, nomem, nostack, preserves_flags));
    }
    // In 32 bits (the frame lies within the stacks, so the distance fits):
    // the result is then already a zero-extended register.
    let pid = (tf as *const TrapFrame as u64).wrapping_sub(pid_zero) as u32 / KSTACK_SIZE as u32;
    debug_assert_eq!(Some(pid as usize - 1), current());
    pid
}

/// Create a process from boot module `module` (slot = module index, pid =
/// slot + 1), whose name and arguments are `name` and `args`: load the
/// program, build its first trap frame and context. It
/// is an embryo until it arrives ([`arrivals_and_wakes`]); loading it now
/// keeps the cost of loading out of the tick it arrives at.
pub fn create(slot: usize, module: &Module, name: &[u8], args: &[u8]) -> Result<u32, &'static str> {
    let image_len = module.len as usize;
    // SAFETY: the VMM placed the module's bytes at `addr` in RAM, in a region
    // the memory map reserves; the direct map covers it; nothing writes it.
    let image = unsafe {
        core::slice::from_raw_parts(
            crate::boot::phys_to_virt(module.addr) as *const u8,
            image_len,
        )
    };
    // Uninitialised: zeroing it would be 64 stores.
    let mut argv = [const { MaybeUninit::<&[u8]>::uninit() }; lde_abi::boot::MAX_ARGS + 1];
    argv[0].write(name);
    let mut argc = 1;
    for arg in args.split(|&b| b == b' ').filter(|a| !a.is_empty()) {
        if argc == argv.len() {
            break;
        }
        argv[argc].write(arg);
        argc += 1;
    }
    // SAFETY: the first `argc` entries were written just above, and
    // `MaybeUninit<&[u8]>` has the layout of `&[u8]`.
    let argv = unsafe { &*(&argv[..argc] as *const [MaybeUninit<&[u8]>] as *const [&[u8]]) };
    let mut space = AddressSpace::new().ok_or("out of memory")?;
    let (entry, rsp) = match loader::load(&mut space, image, module.addr, argv)
        .and_then(|loaded| xstate::prepare(&mut space, slot).map(|()| loaded))
    {
        Ok(loaded) => loaded,
        Err(why) => {
            space.free();
            return Err(why);
        }
    };

    // The first trap frame: "return" to the entry point in ring 3, every
    // other register 0.
    let top = kstack_top(slot);
    let tf_addr = top - core::mem::size_of::<TrapFrame>() as u64;
    let tf = tf_addr as *mut TrapFrame;
    // SAFETY: the frame goes at the top of this slot's kernel stack, which
    // no one uses yet, 8-byte aligned; zeroed first (one `rep stosq`), then
    // the fields that are not 0.
    unsafe {
        crate::memops::zero(tf as *mut u8, core::mem::size_of::<TrapFrame>());
        (*tf).rip = entry;
        (*tf).cs = USER_CS as u64;
        (*tf).rflags = USER_RFLAGS;
        (*tf).rsp = rsp;
        (*tf).ss = USER_DS as u64;
    }
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
    // SAFETY: below the trap frame on this slot's kernel stack, which no
    // one uses yet; 8-byte aligned.
    unsafe { (ctx_addr as *mut Context).write(ctx) };

    TABLE.with(|t| {
        let p = &mut t.procs[slot];
        // Each slot is used once (slot = boot module): it is as the table
        // began, `Process::UNUSED`, with no 1 KiB copy to make it so.
        debug_assert!(p.state == State::Unused);
        p.pid = slot as u32 + 1;
        p.name[..name.len().min(MODULE_NAME_LEN - 1)]
            .copy_from_slice(&name[..name.len().min(MODULE_NAME_LEN - 1)]);
        p.state = State::Embryo;
        p.fpu = FpuState::initial();
        p.context = ctx_addr;
        p.space = Some(space);
        p.job = module.job;
        if p.job.tickets == 0 {
            p.job.tickets = lde_abi::boot::DEFAULT_TICKETS;
        }
        // A job of known length ends at the tick that completes it.
        p.cpu_budget = p.job.length_ticks;
        p.acct = Accounting::arrived(p.job.arrival_tick);
        t.count = t.count.max(slot + 1);
        Ok(p.pid)
    })
}

/// Block the running process until tick `wake` (a system call).
pub fn sleep_until(wake: u64) {
    let Some(slot) = current() else { return };
    sched::with_policy(|p| p.leave(slot, Leave::Sleeps));
    block(slot, wake);
    sched::give_up(slot, switch_reason::SLEEP);
}

/// Mark the process in `slot` asleep until tick `wake` (the policy knows).
pub fn block(slot: usize, wake: u64) {
    TABLE.with(|t| {
        t.sleeping += 1;
        t.next_due = t.next_due.min(wake);
        let p = &mut t.procs[slot];
        p.state = State::Sleeping;
        p.wake_tick = wake;
        observe::sleeping(p, wake);
    });
}

/// At tick `now`: processes whose arrival tick has come enter the system,
/// then sleepers whose time has come wake up (mlfq.py's order: arrivals
/// before I/O completions); both join the policy. Before the first tick
/// one is due (`next_due`) that is one compare.
#[inline(always)]
pub fn arrivals_and_wakes(now: u64) {
    if now >= TABLE.with(|t| t.next_due) {
        admit_due(now);
    }
}

/// [`arrivals_and_wakes`] once one is due: the scan, and when the next is.
#[inline(never)]
fn admit_due(now: u64) {
    let mut next_due = u64::MAX;
    for slot in 0..TABLE.with(|t| t.count) {
        let job = TABLE.with(|t| {
            let p = &mut t.procs[slot];
            match p.state {
                State::Embryo if p.job.arrival_tick <= now => {
                    p.state = State::Runnable;
                    observe::arrived(p, slot);
                    Some((Admit::Arrive, job_of(p)))
                }
                State::Sleeping if now >= p.wake_tick => {
                    observe::woke(p, now);
                    p.state = State::Runnable;
                    observe::ready(p);
                    t.sleeping -= 1;
                    Some((Admit::Wake, job_of(p)))
                }
                State::Embryo => {
                    next_due = next_due.min(p.job.arrival_tick);
                    None
                }
                State::Sleeping => {
                    next_due = next_due.min(p.wake_tick);
                    None
                }
                _ => None,
            }
        });
        if let Some((how, job)) = job {
            sched::with_policy(|p| p.admit(slot, &job, how));
        }
    }
    TABLE.with(|t| t.next_due = next_due);
}

fn job_of(p: &Process) -> sched::Job {
    sched::Job {
        length: p.job.length_ticks,
        tickets: p.job.tickets,
    }
}

/// When the first sleeper or arrival is due (0 if none).
pub fn next_wake() -> u64 {
    TABLE.with(|t| {
        t.procs[..t.count]
            .iter()
            .filter_map(|p| match p.state {
                State::Sleeping => Some(p.wake_tick),
                State::Embryo => Some(p.job.arrival_tick),
                _ => None,
            })
            .min()
            .unwrap_or(0)
    })
}

/// Is any process still alive (runnable, running or sleeping)?
pub fn any_alive() -> bool {
    TABLE.with(|t| t.alive_count() > 0)
}

/// `exit(code)`: never returns.
pub fn exit_current(code: i32) -> ! {
    let slot = current().expect("exit without a process");
    sched::with_policy(|p| p.leave(slot, Leave::Exits));
    mark_exited(slot, code);
    sched::give_up(slot, switch_reason::EXIT);
    unreachable!("an exited process was scheduled again");
}

/// The process in `slot` has exited with `code` (the policy knows).
pub fn mark_exited(slot: usize, code: i32) {
    TABLE.with(|t| {
        let p = &mut t.procs[slot];
        p.state = State::Exited;
        p.exit_code = code;
        observe::exited(p, code);
        observe::ended(t);
    });
}

/// Kill the running process for `reason` (`kill_reason`): never returns to
/// it. `fault` = (vector, rip, error code, address) for fault kills.
pub fn kill_current(reason: u64, fault: [u64; 4]) -> ! {
    let slot = current().expect("kill without a process");
    sched::with_policy(|p| p.leave(slot, Leave::Exits));
    mark_killed(slot, reason, fault);
    sched::give_up(slot, switch_reason::KILL);
    unreachable!("a killed process was scheduled again");
}

/// The process in `slot` is killed for `reason` (the policy knows).
pub fn mark_killed(slot: usize, reason: u64, fault: [u64; 4]) {
    TABLE.with(|t| {
        let p = &mut t.procs[slot];
        p.state = State::Killed;
        p.kill_reason = reason;
        observe::killed(p, reason, fault);
        observe::ended(t);
    });
}

/// A process has ended and is off the CPU: free its memory.
#[inline(always)]
pub fn reap(slot: usize) {
    xstate::forget(slot);
    TABLE.with(|t| {
        let p = &mut t.procs[slot];
        if let Some(space) = p.space.take() {
            space.free();
        }
        observe::reaped(p);
    })
}
