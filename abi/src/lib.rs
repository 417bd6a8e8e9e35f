//! The contract between the lde VMM and the lde guest kernel.
//!
//! Everything both sides must agree on lives here and nowhere else: I/O
//! ports, the console buffer, the guest-physical memory layout, segment selectors and trap vectors,
//! the boot-info structure, the
//! ELF note that marks an lde kernel, exit statuses, system-call numbers and
//! the layout of the guest's event ring, and the benchmark loop both guest
//! and host programs run (`work`). The crate is `no_std` and, for the guest
//! kernel and the user library, has no dependencies; the VMM turns on the
//! optional `serde` feature to write the trace's scheduling reasons as JSON.
#![no_std]

pub mod boot;
pub mod console;
pub mod cpu;
pub mod debug;
pub mod exit;
pub mod layout;
pub mod note;
pub mod phases;
pub mod ports;
pub mod program;
pub mod syscall;
pub mod trace;
pub mod trap_frame;
pub mod work;

/// Version of this contract. The kernel carries it in its ELF note and the
/// VMM refuses a kernel built against another version.
pub const CONTRACT_VERSION: u32 = 2;
