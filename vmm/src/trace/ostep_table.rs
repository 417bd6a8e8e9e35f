//! OSTEP's per-process table, one layout for both reports: the end of
//! `lde run` and `lde trace summary`. Each row is a process's figures in
//! the chapter's terms (response, turnaround, wait) in timer ticks and
//! milliseconds, what its policy adds ([`super::policy_columns`]), and the
//! host time it spent on the CPU between context switches; then the
//! averages over the processes that ended.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::policy_columns;
use super::record::{Header, ProcessEnd, ProcessRecord};
use super::run_figures::{averages, end_text};
use super::units::ms;
use crate::plausible;

/// What the table is drawn from.
pub struct OstepTable<'a> {
    /// The run's header: policy, tick length, each program's arguments.
    pub header: &'a Header,
    pub processes: &'a [ProcessRecord],
    /// Host time on the CPU per pid, measured between switches
    /// ([`super::run_figures::RunFigures::on_cpu_ns`]).
    pub on_cpu_ns: &'a BTreeMap<u32, u64>,
    /// The run's wall time, when known, to mark CPU counts that cannot be
    /// true.
    pub wall_ns: Option<u64>,
    /// The figures come from guest events, not from the kernel's final
    /// per-process records (a trace cut short).
    pub from_events: bool,
}

/// Widths of the name and of a "ticks (ms)" cell.
const NAME: usize = 14;
const CELL: usize = 13;

impl OstepTable<'_> {
    pub fn render(&self) -> String {
        let mut o = String::new();
        if self.processes.is_empty() {
            return o;
        }
        let tick_ns = self.header.quantum_us.saturating_mul(1000);
        let tick_ms = tick_ns as f64 / 1e6;
        writeln!(
            o,
            "processes (sched {}; times in ticks of {} ms, ms in brackets; on-cpu: host time between switches{}):",
            self.header.sched,
            number(tick_ms),
            if self.from_events {
                "; from guest events, the trace has no process records"
            } else {
                ""
            }
        )
        .unwrap();
        let sched = self.header.sched;
        writeln!(
            o,
            "  {:>3} {:<NAME$}{} {:>CELL$} {:>CELL$} {:>CELL$} {:>CELL$} {:>11}  end",
            "pid",
            "name",
            policy_columns::header(sched),
            "cpu",
            "response",
            "turnaround",
            "wait",
            "on-cpu",
        )
        .unwrap();
        let cell = |ticks: f64| format!("{} ({} ms)", number(ticks), number(ticks * tick_ms));
        for p in self.processes {
            let done = p.end != ProcessEnd::Running;
            // A process cut off by the end of the run has no turnaround yet.
            let open = |t: u64| if done { cell(t as f64) } else { "-".into() };
            let on_cpu = self
                .on_cpu_ns
                .get(&p.pid)
                .map(|&ns| format!("{} ms", ms(ns)))
                .unwrap_or_else(|| "-".into());
            writeln!(
                o,
                "  {:>3} {:<NAME$}{} {:>CELL$} {:>CELL$} {:>CELL$} {:>CELL$} {:>11}  {}",
                p.pid,
                self.label(p),
                policy_columns::cells(p, sched),
                cell(p.cpu_ticks as f64),
                cell(p.response_ticks as f64),
                open(p.turnaround_ticks),
                open(p.wait_ticks),
                on_cpu,
                end_text(&p.end)
            )
            .unwrap();
        }
        if let Some([response, turnaround, wait, cpu]) = averages(self.processes) {
            let running = self
                .processes
                .iter()
                .filter(|p| p.end == ProcessEnd::Running)
                .count();
            let ended = self.processes.len() - running;
            write!(
                o,
                "  average over the {ended} that ended: cpu {cpu:.1}, response {response:.1}, turnaround {turnaround:.1}, wait {wait:.1} ticks",
            )
            .unwrap();
            if running > 0 {
                write!(o, " ({running} still running left out)").unwrap();
            }
            o.push('\n');
        }
        if let Some(wall_ns) = self.wall_ns {
            for p in self.processes {
                let mark = plausible::cpu_ticks_mark(p.pid, p.cpu_ticks, wall_ns, tick_ns);
                if !mark.is_empty() {
                    writeln!(o, "  ! {mark}").unwrap();
                }
            }
        }
        for line in policy_columns::level_lines(self.processes, sched) {
            writeln!(o, "{line}").unwrap();
        }
        o
    }

    /// The program and its arguments as given (two workers differ only
    /// there), cut to the column.
    fn label(&self, p: &ProcessRecord) -> String {
        let args = self
            .header
            .programs
            .iter()
            .find(|h| h.pid == p.pid)
            .map(|h| h.args.join(" "))
            .unwrap_or_default();
        format!("{} {args}", p.name)
            .trim()
            .chars()
            .take(NAME)
            .collect()
    }
}

