//! Trap dispatch: every trap, from user or kernel mode, comes here with its
//! `TrapFrame` (trap_entry.rs) and is sent on by vector.
//!
//! From user mode: the timer goes to the scheduler, 0x80 to the system-call
//! table, `int3` is a bare trap (counted, resumed), and every other
//! exception means the process did something it may not — a privileged
//! instruction, a touch of kernel or unmapped memory, an invalid
//! instruction, a divide by zero, a forbidden gate — so it is killed with
//! the reason, and the others go on. On PVM hosts `int 0x80` arrives as #UD
//! with RIP at the `CD 80` bytes (kvm-host.md); that is the system call too.
//!
//! From kernel mode, any exception is a kernel bug: panic.

use lde_abi::layout::{PAGE_SIZE, USER_STACK_PAGES, USER_STACK_TOP};
use lde_abi::syscall::path;
use lde_abi::trace::{kill_reason, kind, vector_name};

use crate::console::{Hex, Say};
use crate::idt::{SPURIOUS_VECTOR, SYSCALL_VECTOR, TIMER_VECTOR};
use crate::trap_entry::TrapFrame;
use crate::{println, process, say, sched, syscall, trace};

const UD: u64 = 6;
const BP: u64 = 3;
const NMI: u64 = 2;
const MC: u64 = 18;
const PF: u64 = 14;
const INT80: [u8; 2] = [0xcd, 0x80];

/// Called by `trap_common` with the frame of the interrupted context.
///
/// Each arm hands the frame on to one function, so that the dispatcher
/// itself needs no stack frame (every kernel instruction counts on PVM
/// hosts, where they are emulated).
pub extern "C" fn dispatch(tf: &mut TrapFrame) {
    let user = tf.is_from_user();
    match tf.vector {
        v if v == TIMER_VECTOR as u64 => sched::on_tick(),
        v if v == SYSCALL_VECTOR as u64 && user => syscall::dispatch(tf, path::GATE),
        // On PVM hosts `int 0x80` arrives as #UD on its bytes.
        UD if user => invalid_opcode(tf),
        BP if user => breakpoint(tf),
        v if v == SPURIOUS_VECTOR as u64 => {}
        // Not caused by the running process: an NMI is ignored, a machine
        // check is the machine's fault, not the program's.
        NMI => {}
        MC => kernel_fault(tf),
        _ if user => kill(tf),
        _ => kernel_fault(tf),
    }
}

/// A #UD from user mode: the system call if the bytes are `int 0x80`
/// (step over them), otherwise an invalid instruction that kills.
#[inline(never)]
fn invalid_opcode(tf: &mut TrapFrame) {
    if faulting_bytes_are_int80(tf.rip) {
        tf.rip += 2;
        syscall::dispatch(tf, path::UD)
    } else {
        kill(tf)
    }
}

/// `int3` from user mode: a bare trap, recorded and resumed at once.
#[inline(never)]
fn breakpoint(tf: &TrapFrame) {
    sched::note_trap();
    record_trap(tf, 0)
}

fn record_trap(tf: &TrapFrame, cr2: u64) {
    let pid = current_pid();
    trace::record(
        kind::TRAP,
        pid,
        [
            tf.vector,
            tf.rip,
            tf.error,
            tf.is_from_user() as u64,
            cr2,
            0,
        ],
    );
}

fn current_pid() -> u32 {
    process::current()
        .map(|s| process::table().procs[s].pid)
        .unwrap_or(0)
}

/// Are the two bytes at user address `rip` `int 0x80`? The CPU has just
/// fetched the instruction at `rip` from user mode, so its page is mapped
/// and user-readable; only when the second byte lies on the next page is
/// that page checked like any user pointer before it is read.
#[inline(always)]
fn faulting_bytes_are_int80(rip: u64) -> bool {
    if rip & (PAGE_SIZE - 1) != PAGE_SIZE - 1 {
        // SAFETY: both bytes lie in the page the CPU fetched the faulting
        // instruction from (see above), in the address space in CR3.
        return unsafe { (rip as *const [u8; 2]).read_unaligned() } == INT80;
    }
    int80_across_pages(rip)
}

#[cold]
#[inline(never)]
fn int80_across_pages(rip: u64) -> bool {
    let Some(slot) = process::current() else {
        return false;
    };
    let t = process::table();
    let Some(space) = t.procs[slot].space.as_ref() else {
        return false;
    };
    if !space.user_range_ok(rip, 2, false) {
        return false;
    }
    // SAFETY: the two bytes are mapped and user-readable in the current
    // address space (checked just above), which is loaded in CR3.
    let bytes = unsafe { (rip as *const [u8; 2]).read_unaligned() };
    bytes == INT80
}

/// A user process did something only the kernel may do: end it.
#[cold]
#[inline(never)]
fn kill(tf: &TrapFrame) -> ! {
    let cr2 = if tf.vector == PF {
        x86_64::registers::control::Cr2::read_raw()
    } else {
        0
    };
    record_trap(tf, cr2);
    let (pid, name) = match process::current() {
        Some(s) => {
            let p = &process::table().procs[s];
            (p.pid, p.name())
        }
        None => (0, "?"),
    };
    let what = vector_name(tf.vector);
    let address = (tf.vector == PF).then(|| {
        let stack_guard = USER_STACK_TOP - (USER_STACK_PAGES + 1) * PAGE_SIZE;
        let hint = if (stack_guard..stack_guard + PAGE_SIZE).contains(&cr2) {
            " (stack overflow)"
        } else if cr2 >= lde_abi::layout::USER_END {
            " (kernel memory)"
        } else if tf.error & 1 == 0 {
            " (not mapped)"
        } else {
            " (protection)"
        };
        FaultAddress(cr2, hint)
    });
    say!(
        "lde kernel: pid ",
        pid,
        " (",
        name,
        ") killed: ",
        what,
        " at rip ",
        Hex(tf.rip),
        address,
        ", error ",
        Hex(tf.error)
    );
    sched::kill_current(kill_reason::FAULT, [tf.vector, tf.rip, tf.error, cr2])
}

/// ", address 0x… (hint)" of a page fault's kill message.
struct FaultAddress(u64, &'static str);

impl Say for FaultAddress {
    fn say(&self) {
        ", address ".say();
        Hex(self.0).say();
        self.1.say();
    }
}

/// An exception in kernel mode: a kernel bug. Print the frame and panic.
fn kernel_fault(tf: &TrapFrame) -> ! {
    let cr2 = x86_64::registers::control::Cr2::read_raw();
    println!(
        "\nlde kernel: {} in kernel mode (vector {}, error {:#x})",
        vector_name(tf.vector),
        tf.vector,
        tf.error
    );
    println!(
        "  rip {:#018x} cs {:#x} rflags {:#x} rsp {:#018x} ss {:#x} cr2 {:#x}",
        tf.rip, tf.cs, tf.rflags, tf.rsp, tf.ss, cr2
    );
    println!(
        "  rax {:#x} rbx {:#x} rcx {:#x} rdx {:#x} rsi {:#x} rdi {:#x} rbp {:#x}",
        tf.rax, tf.rbx, tf.rcx, tf.rdx, tf.rsi, tf.rdi, tf.rbp
    );
    println!(
        "  r8 {:#x} r9 {:#x} r10 {:#x} r11 {:#x} r12 {:#x} r13 {:#x} r14 {:#x} r15 {:#x}",
        tf.r8, tf.r9, tf.r10, tf.r11, tf.r12, tf.r13, tf.r14, tf.r15
    );
    panic!("{} in kernel mode", vector_name(tf.vector));
}
