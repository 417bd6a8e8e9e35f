//! x86 numbers the VMM and the kernel must agree on: the segment selectors of
//! the GDT (the VMM's boot GDT and the kernel's own share them) and the trap
//! vectors.

/// GDT selectors, in Linux's x86-64 layout. PVM hosts (KVM without VMX/SVM)
/// reject a guest `wrmsr STAR` whose user CS is not 0x33, so the layout is
/// Linux's everywhere: kernel CS 0x10, DS 0x18, user CS32 0x23, DS 0x2b,
/// CS 0x33.
pub mod selector {
    pub const KERNEL_CS: u16 = 0x10;
    pub const KERNEL_DS: u16 = 0x18;
    /// 32-bit user code: unused, present only to keep the layout.
    pub const USER_CS32: u16 = 0x23;
    pub const USER_DS: u16 = 0x2b;
    pub const USER_CS: u16 = 0x33;
    pub const TSS: u16 = 0x38;
}

/// Trap vectors the kernel handles by number.
pub mod vector {
    /// Debug exception (after a single step with RFLAGS.TF).
    pub const DEBUG: u8 = 1;
    pub const NMI: u8 = 2;
    pub const BREAKPOINT: u8 = 3;
    pub const INVALID_OPCODE: u8 = 6;
    pub const DOUBLE_FAULT: u8 = 8;
    pub const PAGE_FAULT: u8 = 14;
    pub const MACHINE_CHECK: u8 = 18;
    /// The local APIC timer.
    pub const TIMER: u8 = 0x20;
    /// The system-call gate (`int 0x80`).
    pub const SYSCALL: u8 = crate::syscall::VECTOR;
    /// The local APIC's spurious-interrupt vector.
    pub const SPURIOUS: u8 = 0xff;

    /// Does the CPU push an error code for `vector`? (The kernel's entry
    /// stubs push a zero for the others, so every frame looks the same.)
    pub const fn has_error_code(vector: u64) -> bool {
        matches!(vector, 8 | 10..=14 | 17 | 21 | 29 | 30)
    }

    /// [`has_error_code`] of the 32 exception vectors as a bit mask (bit
    /// `v` for vector `v`), for the kernel's entry stubs, which are
    /// assembled from it.
    pub const ERROR_CODE_MASK: u32 = {
        let mut mask = 0;
        let mut v = 0;
        while v < 32 {
            if has_error_code(v) {
                mask |= 1 << v;
            }
            v += 1;
        }
        mask
    };
}
