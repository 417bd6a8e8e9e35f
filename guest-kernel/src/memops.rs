//! Copying and zeroing memory with string instructions, 8 bytes a step.
//!
//! On PVM hosts the guest kernel's instructions are emulated one at a time
//! (measured: about 0.4 us per instruction, 1.5 us per `rep movsb` byte,
//! 0.35 us per `rep stosq`/`rep movsq` quadword), so the kernel moves data in
//! quadwords. On VMX/SVM hosts this is simply a fast copy.

/// Copy `len` bytes from `src` to `dst` (non-overlapping).
///
/// # Safety
/// Both ranges must be valid for `len` bytes and not overlap.
pub unsafe fn copy(dst: *mut u8, src: *const u8, len: usize) {
    // SAFETY: the caller guarantees both ranges; `rep movsq` then `rep
    // movsb` copy exactly `len` bytes forward, with DF clear (the ABI
    // guarantees it at function boundaries).
    unsafe {
        core::arch::asm!(
            "rep movsq",
            "mov rcx, {tail}",
            "rep movsb",
            tail = in(reg) len % 8,
            inout("rcx") len / 8 => _,
            inout("rdi") dst => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags)
        );
    }
}

/// Zero `len` bytes at `dst` (`len` a multiple of 8, `dst` 8-byte aligned).
///
/// # Safety
/// The range must be valid for writes.
pub unsafe fn zero(dst: *mut u8, len: usize) {
    debug_assert!(len % 8 == 0 && dst as usize % 8 == 0);
    // SAFETY: the caller guarantees the range; `rep stosq` writes exactly
    // `len / 8` quadwords forward.
    unsafe {
        core::arch::asm!(
            "rep stosq",
            inout("rcx") len / 8 => _,
            inout("rdi") dst => _,
            in("rax") 0u64,
            options(nostack, preserves_flags)
        );
    }
}
