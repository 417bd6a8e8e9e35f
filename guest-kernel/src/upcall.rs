//! Upcall: the kernel runs a few instructions of its own in user mode and
//! gets the CPU straight back.
//!
//! Some instructions cannot run in kernel mode on every host: on PVM hosts
//! the kernel's instructions are emulated, and `xsave`, `xrstor`, `xgetbv`
//! and every AVX instruction stop the VM with an emulation failure there,
//! while in user mode they run natively. xstate.rs needs exactly those, so
//! it runs them through [`call`]:
//!
//! 1. point the trap table's `int3` gate at `upcall_return`, on a stack of
//!    the upcall's own (IST, gdt.rs: the kernel stack TSS.RSP0 names holds
//!    a process's trap frame, which must survive);
//! 2. `upcall_run` keeps the kernel's stack pointer and `iretq`s to the
//!    code in ring 3, interrupts off;
//! 3. the code ends with `int3`, which comes back through that gate:
//!    `upcall_return` puts the gate back, returns to the kernel's stack and
//!    from `upcall_run`, with RAX and RDX as the code left them.
//!
//! No trap frame is built and `trap::dispatch` never sees the `int3`: the
//! code changes no register but RAX, RCX, RDX and the flags, so the
//! kernel's callee-saved registers are still in the CPU when it comes
//! back (on PVM hosts, where every kernel instruction is emulated, the
//! round trip is about a dozen instructions, where the trap path, as for
//! any other trap, with both halves of a `swtch`, was about 70).
//!
//! The code must be mapped user-executable in the address space in CR3 and
//! must not touch memory the process could use to mislead the kernel: the
//! process itself does not run during an upcall.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use lde_abi::cpu::selector::{USER_CS, USER_DS};

use crate::gdt;
use crate::idt;
use crate::kcell::KernelCell;

const STACK_SIZE: usize = 4 * 1024;

#[repr(C, align(16))]
struct UpcallStack([u8; STACK_SIZE]);

/// The upcall's stack: IST [`gdt::UPCALL_IST`], where its `int3` comes in
/// (the CPU uses it by address, so it is never borrowed).
static STACK: KernelCell<UpcallStack> = KernelCell::new(UpcallStack([0; STACK_SIZE]));

/// An upcall is running (for `trap::dispatch`: any trap then comes from
/// the kernel's own code, a kernel bug).
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The kernel's stack pointer while an upcall runs.
static KERNEL_RSP: AtomicU64 = AtomicU64::new(0);
/// The `int3` gate's first quadword: where it is, the kernel's value, the
/// upcall's (idt.rs, [`idt::breakpoint_gate`]).
static GATE: AtomicU64 = AtomicU64::new(0);
static GATE_KERNEL: AtomicU64 = AtomicU64::new(0);
static GATE_UPCALL: AtomicU64 = AtomicU64::new(0);

core::arch::global_asm!(
    r#"
    // upcall_run(rdi = rip) -> rax, rdx: iretq into `rip` in user mode,
    // with the int3 gate leading back to upcall_return. Changes RAX, RCX,
    // RDX, RSI and the flags, nothing else (see `call`).
    .global upcall_run
    upcall_run:
        mov [rip + {kernel_rsp}], rsp
        mov rax, [rip + {gate}]
        mov rcx, [rip + {gate_upcall}]
        mov [rax], rcx
        mov [rip + upcall_frame], rdi
        lea rsp, [rip + upcall_frame]
        iretq

    // The code's int3, on the upcall's stack: the gate as it was, the
    // kernel's stack, and return from upcall_run (RAX and RDX untouched).
    .global upcall_return
    upcall_return:
        mov rsp, [rip + {kernel_rsp}]
        mov rcx, [rip + {gate}]
        mov rsi, [rip + {gate_kernel}]
        mov [rcx], rsi
        ret

    .section .data
    .balign 16
    upcall_frame:
        // The iretq frame: RIP (upcall_run's argument), CS, RFLAGS
        // (interrupts off, reserved bit 1), RSP (the code uses no stack), SS.
        .quad 0, {user_cs}, 2, 0, {user_ds}
    .section .text
    "#,
    kernel_rsp = sym KERNEL_RSP,
    gate = sym GATE,
    gate_kernel = sym GATE_KERNEL,
    gate_upcall = sym GATE_UPCALL,
    user_ds = const USER_DS,
    user_cs = const USER_CS,
);

extern "C" {
    fn upcall_return();
}

/// Give the upcall's `int3` its stack and its gate. Call after
/// `gdt::init` and `idt::init`, before any upcall.
pub fn init() {
    gdt::set_interrupt_stack(gdt::UPCALL_IST, STACK.as_ptr() as u64 + STACK_SIZE as u64);
    let (gate, upcall) = idt::breakpoint_gate(upcall_return as *const () as u64, gdt::UPCALL_IST);
    // SAFETY: `gate` is the first quadword of the int3 gate, in the
    // kernel's static trap table.
    let kernel = unsafe { gate.read() };
    GATE.store(gate as u64, Ordering::Relaxed);
    GATE_KERNEL.store(kernel, Ordering::Relaxed);
    GATE_UPCALL.store(upcall, Ordering::Relaxed);
}

/// Run the user-mode code at `rip` (ending in `int3`, changing no register
/// but RAX, RCX and RDX); returns RAX and RDX as it left them.
#[inline(always)]
pub fn call(rip: u64) -> [u64; 2] {
    ACTIVE.store(true, Ordering::Relaxed);
    let (rax, rdx): (u64, u64);
    // SAFETY: `rip` is the kernel's own code, mapped user-executable in the
    // address space in CR3 (the caller's promise), ending in `int3`, which
    // comes back through the gate `upcall_run` sets to `upcall_return`.
    // The code and the trip change only the registers named here (a call
    // from asm, so that the compiler keeps its values in the others).
    unsafe {
        core::arch::asm!(
            "call upcall_run",
            inout("rdi") rip => _,
            out("rax") rax,
            out("rcx") _,
            out("rdx") rdx,
            out("rsi") _,
        )
    };
    ACTIVE.store(false, Ordering::Relaxed);
    [rax, rdx]
}

/// Is an upcall running? Then a trap from user mode comes from the
/// kernel's own code, not from the process.
#[inline(always)]
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}
