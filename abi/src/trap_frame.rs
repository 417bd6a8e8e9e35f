//! The trap frame: the registers of an interrupted context as the kernel's
//! trap entry (`guest-kernel/src/trap_entry.rs`) lays them out on the kernel
//! stack. Part of the contract because the VMM's gdb stub reads and writes
//! it when the kernel forwards a user-mode debug trap ([`crate::debug`]).

/// The registers of an interrupted context, as laid out on its kernel stack.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapFrame {
    // Pushed by trap_common (RAX last, so it is first here).
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    // Pushed by the vector's stub.
    pub vector: u64,
    pub error: u64,
    // Pushed by the CPU.
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

impl TrapFrame {
    /// Did the trap come from user mode (CS RPL 3)? Nothing runs in rings
    /// 1 and 2, so any RPL but 0 says so: one `test` of the frame's CS.
    #[inline(always)]
    pub fn is_from_user(&self) -> bool {
        self.cs & 3 != 0
    }
}

// The stub reads and writes it as 22 quadwords.
const _: () = assert!(core::mem::size_of::<TrapFrame>() == 22 * 8);
