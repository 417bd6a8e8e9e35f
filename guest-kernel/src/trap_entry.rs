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
//!
//! The timer has an entry of its own, because most ticks change nothing
//! (timer.rs, "quiet" ticks) and every kernel instruction counts (on PVM
//! hosts each is emulated). Like the interrupt entries of real kernels it
//! saves only the scratch (caller-saved) registers — those the Rust code it
//! calls may change — into their places in a `TrapFrame`, and (for a tick
//! from user mode) asks `timer::tick_entry` whether the tick was quiet. If it was, they are
//! restored and `iretq` goes straight back. Otherwise the entry fills in the
//! rest of the frame (the callee-saved registers, still the interrupted
//! context's, since the Rust code kept them), and the tick takes the full
//! path on a complete `TrapFrame`, leaving through `trap_return` like
//! every trap: whatever may read or change the frame (a switch, a kill, a
//! debugger) sees the same frame as always.

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
    // The CPU pushes an error code for the vectors in ERROR_CODE_MASK
    // (lde-abi `has_error_code`, which the trace decoder uses too).
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .balign {stride}
    .if ({error_code_mask} >> \n) & 1
    TRAP_ERR \n
    .else
    TRAP_NOERR \n
    .endif
    .endr
    .irp n, {syscall},{spurious}
    TRAP_NOERR \n
    .endr

    // The timer's entry (see the module documentation). The frame's 17
    // words below the CPU's 5 are reserved at once, and the scratch
    // registers go to their places in it ({{tf_*}}: the fields' offsets).
    .global trap_stub_{timer}
    trap_stub_{timer}:
        sub rsp, {tf_rip}
        mov [rsp + {tf_rax}], rax
        mov [rsp + {tf_rcx}], rcx
        mov [rsp + {tf_rdx}], rdx
        mov [rsp + {tf_rsi}], rsi
        mov [rsp + {tf_rdi}], rdi
        mov [rsp + {tf_r8}], r8
        mov [rsp + {tf_r9}], r9
        mov [rsp + {tf_r10}], r10
        mov [rsp + {tf_r11}], r11
        cld
        // A tick taken in the kernel goes the full way at once; else
        // timer::tick_entry() -> 1 if the tick was quiet and is done.
        test byte ptr [rsp + {tf_cs}], 3
        jz 1f
        call {tick_entry}
        test al, al
        jz 1f
        mov rax, [rsp + {tf_rax}]
        mov rcx, [rsp + {tf_rcx}]
        mov rdx, [rsp + {tf_rdx}]
        mov rsi, [rsp + {tf_rsi}]
        mov rdi, [rsp + {tf_rdi}]
        mov r8, [rsp + {tf_r8}]
        mov r9, [rsp + {tf_r9}]
        mov r10, [rsp + {tf_r10}]
        mov r11, [rsp + {tf_r11}]
        add rsp, {tf_rip}
        iretq
    1:  // The full path: complete the frame as trap_common would have.
        mov [rsp + {tf_rbx}], rbx
        mov [rsp + {tf_rbp}], rbp
        mov [rsp + {tf_r12}], r12
        mov [rsp + {tf_r13}], r13
        mov [rsp + {tf_r14}], r14
        mov [rsp + {tf_r15}], r15
        mov qword ptr [rsp + {tf_vector}], {timer}
        mov qword ptr [rsp + {tf_error}], 0
        // timer::full_tick_entry(&mut TrapFrame)
        mov rdi, rsp
        call {full_tick}
        jmp trap_return

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
    tick_entry = sym crate::timer::tick_entry,
    full_tick = sym crate::timer::full_tick_entry,
    timer = const lde_abi::cpu::vector::TIMER,
    syscall = const lde_abi::cpu::vector::SYSCALL,
    spurious = const lde_abi::cpu::vector::SPURIOUS,
    stride = const STUB_STRIDE,
    error_code_mask = const lde_abi::cpu::vector::ERROR_CODE_MASK,
    tf_rax = const core::mem::offset_of!(TrapFrame, rax),
    tf_rbx = const core::mem::offset_of!(TrapFrame, rbx),
    tf_rcx = const core::mem::offset_of!(TrapFrame, rcx),
    tf_rdx = const core::mem::offset_of!(TrapFrame, rdx),
    tf_rsi = const core::mem::offset_of!(TrapFrame, rsi),
    tf_rdi = const core::mem::offset_of!(TrapFrame, rdi),
    tf_rbp = const core::mem::offset_of!(TrapFrame, rbp),
    tf_r8 = const core::mem::offset_of!(TrapFrame, r8),
    tf_r9 = const core::mem::offset_of!(TrapFrame, r9),
    tf_r10 = const core::mem::offset_of!(TrapFrame, r10),
    tf_r11 = const core::mem::offset_of!(TrapFrame, r11),
    tf_r12 = const core::mem::offset_of!(TrapFrame, r12),
    tf_r13 = const core::mem::offset_of!(TrapFrame, r13),
    tf_r14 = const core::mem::offset_of!(TrapFrame, r14),
    tf_r15 = const core::mem::offset_of!(TrapFrame, r15),
    tf_vector = const core::mem::offset_of!(TrapFrame, vector),
    tf_error = const core::mem::offset_of!(TrapFrame, error),
    tf_cs = const core::mem::offset_of!(TrapFrame, cs),
    tf_rip = const core::mem::offset_of!(TrapFrame, rip),
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
