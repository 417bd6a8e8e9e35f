//! How a run ends: what the guest writes to the exit device and the exit
//! statuses of `lde run`.

/// Value bits 0..8 of an exit-device write: the guest's status.
pub const VALUE_STATUS_MASK: u32 = 0xff;
/// Value bits 8..16 of an exit-device write: why the guest ends.
pub const VALUE_KIND_SHIFT: u32 = 8;
/// Kind: the kernel finished and reports a status (0..=[`GUEST_MAX`]).
pub const KIND_EXIT: u32 = 0;
/// Kind: the kernel panicked (a fault in kernel mode, a broken invariant).
pub const KIND_PANIC: u32 = 1;

/// Encode an exit-device value.
pub const fn encode(kind: u32, status: u8) -> u32 {
    (kind << VALUE_KIND_SHIFT) | status as u32
}

/// Highest status a guest may report; it becomes `lde`'s exit status as is.
/// Statuses above it are reserved for `lde` itself (below).
pub const GUEST_MAX: u8 = 99;

/// `lde` exit statuses that do not come from the guest.
pub mod status {
    /// The host failed (a KVM ioctl, an I/O error on the trace file, ...).
    pub const HOST_ERROR: i32 = 1;
    /// Bad input: CLI arguments, kernel or program files, trace files.
    pub const BAD_INPUT: i32 = 2;
    /// The guest triple-faulted (`KVM_EXIT_SHUTDOWN`).
    pub const TRIPLE_FAULT: i32 = 100;
    /// KVM could not run the guest (`KVM_EXIT_INTERNAL_ERROR`).
    pub const INTERNAL_ERROR: i32 = 101;
    /// VM entry failed (`KVM_EXIT_FAIL_ENTRY`).
    pub const FAIL_ENTRY: i32 = 102;
    /// The guest kernel panicked and said so through the exit device.
    pub const KERNEL_PANIC: i32 = 103;
    /// The guest broke the contract (unknown exit kind, status out of range,
    /// an exit lde does not expect, e.g. MMIO to nowhere).
    pub const GUEST_ERROR: i32 = 104;
    /// The watchdog stopped a guest that ran past `--timeout`.
    pub const TIMEOUT: i32 = 124;
    /// `lde run` got SIGINT (Ctrl-C), SIGTERM or SIGHUP.
    pub const INTERRUPTED: i32 = 130;
}
