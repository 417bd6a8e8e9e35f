//! Debugging user code with the kernel's help (`lde run --gdb`).
//!
//! KVM can single-step and break in kernel mode on every host, but on PVM
//! hosts (nested KVM without VMX/SVM) not in user mode: there a user-mode
//! #DB or #BP always goes to the guest's own IDT. So when
//! [`crate::boot::FLAG_DEBUGGER`] is set, the kernel forwards them: it
//! writes the vector to [`crate::ports::DEBUG`] with RDI = the address of
//! the [`crate::trap_frame::TrapFrame`], and the VMM's gdb stub presents
//! that frame (the user's registers) to gdb as a stop. The stub may change
//! the frame while the vCPU is stopped (registers, [`RFLAGS_TF`] to step
//! one user instruction); the kernel then returns to user mode through it.
//! The kernel clears TF in the frame of a forwarded #DB before it stops, so
//! stepping goes on only while the debugger asks for it.

/// RFLAGS.TF: the CPU raises #DB after the next instruction.
pub const RFLAGS_TF: u64 = 1 << 8;
