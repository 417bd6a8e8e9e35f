//! I/O ports the guest uses to talk to the VMM.

/// COM1: a 16550 UART (vm-superio on the VMM side). The lde kernel prints
/// through [`CONSOLE`] instead, except before it knows lde started it.
pub const COM1: u16 = 0x3f8;
/// Number of registers of the 16550, starting at [`COM1`].
pub const COM1_LEN: u16 = 8;

/// The console port: a 32-bit `out` of the guest-physical address of a
/// [`crate::console::ConsoleBuffer`] prints its bytes (one exit per buffer).
pub const CONSOLE: u16 = 0xf5;

/// The exit device: a 32-bit `out` here ends the VM. See [`crate::exit`] for
/// what the value means.
pub const EXIT: u16 = 0xf4;

/// The trace doorbell: any `out` here asks the VMM to drain the event ring
/// now (the kernel rings it when the ring is half full).
pub const TRACE_DOORBELL: u16 = 0xf8;

/// The null port: ignored by the VMM; used to time an exit round trip (the
/// kernel argument `exitbench=N`). An `out` here is a VM exit like any
/// other port the VMM does not serve: logged and traced, nothing more.
pub const NULL_PORT: u16 = 0xf6;

/// The debug port: with a debugger attached, the kernel writes the vector
/// (1 = #DB, 3 = #BP) here when user code single-stepped or hit `int3`, with
/// RDI holding the kernel-virtual address of the trap frame
/// ([`crate::trap_frame::TrapFrame`]). See [`crate::debug`].
pub const DEBUG: u16 = 0xf9;
