//! Getting the vCPU out of `KVM_RUN` when gdb sends something (Ctrl-C)
//! while the guest runs.
//!
//! The connection thread sets `kvm_run.immediate_exit` and then signals the
//! vCPU thread. The signal interrupts a `KVM_RUN` in progress; the flag
//! makes a `KVM_RUN` that has not started yet return at once (`EINTR`), so
//! a kick that lands between the run loop's last look at the connection and
//! its next `KVM_RUN` is not lost. The run loop clears the flag after every
//! exit and then looks for data from gdb (`session.rs`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use kvm_ioctls::VcpuFd;

use crate::watchdog;

/// Where to kick: the vCPU's `kvm_run` page and its thread.
struct Registered {
    immediate_exit: *mut u8,
    thread: libc::pthread_t,
}

// SAFETY: the pointer is only written through while the registration is in
// place (under the mutex), and the vCPU thread removes it before its
// `VcpuFd` (which owns the mapping) can go away.
unsafe impl Send for Registered {}

#[derive(Default)]
pub struct Kicker {
    target: Mutex<Option<Registered>>,
    /// Is the vCPU running the guest (so a kick is useful)?
    running: AtomicBool,
}

impl Kicker {
    /// Called on the vCPU thread: kick this vCPU from now on.
    pub fn register(&self, vcpu: &mut VcpuFd) {
        let run = vcpu.get_kvm_run();
        let registered = Registered {
            immediate_exit: std::ptr::addr_of_mut!(run.immediate_exit),
            // SAFETY: pthread_self has no preconditions.
            thread: unsafe { libc::pthread_self() },
        };
        *self.target.lock().unwrap_or_else(|e| e.into_inner()) = Some(registered);
    }

    /// Called on the vCPU thread before it drops the vCPU.
    pub fn unregister(&self) {
        *self.target.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::SeqCst);
    }

    /// Make the vCPU leave (or not enter) `KVM_RUN`, if it is running.
    pub fn kick(&self) {
        if !self.running.load(Ordering::SeqCst) {
            return;
        }
        let target = self.target.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = target.as_ref() {
            // SAFETY: the kvm_run mapping is alive while registered (see
            // `Registered`); a volatile byte store is what KVM reads.
            unsafe { t.immediate_exit.write_volatile(1) };
            // SAFETY: the thread is alive while registered; the kick
            // signal's handler does nothing (watchdog.rs).
            unsafe { libc::pthread_kill(t.thread, watchdog::kick_signal()) };
        }
    }
}
