//! Upcall: the kernel runs a few instructions of its own in user mode and
//! gets the CPU straight back.
//!
//! Some instructions cannot run in kernel mode on every host: on PVM hosts
//! the kernel's instructions are emulated, and `xsave`, `xrstor`, `xgetbv`
//! and every AVX instruction stop the VM with an emulation failure there,
//! while in user mode they run natively. xstate.rs needs exactly those, so
//! it runs them through [`call`]:
//!
//! 1. build, on a stack of its own, a context for `swtch` (switch.rs)
//!    that returns into a short trampoline, and above it a frame
//!    for `iretq` into the code in ring 3, interrupts off;
//! 2. point TSS.RSP0 at the same stack (the process's kernel stack holds
//!    the process's trap frame, which must survive);
//! 3. `swtch` to it, saving the kernel's own context: the trampoline loads
//!    the code's registers and `iretq`s;
//! 4. the code ends with `int3`; `trap::dispatch` sees an upcall is active
//!    and calls [`finish`], which keeps RAX and RDX of the trap frame and
//!    switches back to the saved kernel context: `call` returns them.
//!
//! The code must be mapped user-executable in the address space in CR3 and
//! must not touch memory the process could use to mislead the kernel: the
//! process itself does not run during an upcall.

use lde_abi::cpu::selector::{USER_CS, USER_DS};

use crate::gdt;
use crate::kcell::KernelCell;
use crate::switch::{swtch, Context};
use crate::trap_entry::TrapFrame;

const STACK_SIZE: usize = 8 * 1024;

#[repr(C, align(16))]
struct UpcallStack([u8; STACK_SIZE]);

/// The upcall's kernel stack: TSS.RSP0 during an upcall (the CPU uses it by
/// address, so it is never borrowed).
static STACK: KernelCell<UpcallStack> = KernelCell::new(UpcallStack([0; STACK_SIZE]));

/// The upcall in progress: the kernel's saved context, and RAX and RDX as
/// the code left them (only those: on PVM hosts every word the kernel
/// copies costs an emulated instruction).
struct Upcall {
    active: bool,
    kernel_context: u64,
    result: [u64; 2],
}

static UPCALL: KernelCell<Upcall> = KernelCell::new(Upcall {
    active: false,
    kernel_context: 0,
    result: [0; 2],
});

core::arch::global_asm!(
    r#"
    // Entered by swtch's `ret` with RSP at the iretq frame; the context
    // carried the code's RDI, RSI, RAX and RDX in RBX, R14, R12 and R13.
    .global upcall_iret
    upcall_iret:
        mov rdi, rbx
        mov rsi, r14
        mov rax, r12
        mov rdx, r13
        iretq
    "#
);

extern "C" {
    fn upcall_iret();
}

/// RFLAGS for the code: interrupts off, reserved bit 1.
const RFLAGS: u64 = 0x2;

/// Run the user-mode code at `rip` (ending in `int3`) with RDI, RSI, RAX
/// and RDX set to `regs`; returns RAX and RDX as it left them. The caller
/// sets TSS.RSP0 for the process it runs next afterwards.
pub fn call(rip: u64, regs: [u64; 4]) -> [u64; 2] {
    let [rdi, rsi, rax, rdx] = regs;
    let top = STACK.as_ptr() as u64 + STACK_SIZE as u64;
    // The iretq frame (RIP, CS, RFLAGS, RSP, SS; the code uses no stack),
    // and below it the context swtch pops.
    let iret = [rip, USER_CS as u64, RFLAGS, 0, USER_DS as u64];
    let iret_addr = top - core::mem::size_of_val(&iret) as u64;
    let ctx = Context {
        r15: 0,
        r14: rsi,
        r13: rdx,
        r12: rax,
        rbx: rdi,
        rbp: 0,
        rip: upcall_iret as *const () as u64,
    };
    let ctx_addr = iret_addr - core::mem::size_of::<Context>() as u64;
    // SAFETY: both go at the top of the upcall stack, which nothing uses
    // between upcalls; the addresses are 8-byte aligned.
    unsafe {
        (iret_addr as *mut [u64; 5]).write(iret);
        (ctx_addr as *mut Context).write(ctx);
    }
    gdt::set_kernel_stack(top);
    let save = UPCALL.with(|u| {
        u.active = true;
        &mut u.kernel_context as *mut u64
    });
    // SAFETY: `ctx_addr` is the context built above, whose return address
    // is the trampoline into the kernel's own code in user mode (mapped in
    // the address space in CR3); `finish` switches back to `save`. No
    // KernelCell borrow is live across the switch.
    unsafe { swtch(save, ctx_addr) };
    UPCALL.with(|u| {
        u.active = false;
        u.result
    })
}

/// Is an upcall running? Then a trap from user mode comes from the
/// kernel's own code, not from the process.
pub fn active() -> bool {
    UPCALL.with(|u| u.active)
}

/// The upcall's `int3`: keep RAX and RDX and resume the kernel in [`call`].
pub fn finish(tf: &TrapFrame) -> ! {
    let target = UPCALL.with(|u| {
        u.result = [tf.rax, tf.rdx];
        u.kernel_context
    });
    let mut abandoned = 0;
    // SAFETY: an upcall is active, so `call` saved its context; this stack
    // (the upcall stack) is abandoned and rebuilt by the next upcall. No
    // KernelCell borrow is live across the switch.
    unsafe { swtch(&mut abandoned, target) };
    unreachable!("an abandoned upcall stack was resumed")
}
