//! Handing user-mode debug traps to the VMM's gdb stub (`lde run --gdb`).
//!
//! On PVM hosts KVM cannot single-step or break in user mode: a user #DB
//! (after an instruction run with RFLAGS.TF set) or #BP (`int3`) always
//! arrives here through the IDT. With a debugger attached the kernel writes
//! the vector to the debug port with RDI = the trap frame, and the VMM stops
//! there and shows gdb the frame as the user's registers. gdb may change the
//! frame (registers, TF to step once more) before the VMM resumes us; the
//! trap then returns to user mode as usual. The contract is
//! `lde_abi::debug`.

use lde_abi::ports::DEBUG;

use crate::kcell::KernelCell;
use crate::trap_entry::TrapFrame;

/// Set once at boot. A plain `bool` (not an atomic): the bare trap's path
/// tests it with one compare.
static ATTACHED: KernelCell<bool> = KernelCell::new(false);

/// Remember whether the VMM has a debugger attached (boot info flag).
pub fn init(flags: u32) {
    ATTACHED.with(|a| *a = flags & lde_abi::boot::FLAG_DEBUGGER != 0);
}

/// Does a debugger want user-mode #DB and #BP?
#[inline(always)]
pub fn attached() -> bool {
    ATTACHED.with(|a| *a)
}

/// Stop in the debugger with this user frame; returns when it resumes us.
pub fn forward(tf: &mut TrapFrame) {
    // A single-step ends here: the debugger sets TF again for the next
    // one. (A debugger gone meanwhile must not leave the process stepping.)
    if tf.vector == u64::from(lde_abi::cpu::vector::DEBUG) {
        tf.rflags &= !lde_abi::debug::RFLAGS_TF;
    }
    let frame: *mut TrapFrame = tf;
    // SAFETY: an `out` to the debug port only exits to the VMM, which reads
    // and may rewrite the frame through RDI while the vCPU is stopped; the
    // asm takes the frame's address and is told memory may change.
    unsafe {
        core::arch::asm!(
            "out dx, al",
            in("dx") DEBUG,
            in("al") tf.vector as u8,
            in("rdi") frame,
            options(nostack, preserves_flags)
        );
    }
}
