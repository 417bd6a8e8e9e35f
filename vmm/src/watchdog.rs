//! Getting the vCPU thread out of `KVM_RUN` from outside: for the watchdog
//! (`--timeout`) and for Ctrl-C.
//!
//! A guest spinning with interrupts off never exits on its own. A signal to
//! the vCPU thread makes `KVM_RUN` return `EINTR`; the run loop then sees
//! the stop request. The signal could land just before the thread enters
//! `KVM_RUN` and be lost, so it is repeated until the thread is out.

use std::sync::atomic::{AtomicU8, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use vmm_sys_util::signal::{register_signal_handler, Killable, SIGRTMIN};

/// Why the run loop was asked to stop.
pub const RUNNING: u8 = 0;
pub const STOP_TIMEOUT: u8 = 1;
pub const STOP_INTERRUPTED: u8 = 2;

/// The signal that kicks the vCPU thread out of the guest.
pub fn kick_signal() -> i32 {
    SIGRTMIN()
}

extern "C" fn on_kick(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // Nothing to do: being delivered is enough to interrupt KVM_RUN.
}

/// Install the kick handler (once per process).
pub fn install() -> std::io::Result<()> {
    register_signal_handler(kick_signal(), on_kick)
        .map_err(|e| std::io::Error::from_raw_os_error(e.errno()))
}

/// Set the stop reason and kick the thread until it has finished.
pub fn stop<T>(thread: &JoinHandle<T>, stop: &AtomicU8, why: u8) {
    let _ = stop.compare_exchange(RUNNING, why, Ordering::SeqCst, Ordering::SeqCst);
    while !thread.is_finished() {
        let _ = thread.kill(kick_signal());
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Time the guest spent stopped in the debugger, which the watchdog does
/// not count (`lde run --gdb`): a run may sit at a breakpoint for as long
/// as its user reads it.
#[derive(Default)]
pub struct PauseClock {
    /// When the current pause began, and the pauses before it.
    state: std::sync::Mutex<(Option<std::time::Instant>, Duration)>,
    /// Pauses begun (the first, waiting for gdb to attach, included).
    pauses: std::sync::atomic::AtomicU64,
}

impl PauseClock {
    /// A clock that starts paused: the guest waits for gdb first.
    pub fn paused() -> PauseClock {
        PauseClock {
            state: std::sync::Mutex::new((Some(std::time::Instant::now()), Duration::ZERO)),
            pauses: 1.into(),
        }
    }

    pub fn pause(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.0.is_none() {
            s.0 = Some(std::time::Instant::now());
            self.pauses
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// How many times the guest was stopped.
    pub fn pauses(&self) -> u64 {
        self.pauses.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn resume(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(since) = s.0.take() {
            s.1 += since.elapsed();
        }
    }

    /// All the time paused so far, the current pause included.
    pub fn total(&self) -> Duration {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.1 + s.0.map(|t| t.elapsed()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::PauseClock;
    use std::time::Duration;

    #[test]
    fn pause_clock_counts_only_pauses() {
        let c = PauseClock::default();
        assert_eq!(c.total(), Duration::ZERO);
        c.pause();
        c.pause();
        std::thread::sleep(Duration::from_millis(5));
        c.resume();
        assert_eq!(c.pauses(), 1, "one pause, however often it is asked");
        let paused = c.total();
        assert!(paused >= Duration::from_millis(5));
        // Running time is not added.
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.total(), paused);
        // A second resume changes nothing; a paused() clock is paused.
        c.resume();
        assert_eq!(c.total(), paused);
        assert!(PauseClock::paused().total() < Duration::from_secs(1));
    }
}
