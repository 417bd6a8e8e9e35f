//! Processes as the VMM sees them through guest events: names, who is on
//! the CPU and for how long, and the final figures in OSTEP's terms.

use std::collections::BTreeMap;

use super::record::{
    EventRecord, GuestEvent, Policy, ProcessEnd, ProcessRecord, SwitchReason, SyscallPath,
};
use super::runs::RunTracker;

#[derive(Default, Debug, Clone)]
struct Proc {
    name: String,
    end: Option<ProcessEnd>,
    stats: Option<[u64; 5]>,
    /// From the lifecycle events, for a process that never reported its
    /// final figures (the run was cut short).
    arrival: u64,
    first_run: Option<u64>,
    ticks: u64,
    length: u64,
    tickets: u64,
    chosen: u64,
    /// MLFQ: `[tick, level]` at arrival and at each change.
    levels: Vec<[u64; 2]>,
}

#[derive(Default)]
pub struct RunFigures {
    procs: BTreeMap<u32, Proc>,
    tick_ns: u64,
    /// The process on the CPU and the host time it last entered the kernel
    /// or was switched to.
    running: Option<(u32, u64)>,
    /// Who is on the CPU since when, by switches, and the host time each
    /// pid (0 = idle) spent there between them.
    runs: RunTracker,
    pub on_cpu_ns: BTreeMap<u32, u64>,
    /// Kind and time of the last event the guest recorded.
    pub last_event: Option<(String, u32, u64)>,
    /// Counts for the end-of-run explanation.
    pub switches: BTreeMap<SwitchReason, u64>,
    pub ticks: u64,
    pub syscalls: u64,
    pub syscall_path: Option<SyscallPath>,
    pub sched: Option<Policy>,
    /// Scheduling decisions, MLFQ demotions and boosts.
    pub decisions: u64,
    pub demotions: u64,
    pub boosts: u64,
}

impl RunFigures {
    pub fn new(tick_ns: u64) -> Self {
        RunFigures {
            tick_ns,
            ..Default::default()
        }
    }

    pub fn observe(&mut self, ev: &EventRecord) {
        self.last_event = Some((ev.event.kind().to_string(), ev.pid, ev.t_ns));
        if let Some(run) = self.runs.observe(ev.t_ns, &ev.event) {
            self.add_on_cpu(run.pid, run.duration_ns());
        }
        match &ev.event {
            GuestEvent::ProcCreate {
                name,
                arrival_tick,
                length_ticks,
                tickets,
            } => {
                let mlfq = self.sched == Some(Policy::Mlfq);
                let p = self.procs.entry(ev.pid).or_default();
                p.name = name.clone();
                p.arrival = *arrival_tick;
                p.length = *length_ticks;
                p.tickets = *tickets;
                if mlfq {
                    p.levels.push([*arrival_tick, 0]);
                }
            }
            GuestEvent::Decision { .. } => {
                self.decisions += 1;
                self.procs.entry(ev.pid).or_default().chosen += 1;
            }
            GuestEvent::Level { tick, to, .. } => {
                self.demotions += 1;
                self.procs
                    .entry(ev.pid)
                    .or_default()
                    .levels
                    .push([*tick, *to]);
            }
            GuestEvent::Boost { tick } => {
                self.boosts += 1;
                for p in self.procs.values_mut() {
                    let below = p.levels.last().is_some_and(|l| l[1] != 0);
                    if p.end.is_none() && below {
                        p.levels.push([*tick, 0]);
                    }
                }
            }
            GuestEvent::ProcFirstRun { tick } => {
                self.procs.entry(ev.pid).or_default().first_run = Some(*tick);
            }
            GuestEvent::Switch { to, reason } => {
                self.running = (*to != 0).then_some((*to, ev.t_ns));
                *self.switches.entry(*reason).or_default() += 1;
            }
            GuestEvent::Syscall { path, .. } => {
                self.syscalls += 1;
                self.syscall_path.get_or_insert(*path);
                self.touch(ev);
            }
            GuestEvent::Tick { .. } => {
                self.ticks += 1;
                if let Some(p) = self.procs.get_mut(&ev.pid) {
                    p.ticks += 1;
                }
                self.touch(ev);
            }
            GuestEvent::Trap { .. } => self.touch(ev),
            GuestEvent::ProcExit { code, .. } => {
                self.procs.entry(ev.pid).or_default().end = Some(ProcessEnd::Exited(*code));
            }
            GuestEvent::ProcKill {
                reason,
                vector_name,
                ..
            } => {
                self.procs.entry(ev.pid).or_default().end = Some(ProcessEnd::Killed(
                    GuestEvent::kill_cause(*reason, vector_name),
                ));
            }
            GuestEvent::ProcStats {
                cpu_ticks,
                arrival_tick,
                first_run_tick,
                end_tick,
                wait_ticks,
                ..
            } => {
                self.procs.entry(ev.pid).or_default().stats = Some([
                    *cpu_ticks,
                    *arrival_tick,
                    *first_run_tick,
                    *end_tick,
                    *wait_ticks,
                ]);
            }
            GuestEvent::Boot {
                quantum_us, sched, ..
            } => {
                self.tick_ns = quantum_us.saturating_mul(1000);
                self.sched = Some(*sched);
            }
            _ => {}
        }
    }

