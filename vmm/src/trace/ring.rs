//! The VMM's side of the guest event ring (lde-abi `trace`).
//!
//! The ring is guest memory, so everything in it is untrusted: the header is
//! checked against what the VMM set up, the head may not run ahead of the
//! tail by more than the capacity, and an event of unknown kind is counted
//! and skipped. Nothing here can make the VMM read outside the ring.

use lde_abi::syscall;
use lde_abi::trace::{self as abi, Event, KernelEvent, RingHeader};

use super::record::{
    EventRecord, GuestEvent, KillReason, Policy, SwitchReason, SyscallPath, Unaccounted,
};
use crate::memory::GuestRam;

/// Where the ring is and how far the VMM has read.
pub struct RingReader {
    addr: u64,
    capacity: u64,
    tail: u64,
    tsc_khz: u64,
    /// (guest TSC, host ns) at the boot event: the sync point.
    sync: Option<(u64, u64)>,
    /// Names of boot modules, indexed by module number.
    names: Vec<String>,
    /// Host time of the previous drain: every event drained now happened
    /// after it, so the trace stays in time order even where the TSC
    /// conversion is off by a little.
    last_drain_ns: u64,
    pub events: u64,
    pub dropped: u64,
    pub bad: u64,
    /// Set when the header itself is garbage; the ring is ignored from then.
    pub broken: Option<String>,
}

impl RingReader {
    /// A reader for a ring of `size` bytes at `addr` (0 = no ring).
    pub fn new(addr: u64, size: u64, tsc_khz: u64, names: Vec<String>) -> RingReader {
        let capacity = abi::ring_capacity(size);
        RingReader {
            addr,
            capacity,
            tail: 0,
            tsc_khz,
            sync: None,
            names,
            last_drain_ns: 0,
            events: 0,
            dropped: 0,
            bad: 0,
            broken: None,
        }
    }

    pub fn enabled(&self) -> bool {
        self.addr != 0 && self.capacity > 0 && self.broken.is_none()
    }

    /// Read every event published since the last call. `now_ns` is the host
    /// time of the exit we are at (the first boot event seen syncs the
    /// clocks to it). Calls `sink` in ring order.
    pub fn drain(&mut self, ram: &GuestRam, now_ns: u64, mut sink: impl FnMut(EventRecord)) {
        if !self.enabled() {
            return;
        }
        let header: RingHeader = match ram.read_pod(self.addr) {
            Ok(h) => h,
            Err(e) => return self.break_ring(format!("unreadable ring header: {e}")),
        };
        if header.magic == 0 {
            return; // the kernel has not set the ring up yet
        }
        if header.magic != abi::RING_MAGIC
            || header.version != abi::RING_VERSION
            || header.event_size as u64 != abi::EVENT_SIZE
            || header.capacity != self.capacity
        {
            return self.break_ring("ring header does not match the contract".into());
        }
        self.dropped = header.dropped;
        let head = header.head;
        if head < self.tail || head - self.tail > self.capacity {
            // A head we cannot believe: skip to it, counting what we skip.
            self.bad += head.wrapping_sub(self.tail).min(self.capacity);
            self.tail = head;
            let _ = ram.write_u64(self.addr + tail_offset(), self.tail);
            return;
        }
        while self.tail < head {
            let slot =
                self.addr + abi::HEADER_SIZE + (self.tail & (self.capacity - 1)) * abi::EVENT_SIZE;
            self.tail += 1;
            let Ok(ev) = ram.read_pod::<Event>(slot) else {
                self.bad += 1;
                continue;
            };
            // Pids are 1..=programs (0 = the kernel): anything else is
            // garbage, and must not make the VMM track unbounded processes.
            if ev.pid as usize > self.names.len() {
                self.bad += 1;
                continue;
            }
            if ev.kind == abi::kind::BOOT && self.sync.is_none() {
                self.sync = Some((ev.tsc, now_ns));
            }
            match self.decode(&ev) {
                Some(event) => {
                    self.events += 1;
                    sink(EventRecord {
                        t_ns: self.host_ns(ev.tsc, now_ns),
                        tsc: ev.tsc,
                        pid: ev.pid,
                        event,
                    });
                }
                None => self.bad += 1,
            }
        }
        // Tell the guest the slots are free again.
        let _ = ram.write_u64(self.addr + tail_offset(), self.tail);
        self.last_drain_ns = now_ns;
    }

    fn break_ring(&mut self, why: String) {
        log::warn!("guest event ring: {why}; ignoring it from now on");
        self.broken = Some(why);
    }

