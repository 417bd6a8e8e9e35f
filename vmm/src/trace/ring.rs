//! The VMM's side of the guest event ring (lde-abi `trace`).
//!
//! The ring is guest memory, so everything in it is untrusted: the header is
//! checked against what the VMM set up, a drain reads at most `capacity`
//! slots (a guest that marks every slot cannot keep the VMM reading), and an
//! event of unknown kind, or with values outside the contract, is counted and
//! skipped. Nothing here can make the VMM read outside the ring.
//!
//! Each slot publishes itself by its mark (lde-abi `trace`): the VMM reads
//! from `tail` on until a slot's mark is 0 (not written yet), clears the mark
//! of each slot it takes and then stores the new `tail`, which hands the
//! slots back to the kernel. Drains run on the vCPU's thread between two
//! `KVM_RUN`s, so the guest is not writing while the VMM reads; a slot the
//! vCPU left half written (an exit between its stores) has mark 0 still and
//! is read at a later drain.

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
        let before = self.tail;
        while self.tail - before < self.capacity {
            let slot =
                self.addr + abi::HEADER_SIZE + (self.tail & (self.capacity - 1)) * abi::EVENT_SIZE;
            let Ok(ev) = ram.read_pod::<Event>(slot) else {
                return self.break_ring(format!("unreadable ring slot at {slot:#x}"));
            };
            if Event::mark(ev.flags, ev.kind, ev.detail) == 0 {
                break; // not written yet
            }
            // Taken whatever it holds (garbage too is counted below), so
            // that no slot can stall the ring.
            self.take(ram, slot);
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
        if self.tail != before {
            // Tell the guest the slots are free again.
            let _ = ram.write_u64(self.addr + tail_offset(), self.tail);
        }
        self.last_drain_ns = now_ns;
    }

    /// Consume `slot` (the one at `tail`): clear its mark, so that it reads
    /// as empty until the kernel writes it again, and move on.
    fn take(&mut self, ram: &GuestRam, slot: u64) {
        let _ = ram.write(slot + abi::MARK_OFFSET, &0u32.to_le_bytes());
        self.tail += 1;
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
                args: args[..syscall::arity(nr)].to_vec(),
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

    fn slot(i: u64) -> u64 {
        RING + abi::HEADER_SIZE + (i % 4) * abi::EVENT_SIZE
    }

    /// Write event number `i` as the kernel does: its mark (in `ev`)
    /// publishes it.
    fn publish(ram: &GuestRam, i: u64, ev: Event) {
        ram.write_pod(slot(i), &ev).unwrap();
    }

    fn mark_of(ram: &GuestRam, i: u64) -> u64 {
        ram.read_u64(slot(i) + abi::MARK_OFFSET).unwrap() & 0xffff_ffff
    }

    fn exit(pid: u32, code: i64) -> Event {
        Event {
            kind: kind::PROC_EXIT,
            pid,
            args: [code as u64, 0, 0, 0, 0, 0],
            ..Default::default()
        }
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
                kind: 199,
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
    fn slots_publish_themselves_and_are_handed_back_cleared() {
        let ram = GuestRam::new(8 << 20).unwrap();
        setup(&ram);
        let mut r = RingReader::new(RING, SIZE, 1_000_000, vec!["a".into()]);
        let codes = |r: &mut RingReader| {
            let mut got = Vec::new();
            r.drain(&ram, 1, |e| match e.event {
                GuestEvent::ProcExit { code, .. } => got.push(code),
                other => panic!("{other:?}"),
            });
            got
        };
        publish(&ram, 0, exit(1, 10));
        publish(&ram, 1, exit(1, 11));
        // Slot 3 written before slot 2 is marked (it cannot be, but the
        // VMM must keep the order): nothing past the first empty slot.
        publish(&ram, 3, exit(1, 13));
        assert_eq!(codes(&mut r), [10, 11]);
        assert_eq!((mark_of(&ram, 0), mark_of(&ram, 1)), (0, 0), "cleared");
        assert_ne!(mark_of(&ram, 3), 0);
        assert_eq!(ram.read_u64(RING + tail_offset()).unwrap(), 2);
        assert_eq!(codes(&mut r), [0i64; 0], "nothing new");
        // Wrapping around: event 4 goes to slot 0 again.
        publish(&ram, 2, exit(1, 12));
        publish(&ram, 4, exit(1, 14));
        assert_eq!(codes(&mut r), [12, 13, 14]);
        assert_eq!(ram.read_u64(RING + tail_offset()).unwrap(), 5);
        assert_eq!((r.events, r.bad), (5, 0));
    }

    #[test]
    fn a_ring_of_garbage_is_counted_and_read_once_per_drain() {
        let ram = GuestRam::new(8 << 20).unwrap();
        setup(&ram);
        let mut r = RingReader::new(RING, SIZE, 1_000_000, vec!["a".into()]);
        // Every slot marked, none a real event: a mark without a kind, an
        // unknown kind, a trap with a flag that is not "from user", a
        // syscall with a path no one knows.
        let garbage = [
            Event {
                flags: 1,
                ..Default::default()
            },
            Event {
                kind: 200,
                ..Default::default()
            },
            Event {
                kind: kind::TRAP,
                flags: 9,
                ..Default::default()
            },
            Event {
                kind: kind::SYSCALL,
                flags: 7,
                detail: 39,
                ..Default::default()
            },
        ];
        for (i, ev) in garbage.into_iter().enumerate() {
            publish(&ram, i as u64, ev);
        }
        let mut n = 0;
        r.drain(&ram, 1, |_| n += 1);
        assert_eq!((n, r.bad, r.events), (0, 4, 0));
        assert!(r.broken.is_none(), "bad slots do not turn the ring off");
        // A guest that keeps marking slots gets one ring's worth per drain.
        for i in 4..8 {
            publish(&ram, i, exit(1, 0));
        }
        r.drain(&ram, 1, |_| n += 1);
        assert_eq!(n, 4);
        assert_eq!(ram.read_u64(RING + tail_offset()).unwrap(), 8);
    }

    #[test]
    fn dropped_events_are_the_kernels_count() {
        let ram = GuestRam::new(8 << 20).unwrap();
        setup(&ram);
        let mut r = RingReader::new(RING, SIZE, 1_000_000, vec![]);
        ram.write_u64(RING + std::mem::offset_of!(RingHeader, dropped) as u64, 17)
            .unwrap();
        r.drain(&ram, 1, |_| {});
        assert_eq!(r.dropped, 17);
    }

    #[test]
    fn a_syscall_shows_the_arguments_it_takes() {
        let ram = GuestRam::new(8 << 20).unwrap();
        setup(&ram);
        let mut r = RingReader::new(RING, SIZE, 1_000_000, vec!["a".into()]);
        let call = |nr: u64, regs: [u64; 3]| {
            let e = KernelEvent::Syscall {
                nr,
                args: regs,
                result: 0,
                path: syscall::path::UD,
                cs: 0x33,
            }
            .encode();
            // The words the call does not use hold older events' values.
            let mut args = [0x5a5a; 6];
            args[..e.len].copy_from_slice(&e.args[..e.len]);
            Event {
                flags: e.flags,
                kind: e.kind,
                detail: e.detail,
                pid: 1,
                args,
                ..Default::default()
            }
        };
        publish(&ram, 0, call(syscall::GETPID, [1, 2, 3]));
        publish(&ram, 1, call(syscall::EXIT, [4, 5, 6]));
        publish(&ram, 2, call(syscall::WRITE, [1, 0x1000, 5]));
        publish(&ram, 3, call(0x1_0000_0000, [7, 8, 9]));
        let mut got = Vec::new();
        r.drain(&ram, 1, |e| match e.event {
            GuestEvent::Syscall { nr, args, .. } => got.push((nr, args)),
            other => panic!("{other:?}"),
        });
        assert_eq!(
            got,
            [
                (syscall::GETPID, vec![]),
                (syscall::EXIT, vec![4]),
                (syscall::WRITE, vec![1, 0x1000, 5]),
                (0x1_0000_0000, vec![7, 8, 9]),
            ]
        );
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