    /// The run ended at `t_ns`: the time on the CPU of whoever holds it
    /// counts up to there.
    pub fn finish(&mut self, t_ns: u64) {
        if let Some(run) = self.runs.finish(t_ns) {
            self.add_on_cpu(run.pid, run.duration_ns());
        }
    }

    fn add_on_cpu(&mut self, pid: u32, ns: u64) {
        let total = self.on_cpu_ns.entry(pid).or_default();
        *total = total.saturating_add(ns);
    }

    /// The process entered the kernel: it is not holding the CPU silently.
    fn touch(&mut self, ev: &EventRecord) {
        if let Some((pid, _)) = self.running {
            if pid == ev.pid {
                self.running = Some((pid, ev.t_ns));
            }
        }
    }

    pub fn name(&self, pid: u32) -> String {
        self.procs
            .get(&pid)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| format!("pid{pid}"))
    }

    /// The process on the CPU and since when it has not entered the kernel
    /// (host ns), if the guest said so.
    pub fn running(&self) -> Option<(u32, String, u64)> {
        self.running.map(|(pid, t)| (pid, self.name(pid), t))
    }

    /// One record per process that reported final figures, or that exists
    /// without them (then `end` is `running`).
    pub fn records(&self) -> Vec<ProcessRecord> {
        self.procs
            .iter()
            .map(|(&pid, p)| {
                // Without final figures: what the events said so far (CPU =
                // ticks that hit it; no end).
                let [cpu, arrival, first, end, wait] = p.stats.unwrap_or([
                    p.ticks,
                    p.arrival,
                    p.first_run.unwrap_or(p.arrival),
                    p.arrival,
                    0,
                ]);
                ProcessRecord {
                    pid,
                    name: p.name.clone(),
                    end: p.end.clone().unwrap_or(ProcessEnd::Running),
                    cpu_ticks: cpu,
                    response_ticks: first.saturating_sub(arrival),
                    turnaround_ticks: end.saturating_sub(arrival),
                    wait_ticks: wait,
                    tick_ns: self.tick_ns,
                    arrival_tick: arrival,
                    first_run_tick: first,
                    end_tick: end,
                    length_ticks: p.length,
                    tickets: p.tickets,
                    chosen: p.chosen,
                    levels: p.levels.clone(),
                }
            })
            .collect()
    }
}

/// How a process ended, in words, in both reports' process tables.
pub fn end_text(end: &ProcessEnd) -> String {
    match end {
        ProcessEnd::Exited(code) => format!("exited {code}"),
        ProcessEnd::Killed(why) => format!("killed: {why}"),
        ProcessEnd::Running => "still running".into(),
    }
}

/// Mean response, turnaround, wait and cpu ticks of the processes that
/// ended (a process still running has no turnaround yet), for both reports.
pub fn averages(processes: &[ProcessRecord]) -> Option<[f64; 4]> {
    let ended: Vec<&ProcessRecord> = processes
        .iter()
        .filter(|p| p.end != ProcessEnd::Running)
        .collect();
    if ended.is_empty() {
        return None;
    }
    let n = ended.len() as f64;
    let mean = |f: fn(&ProcessRecord) -> u64| ended.iter().map(|p| f(p) as f64).sum::<f64>() / n;
    Some([
        mean(|p| p.response_ticks),
        mean(|p| p.turnaround_ticks),
        mean(|p| p.wait_ticks),
        mean(|p| p.cpu_ticks),
    ])
}
