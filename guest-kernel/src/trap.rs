//! Trap dispatch: every trap, from user or kernel mode, comes here with its
//! `TrapFrame` (trap_entry.rs) and is sent on by vector.
//!
//! The timer is not among them: it has its own entry (trap_entry.rs),
//! which goes to timer.rs directly.
//!
//! From user mode: 0x80 goes to the system-call table, `int3` is a bare trap (counted, resumed), and every other
//! exception means the process did something it may not — a privileged
//! instruction, a touch of kernel or unmapped memory, an invalid
//! instruction, a divide by zero, a forbidden gate — so it is killed with
//! the reason, and the others go on. On PVM hosts (KVM without VMX/SVM) a
//! user `int 0x80` arrives as #UD with RIP at the `CD 80` bytes; that is
//! the system call too.
//!
//! With a debugger attached (`lde run --gdb`), a user-mode #DB or #BP goes
//! to the VMM's gdb stub instead (`debug.rs`).
//!
//! From kernel mode, any exception is a kernel bug: panic.

use lde_abi::cpu::vector;
use lde_abi::trace::{kill_reason, vector_name};

use lde_abi::layout::PAGE_SIZE;

use crate::syscall::Arrival;
use crate::trap_entry::TrapFrame;
use crate::{debug, observe, paging, println, process, syscall, upcall};

const SYSCALL: u64 = vector::SYSCALL as u64;
const SPURIOUS: u64 = vector::SPURIOUS as u64;
const UD: u64 = vector::INVALID_OPCODE as u64;
const BP: u64 = vector::BREAKPOINT as u64;
const DB: u64 = vector::DEBUG as u64;
const NMI: u64 = vector::NMI as u64;
const MC: u64 = vector::MACHINE_CHECK as u64;
const PF: u64 = vector::PAGE_FAULT as u64;
const INT80: [u8; 2] = [0xcd, 0x80];

/// Called by `trap_common` with the frame of the interrupted context.
///
/// The traps a process makes all the time come first, each a compare or
/// two away: `int3` (the bare trap, tested first: it has the least else to
/// do) and a system call (either way it arrives). Everything
/// else (a trap in kernel mode or during an upcall, one for the debugger,
/// a fault) goes to [`dispatch_other`], out of line, so that the usual
/// ones pay nothing for it: every kernel instruction is emulated on PVM
/// hosts.
pub extern "C" fn dispatch(tf: &mut TrapFrame) {
    if tf.vector == BP {
        return breakpoint(tf);
    }
    dispatch_from_user(tf)
}

/// `int3` from user mode: a stop for the debugger, or else a bare trap,
/// counted and resumed. It is not a system call, so it does not restart
/// the hog rule's clock (observe.rs). (An upcall's `int3` never comes
/// here: upcall.rs points the gate elsewhere while one runs.)
#[inline(always)]
fn breakpoint(tf: &mut TrapFrame) {
    if !tf.is_from_user() {
        return dispatch_other(tf);
    }
    if debug::attached() {
        return debug::forward(tf);
    }
    observe::trap(tf, 0)
}

/// Any trap but `int3`: the usual ones from user mode here, the rest in
/// [`dispatch_other`].
#[inline(never)]
fn dispatch_from_user(tf: &mut TrapFrame) {
    match tf.vector {
        UD if tf.is_from_user() && int80_on_this_page(tf.rip) => {
            tf.rip += 2;
            syscall::dispatch(tf, Arrival::UD)
        }
        SYSCALL if tf.is_from_user() => syscall::dispatch(tf, Arrival::GATE),
        _ => dispatch_other(tf),
    }
}

/// Every trap [`dispatch`] does not serve itself.
#[cold]
#[inline(never)]
fn dispatch_other(tf: &mut TrapFrame) {
    let user = tf.is_from_user();
    if user && upcall::active() {
        // The kernel's own code in user mode (upcall.rs), not the process's:
        // it runs with interrupts off, and its `int3` has a gate of its own.
        kernel_fault(tf);
    }
    match tf.vector {
        SPURIOUS => {}
        DB | BP if user && debug::attached() => debug::forward(tf),
        UD if user && faulting_bytes_are_int80(tf.rip) => {
            tf.rip += 2;
            syscall::dispatch(tf, Arrival::UD)
        }
        // Not caused by the running process: an NMI is ignored, a machine
        // check is the machine's fault, not the program's.
        NMI => {}
        MC => kernel_fault(tf),
        // Any other exception from user mode (a #UD that is not on
        // `int 0x80` among them) ends the process.
        _ if user => kill(tf),
        _ => kernel_fault(tf),
    }
}

/// Are the two bytes at user address `rip` `int 0x80`, on the page the
/// CPU has just fetched the faulting instruction from? That page is mapped
/// and user-readable, so they can be read at once; when the second byte
/// lies on the next page the answer is no here, and [`dispatch_other`]
/// asks the page tables ([`faulting_bytes_are_int80`]).
#[inline(always)]
fn int80_on_this_page(rip: u64) -> bool {
    // SAFETY: both bytes lie in the page the CPU fetched the faulting
    // instruction from, in the address space loaded in CR3.
    rip & (PAGE_SIZE - 1) != PAGE_SIZE - 1
        && unsafe { (rip as *const [u8; 2]).read_unaligned() } == INT80
}

/// Are the two bytes at user address `rip` `int 0x80`? Checked like any
/// user pointer before they are read (they may span two pages).
fn faulting_bytes_are_int80(rip: u64) -> bool {
    let readable =
        process::current_pml4().is_some_and(|pml4| paging::user_range_ok(pml4, rip, 2, false));
    if !readable {
        return false;
    }
    // SAFETY: the two bytes are mapped and user-readable in the current
    // address space (checked just above), which is loaded in CR3.
    let bytes = unsafe { (rip as *const [u8; 2]).read_unaligned() };
    bytes == INT80
}

/// A user process did something only the kernel may do: end it.
fn kill(tf: &TrapFrame) -> ! {
    let cr2 = if tf.vector == PF {
        x86_64::registers::control::Cr2::read_raw()
    } else {
        0
    };
    observe::user_fault(tf, cr2);
    process::kill_current(kill_reason::FAULT, [tf.vector, tf.rip, tf.error, cr2])
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