    /// Guest TSC to host nanoseconds since start, clamped between the
    /// previous drain and `now_ns` (the exit at which we read it).
    fn host_ns(&self, tsc: u64, now_ns: u64) -> u64 {
        let Some((sync_tsc, sync_ns)) = self.sync else {
            return now_ns;
        };
        if self.tsc_khz == 0 {
            return now_ns;
        }
        let delta = tsc as i128 - sync_tsc as i128;
        let ns = sync_ns as i128 + delta * 1_000_000 / self.tsc_khz as i128;
        let floor = self.last_drain_ns.min(now_ns);
        ns.clamp(floor as i128, now_ns as i128) as u64
    }

    fn name(&self, module: u64) -> String {
        self.names
            .get(module as usize)
            .cloned()
            .unwrap_or_else(|| format!("module{module}"))
    }

    /// Turn a raw event into its schema form; `None` for garbage.
    fn decode(&self, ev: &Event) -> Option<GuestEvent> {
        Some(match KernelEvent::decode(ev)? {
            KernelEvent::Boot {
                tsc_khz,
                quantum_us,
                sched,
                timer,
            } => GuestEvent::Boot {
                tsc_khz,
                quantum_us,
                sched: Policy::from_abi(sched)?,
                timer,
            },
            KernelEvent::Trap {
                vector,
                rip,
                error,
                from_user,
                cr2,
            } => GuestEvent::Trap {
                vector,
                name: abi::vector_name(vector).into(),
                rip,
                error,
                user: from_user,
                cr2,
            },
            KernelEvent::Syscall {
                nr,
                args,
                result,
                path,
                cs,
            } => GuestEvent::Syscall {
                nr,
                name: syscall::name(nr).unwrap_or("unknown").into(),
                args,
                result: result as i64,
                path: SyscallPath::from_abi(path)?,
                cs,
            },
            KernelEvent::Tick {
                tick,
                charged,
                uncharged,
            } => GuestEvent::Tick {
                tick,
                unaccounted: match charged {
                    true => None,
                    false => Some(Unaccounted::from_abi(uncharged)?),
                },
            },
            KernelEvent::Switch { to, reason } => GuestEvent::Switch {
                to,
                reason: SwitchReason::from_abi(reason)?,
            },
            KernelEvent::ProcCreate {
                module,
                arrival,
                length,
                tickets,
            } => GuestEvent::ProcCreate {
                name: self.name(module),
                arrival_tick: arrival,
                length_ticks: length,
                tickets,
            },
            KernelEvent::Decision { tick, why } => GuestEvent::Decision { tick, why },
            KernelEvent::Level { tick, from, to } => GuestEvent::Level { tick, from, to },
            KernelEvent::Boost { tick } => GuestEvent::Boost { tick },
            KernelEvent::ProcFirstRun { tick } => GuestEvent::ProcFirstRun { tick },
            KernelEvent::ProcExit { code, tick } => GuestEvent::ProcExit {
                code: code as i64,
                tick,
            },
            KernelEvent::ProcKill {
                reason,
                vector,
                rip,
                error,
                addr,
                tick,
            } => GuestEvent::ProcKill {
                reason: KillReason::from_abi(reason)?,
                vector,
                vector_name: abi::vector_name(vector).into(),
                rip,
                error,
                addr,
                tick,
            },
            KernelEvent::Sleep { wake } => GuestEvent::Sleep { until_tick: wake },
            KernelEvent::Wake { tick } => GuestEvent::Wake { tick },
            KernelEvent::Idle { starts } => GuestEvent::Idle { start: starts },
            KernelEvent::ProcStats {
                cpu_ticks,
                arrival,
                first_run,
                end,
                wait_ticks,
                killed,
                code,
            } => GuestEvent::ProcStats {
                cpu_ticks,
                arrival_tick: arrival,
                first_run_tick: first_run,
                end_tick: end,
                wait_ticks,
                killed,
                code: code as i64,
            },
        })
    }
}

