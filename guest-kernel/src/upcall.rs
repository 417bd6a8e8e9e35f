//! Upcall: the kernel runs a few instructions of its own in user mode and
//! gets the CPU straight back.
//!
//! Some instructions cannot run in kernel mode on every host: on PVM hosts
//! the kernel's instructions are emulated, and `xsave`, `xrstor`, `xgetbv`
//! and every AVX instruction stop the VM with an emulation failure there,
//! while in user mode they run natively. xstate.rs needs exactly those, so
//! it runs them through [`call`]:
//!
//! 1. point TSS.RSP0 at a stack of the upcall's own (the process's kernel
//!    stack holds the process's trap frame, which must survive);
//! 2. `upcall_run` `swtch`es (switch.rs) from the kernel's context to one
//!    that returns into an `iretq` to the code in ring 3, interrupts off;
//! 3. the code ends with `int3`; `trap::dispatch` sees an upcall is active
//!    and calls [`finish`], whose `upcall_resume` does the second half of
//!    `swtch` back into the kernel's context: `upcall_run` returns RAX and
//!    RDX of the trap frame.
//!
//! The code must be mapped user-executable in the address space in CR3 and
//! must not touch memory the process could use to mislead the kernel: the
//! process itself does not run during an upcall.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use lde_abi::cpu::selector::{USER_CS, USER_DS};

use crate::gdt;
use crate::kcell::KernelCell;
use crate::trap_entry::TrapFrame;

const STACK_SIZE: usize = 8 * 1024;

#[repr(C, align(16))]
struct UpcallStack([u8; STACK_SIZE]);

/// The upcall's kernel stack: TSS.RSP0 during an upcall (the CPU uses it by
/// address, so it is never borrowed).
static STACK: KernelCell<UpcallStack> = KernelCell::new(UpcallStack([0; STACK_SIZE]));

/// An upcall is running.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The kernel's context while an upcall runs (written by `swtch`).
static KERNEL_RSP: AtomicU64 = AtomicU64::new(0);

/// RAX and RDX as the code left them.
#[repr(C)]
struct Result2 {
    rax: u64,
    rdx: u64,
}

core::arch::global_asm!(
    r#"
    // upcall_run(rip) -> (rax, rdx): swtch from the kernel's context (saved
    // at KERNEL_RSP) to one whose return address is an iretq into `rip` in
    // user mode. finish switches back: swtch's return here returns from
    // upcall_run, with the code's RAX and RDX.
    .global upcall_run
    upcall_run:
        mov [rip + upcall_frame], rdi
        lea rdi, [rip + {kernel_rsp}]
        lea rsi, [rip + upcall_context]
        jmp swtch
    upcall_iretq:
        iretq

    // upcall_resume(kernel_rsp, rax, rdx): the second half of swtch, back
    // into the kernel's context.
    .global upcall_resume
    upcall_resume:
        mov rsp, rdi
        mov rax, rsi
        jmp swtch_restore

    .section .data
    .balign 16
    upcall_context:
        // What swtch pops: r15, r14, r13, r12, rbx, rbp (nothing), and
        // where its ret goes.
        .quad 0, 0, 0, 0, 0, 0
        .quad upcall_iretq
    upcall_frame:
        // The iretq frame: RIP (upcall_run's argument), CS, RFLAGS
        // (interrupts off, reserved bit 1), RSP (the code uses no stack), SS.
        .quad 0, {user_cs}, 2, 0, {user_ds}
    .section .text
    "#,
    kernel_rsp = sym KERNEL_RSP,
    user_ds = const USER_DS,
    user_cs = const USER_CS,
);

extern "C" {
    fn upcall_run(rip: u64) -> Result2;
    fn upcall_resume(kernel_rsp: u64, rax: u64, rdx: u64) -> !;
}

/// Run the user-mode code at `rip` (ending in `int3`); returns RAX and RDX
/// as it left them. The caller sets TSS.RSP0 for the process it runs next
/// afterwards.
pub fn call(rip: u64) -> [u64; 2] {
    gdt::set_kernel_stack(STACK.as_ptr() as u64 + STACK_SIZE as u64);
    ACTIVE.store(true, Ordering::Relaxed);
    // SAFETY: `rip` is the kernel's own code, mapped user-executable in the
    // address space in CR3 (the caller's promise), ending in `int3`, which
    // `finish` turns into a return from here with the registers saved by
    // `upcall_run`. No KernelCell borrow is live across it.
    let r = unsafe { upcall_run(rip) };
    ACTIVE.store(false, Ordering::Relaxed);
    [r.rax, r.rdx]
}

/// Is an upcall running? Then a trap from user mode comes from the
/// kernel's own code, not from the process.
#[inline(always)]
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// The upcall's `int3`: resume the kernel in [`call`] with RAX and RDX.
pub fn finish(tf: &TrapFrame) -> ! {
    // SAFETY: an upcall is active, so `upcall_run` saved the kernel's
    // registers at KERNEL_RSP, on a stack below which nothing has run since
    // (the trap came in on the upcall stack); this stack is abandoned.
    unsafe { upcall_resume(KERNEL_RSP.load(Ordering::Relaxed), tf.rax, tf.rdx) }
}
