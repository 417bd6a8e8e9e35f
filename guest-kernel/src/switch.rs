//! Context switch: from one kernel stack to another.
//!
//! `swtch(save, load)`: save the current callee-saved registers on the
//! current stack, creating a [`Context`], store the stack pointer in
//! `*save`; switch to the stack `load` and pop the context saved there.
//! (The caller-saved registers were saved by the Rust caller; the user
//! registers sit in the `TrapFrame` further up each kernel stack.)
//!
//! Like xv6, processes never switch to each other directly: a process
//! switches to the scheduler's context (on the boot stack), and the
//! scheduler switches to the next process. Around `swtch` the scheduler
//! also changes what the CPU must know about the process: TSS.RSP0 (where
//! the next trap from user mode lands) and CR3 (its address space).

/// What `swtch` leaves on a stack that is not running.
#[repr(C)]
pub struct Context {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbx: u64,
    pub rbp: u64,
    /// Where `swtch`'s `ret` goes when this context is resumed.
    pub rip: u64,
}

core::arch::global_asm!(
    r#"
    .global swtch
    swtch:
        // 1. Save the callee-saved registers of the current context.
        push rbp
        push rbx
        push r12
        push r13
        push r14
        push r15
        // 2. Remember where they are: *save = rsp.
        mov [rdi], rsp
        // 3. Switch stacks.
        mov rsp, rsi
        // 4. Restore the new context and return into it.
    .global swtch_restore
    swtch_restore:
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbx
        pop rbp
        ret
    "#
);

extern "C" {
    /// See the module documentation.
    pub fn swtch(save: *mut u64, load: u64);
}