fn tail_offset() -> u64 {
    std::mem::offset_of!(RingHeader, tail) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::record::Why;
    use lde_abi::trace::kind;

    const RING: u64 = 0x10000;
    const SIZE: u64 = abi::HEADER_SIZE + 4 * abi::EVENT_SIZE;

    fn setup(ram: &GuestRam) {
        let h = RingHeader {
            magic: abi::RING_MAGIC,
            version: abi::RING_VERSION,
            event_size: abi::EVENT_SIZE as u32,
            capacity: 4,
            ..Default::default()
        };
        ram.write_pod(RING, &h).unwrap();
    }

    fn publish(ram: &GuestRam, i: u64, ev: Event) {
        ram.write_pod(RING + abi::HEADER_SIZE + (i % 4) * abi::EVENT_SIZE, &ev)
            .unwrap();
        ram.write_u64(RING + std::mem::offset_of!(RingHeader, head) as u64, i + 1)
            .unwrap();
    }

    #[test]
    fn drains_in_order_and_skips_garbage() {
        let ram = GuestRam::new(8 << 20).unwrap();
        setup(&ram);
        let mut r = RingReader::new(RING, SIZE, 1_000_000, vec!["hello".into()]);
        publish(
            &ram,
            0,
            Event {
                tsc: 1000,
                kind: kind::BOOT,
                args: [1_000_000, 10_000, 0, 1, 0, 0],
                ..Default::default()
            },
        );
        publish(
            &ram,
            1,
            Event {
                tsc: 2000,
                kind: 999,
                ..Default::default()
            },
        );
        publish(
            &ram,
            2,
            Event {
                tsc: 3000,
                kind: kind::PROC_CREATE,
                pid: 1,
                ..Default::default()
            },
        );
        let mut got = Vec::new();
        r.drain(&ram, 5_000, |e| got.push(e));
        assert_eq!(got.len(), 2);
        assert_eq!(r.bad, 1);
        assert_eq!(got[0].t_ns, 5_000);
        // 2000 TSC ticks at 1 GHz = 2000 ns after the sync point, clamped to now.
        assert_eq!(got[1].t_ns, 5_000);
        assert!(matches!(&got[1].event, GuestEvent::ProcCreate { name, .. } if name == "hello"));
        // The VMM handed the slots back.
        assert_eq!(ram.read_u64(RING + tail_offset()).unwrap(), 3);
    }

    #[test]
    fn events_of_unknown_pids_are_garbage() {
        let ram = GuestRam::new(8 << 20).unwrap();
        setup(&ram);
        let mut r = RingReader::new(RING, SIZE, 1_000_000, vec!["hello".into()]);
        let ev = |pid| Event {
            kind: kind::PROC_EXIT,
            pid,
            ..Default::default()
        };
        publish(&ram, 0, ev(1));
        publish(&ram, 1, ev(7));
        publish(&ram, 2, ev(u32::MAX));
        let mut n = 0;
        r.drain(&ram, 1, |_| n += 1);
        assert_eq!((n, r.bad), (1, 2));
    }

    #[test]
    fn a_decision_of_unknown_reason_is_garbage() {
        let ram = GuestRam::new(8 << 20).unwrap();
        setup(&ram);
        let mut r = RingReader::new(RING, SIZE, 1_000_000, vec!["hello".into()]);
        let ev = |why| Event {
            kind: kind::DECISION,
            pid: 1,
            args: [4, why, 7, 0, 0, 0],
            ..Default::default()
        };
        publish(&ram, 0, ev(abi::why::SHORTEST));
        publish(&ram, 1, ev(abi::why::STRIDE + 1));
        publish(&ram, 2, ev(u64::MAX));
        let mut got = Vec::new();
        r.drain(&ram, 1, |e| got.push(e.event));
        assert_eq!(r.bad, 2);
        assert_eq!(
            got,
            [GuestEvent::Decision {
                tick: 4,
                why: Why::Shortest { remaining: 7 }
            }]
        );
    }

    #[test]
    fn a_lying_head_is_counted_not_followed() {
        let ram = GuestRam::new(8 << 20).unwrap();
        setup(&ram);
        let mut r = RingReader::new(RING, SIZE, 1_000_000, vec![]);
        ram.write_u64(
            RING + std::mem::offset_of!(RingHeader, head) as u64,
            u64::MAX / 2,
        )
        .unwrap();
        let mut n = 0;
        r.drain(&ram, 1, |_| n += 1);
        assert_eq!(n, 0);
        assert_eq!(r.bad, 4);
    }

    #[test]
    fn a_bad_header_turns_the_ring_off() {
        let ram = GuestRam::new(8 << 20).unwrap();
        ram.write_u64(RING, 0xdead_beef).unwrap();
        let mut r = RingReader::new(RING, SIZE, 1_000_000, vec![]);
        r.drain(&ram, 1, |_| {});
        assert!(r.broken.is_some());
    }
}
