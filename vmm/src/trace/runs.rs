//! Who was on the CPU when: run intervals from `switch` events.
//!
//! A `switch` event at time t says the CPU went from `pid` to `to`, so `to`
//! runs from t until the next switch. The previous switch is trusted over
//! the event's `pid` (they agree unless events were dropped).

use super::record::GuestEvent;

/// One stretch of time on the CPU. `pid` 0 is the kernel's idle loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub pid: u32,
    pub start_ns: u64,
    pub end_ns: u64,
    /// Why it got the CPU and why it lost it (switch reasons; `end` when
    /// the trace ended while it ran).
    pub reason_in: String,
    pub reason_out: String,
}

impl Run {
    pub fn duration_ns(&self) -> u64 {
        self.end_ns - self.start_ns
    }
}

#[derive(Debug, Default)]
pub struct RunTracker {
    /// (pid, since, why) of what is on the CPU.
    current: Option<(u32, u64, String)>,
}

impl RunTracker {
    /// Feed a guest event at `t_ns`; returns the run a switch ends.
    pub fn observe(&mut self, t_ns: u64, event: &GuestEvent) -> Option<Run> {
        match event {
            GuestEvent::Switch { to, reason } => {
                let ended = self.close(t_ns, reason.name());
                self.current = Some((*to, t_ns, reason.name().to_string()));
                ended
            }
            _ => None,
        }
    }

    /// The trace ended at `t_ns`: the run still going, if any.
    pub fn finish(&mut self, t_ns: u64) -> Option<Run> {
        self.close(t_ns, "end")
    }

    fn close(&mut self, t_ns: u64, reason_out: &str) -> Option<Run> {
        let (pid, start_ns, reason_in) = self.current.take()?;
        Some(Run {
            pid,
            start_ns,
            // Guest times are clamped by the VMM, so a switch can carry the
            // same or (with a skewed TSC) an earlier time; never negative.
            end_ns: t_ns.max(start_ns),
            reason_in,
            reason_out: reason_out.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch(to: u32, reason: &str) -> GuestEvent {
        GuestEvent::Switch {
            to,
            reason: reason.parse().unwrap(),
        }
    }

    #[test]
    fn a_switch_ends_one_run_and_starts_the_next() {
        let mut t = RunTracker::default();
        assert_eq!(t.observe(10, &switch(1, "start")), None);
        assert_eq!(
            t.observe(
                15,
                &GuestEvent::Tick {
                    tick: 1,
                    unaccounted: None
                }
            ),
            None
        );
        let run = t.observe(20, &switch(2, "preempt")).unwrap();
        assert_eq!((run.pid, run.start_ns, run.end_ns), (1, 10, 20));
        assert_eq!(
            (run.reason_in.as_str(), run.reason_out.as_str()),
            ("start", "preempt")
        );
        let run = t.finish(25).unwrap();
        assert_eq!(
            (run.pid, run.start_ns, run.end_ns, run.duration_ns()),
            (2, 20, 25, 5)
        );
        assert_eq!(t.finish(30), None);
    }

    #[test]
    fn time_never_runs_backwards() {
        let mut t = RunTracker::default();
        t.observe(100, &switch(1, "start"));
        let run = t.observe(90, &switch(0, "sleep")).unwrap();
        assert_eq!(run.duration_ns(), 0);
    }
}
