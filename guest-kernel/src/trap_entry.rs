//! Trap entry and return-from-trap, in assembly.
//!
//! When a trap arrives the CPU (if it came from user mode) switches to the
//! kernel stack named by TSS.RSP0 and pushes SS, RSP, RFLAGS, CS, RIP and,
//! for some exceptions, an error code. The stub for the vector pushes a zero
//! error code where the CPU did not (so every frame looks the same) and the
//! vector number, then `trap_common` pushes the general registers. The
//! result, on the stack, is a [`TrapFrame`]; `trap_common` hands its address
//! to `trap::dispatch` in Rust.
//!
//! Return-from-trap is the same in reverse: pop the general registers, drop
//! vector and error code, and `iretq`, which restores RIP, CS, RFLAGS, RSP
//! and SS at once — dropping back to user mode if CS says ring 3. A new
//! process starts by "returning" from a trap frame the kernel built by hand
//! (see `process.rs`), entering at `trap_return`.

pub use lde_abi::trap_frame::TrapFrame;

core::arch::global_asm!(
    r#"
    // Stub for a vector whose exception pushes no error code.
    .macro TRAP_NOERR num
    .global trap_stub_\num
    trap_stub_\num:
        push 0
        push \num
        jmp trap_common
    .endm

    // Stub for a vector where the CPU already pushed an error code.
    .macro TRAP_ERR num
    .global trap_stub_\num
    trap_stub_\num:
        push \num
        jmp trap_common
    .endm

    .section .text
    // The 32 exception stubs in vector order, one every STUB_STRIDE bytes
    // (each is at most 9): vector v's lies at trap_stub_0 + v * STUB_STRIDE,
    // which lets idt.rs fill the gates without reading the table below.
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .balign {stride}
    .if \n == 8 || \n == 10 || \n == 11 || \n == 12 || \n == 13 || \n == 14 || \n == 17 || \n == 21 || \n == 29 || \n == 30
    TRAP_ERR \n
    .else
    TRAP_NOERR \n
    .endif
    .endr
    .irp n, {timer},{syscall},{spurious}
    TRAP_NOERR \n
    .endr

    .global trap_common
    trap_common:
        // User code may leave the direction flag set; the kernel's string
        // instructions (serial.rs, memops.rs) count on it being clear.
        cld
        // Save the interrupted context's registers: the rest of the frame.
        push r15
        push r14
        push r13
        push r12
        push r11
        push r10
        push r9
        push r8
        push rbp
        push rdi
        push rsi
        push rdx
        push rcx
        push rbx
        push rax
        // trap::dispatch(&mut TrapFrame). The frame is 22 words and the CPU
        // aligned RSP to 16 before pushing, so the call sees an aligned stack.
        mov rdi, rsp
        call {dispatch}

    .global trap_return
    trap_return:
        // Restore the (possibly changed) frame and return from the trap.
        pop rax
        pop rbx
        pop rcx
        pop rdx
        pop rsi
        pop rdi
        pop rbp
        pop r8
        pop r9
        pop r10
        pop r11
        pop r12
        pop r13
        pop r14
        pop r15
        add rsp, 16     // vector and error code
        iretq

    .section .rodata
    .balign 8
    .global trap_stub_table
    trap_stub_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        .quad trap_stub_\n
    .endr
    .quad trap_stub_{timer}, trap_stub_{syscall}, trap_stub_{spurious}
    "#,
    dispatch = sym crate::trap::dispatch,
    timer = const lde_abi::cpu::vector::TIMER,
    syscall = const lde_abi::cpu::vector::SYSCALL,
    spurious = const lde_abi::cpu::vector::SPURIOUS,
    stride = const STUB_STRIDE,
);

extern "C" {
    static trap_stub_table: [u64; 35];
    fn trap_return();
}

/// Bytes from one exception stub to the next (see the assembly above).
pub const STUB_STRIDE: u64 = 16;

/// Address of the entry stub for `vector` (0..=31, timer, system call,
/// spurious).
pub fn stub(vector: u8) -> u64 {
    use lde_abi::cpu::vector::{SPURIOUS, SYSCALL, TIMER};
    let i = match vector {
        0..=31 => vector as usize,
        TIMER => 32,
        SYSCALL => 33,
        SPURIOUS => 34,
        _ => panic!("no trap stub for vector {vector}"),
    };
    // SAFETY: the table is defined above, 35 entries, never written.
    unsafe {
        core::ptr::addr_of!(trap_stub_table)
            .cast::<u64>()
            .add(i)
            .read()
    }
}

/// Where a new process's first context switch "returns" to: the second half
/// of `trap_common`, which pops a hand-built frame and `iretq`s to user mode.
pub fn trap_return_addr() -> u64 {
    trap_return as *const () as u64
}