/// Up to three decimals, without trailing zeros: `10`, `0.5`, `27.667`.
fn number(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::reader::testing::header;
    use crate::trace::record::{KillCause, Policy};

    fn record(pid: u32, name: &str, end: ProcessEnd, figures: [u64; 4]) -> ProcessRecord {
        let [cpu_ticks, response_ticks, turnaround_ticks, wait_ticks] = figures;
        ProcessRecord {
            pid,
            name: name.into(),
            end,
            cpu_ticks,
            response_ticks,
            turnaround_ticks,
            wait_ticks,
            tick_ns: 10_000_000,
            ..Default::default()
        }
    }

    #[test]
    fn one_row_per_process_with_units_and_the_averages_of_those_that_ended() {
        let mut h = header(&[]);
        h.quantum_us = 10_000;
        h.sched = Policy::Lottery;
        let processes = [
            record(1, "worker", ProcessEnd::Exited(0), [10, 0, 31, 21]),
            record(
                2,
                "hog",
                ProcessEnd::Killed(KillCause::LastHog),
                [50, 2, 71, 20],
            ),
            record(3, "spin", ProcessEnd::Running, [4, 3, 9, 5]),
        ];
        let on_cpu = BTreeMap::from([(1, 98_123_456), (2, 512_000_000)]);
        let text = OstepTable {
            header: &h,
            processes: &processes,
            on_cpu_ns: &on_cpu,
            wall_ns: Some(100_000_000),
            from_events: false,
        }
        .render();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("processes (sched lottery; times in ticks of 10 ms"));
        for col in [
            "pid",
            "name",
            "arrival",
            "length",
            "tickets",
            "wins",
            "cpu",
            "response",
            "turnaround",
            "wait",
            "on-cpu",
            "end",
        ] {
            assert!(lines[1].contains(col), "{col}: {}", lines[1]);
        }
        let cells = |line: &str| {
            line.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let row = cells(lines[2]);
        assert!(row.contains(&"10 (100 ms)".to_string()), "{row:?}");
        assert!(row.contains(&"31 (310 ms)".to_string()), "{row:?}");
        assert!(row.contains(&"21 (210 ms)".to_string()), "{row:?}");
        assert!(row.contains(&"98.123 ms".to_string()), "{row:?}");
        assert!(lines[2].ends_with("exited 0"), "{}", lines[2]);
        assert!(lines[3].ends_with("killed: last-hog"), "{}", lines[3]);
        // Still running: no turnaround or wait yet, no time on the CPU seen.
        let row = cells(lines[4]);
        assert_eq!(
            row[5..],
            ["4 (40 ms)", "3 (30 ms)", "-", "-", "-", "still running"]
        );
        assert!(lines[4].ends_with("still running"), "{}", lines[4]);
        assert_eq!(
            lines[5],
            "  average over the 2 that ended: cpu 30.0, response 1.0, turnaround 51.0, wait 20.5 ticks (1 still running left out)"
        );
        // 50 ticks of 10 ms do not fit in 100 ms.
        assert!(
            lines[6].contains("pid 2: 50 CPU ticks cannot be true"),
            "{text}"
        );
        assert_eq!(lines.len(), 7, "{text}");
    }

    #[test]
    fn names_carry_their_arguments_cut_to_the_column() {
        let mut h = header(&[(1, "worker")]);
        h.programs[0].args = vec!["A".into(), "5".into()];
        let p = [record(1, "worker", ProcessEnd::Exited(0), [1, 0, 1, 0])];
        let table = OstepTable {
            header: &h,
            processes: &p,
            on_cpu_ns: &BTreeMap::new(),
            wall_ns: None,
            from_events: true,
        };
        assert_eq!(table.label(&p[0]), "worker A 5");
        let mut long = p[0].clone();
        long.pid = 2;
        long.name = "a-very-long-program-name".into();
        assert_eq!(table.label(&long).chars().count(), NAME);
        assert!(table.render().contains("from guest events"));
        assert_eq!(
            OstepTable {
                processes: &[],
                ..table
            }
            .render(),
            ""
        );
    }

    #[test]
    fn numbers_keep_what_matters() {
        assert_eq!(number(10.0), "10");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(27.0 / 3.0 * 2.5), "22.5");
        assert_eq!(number(1.0 / 3.0), "0.333");
    }
}
