//! What each scheduling policy adds to OSTEP's per-process table, shared by
//! the end-of-run summary and `lde trace summary`: every policy shows each
//! process's arrival and known length; lottery and stride its tickets and
//! how often it was chosen; MLFQ its level over time, on lines of their own.

use std::fmt::Write;

use super::record::{Policy, ProcessRecord};

fn shares(sched: Policy) -> Option<&'static str> {
    match sched {
        Policy::Lottery => Some("wins"),
        Policy::Stride => Some("turns"),
        _ => None,
    }
}

/// The extra column titles (they go after the name).
pub fn header(sched: Policy) -> String {
    let mut o = format!(" {:>7} {:>6}", "arrival", "length");
    if let Some(chosen) = shares(sched) {
        write!(o, " {:>7} {:>6}", "tickets", chosen).unwrap();
    }
    o
}

/// The extra cells of `p`.
pub fn cells(p: &ProcessRecord, sched: Policy) -> String {
    let length = match p.length_ticks {
        0 => "-".to_string(),
        n => n.to_string(),
    };
    let mut o = format!(" {:>7} {:>6}", p.arrival_tick, length);
    if shares(sched).is_some() {
        write!(o, " {:>7} {:>6}", p.tickets, p.chosen).unwrap();
    }
    o
}

/// MLFQ: one line per process, `level@tick` at arrival and at every change
/// (0 is the top level); nothing for other policies.
pub fn level_lines(records: &[ProcessRecord], sched: Policy) -> Vec<String> {
    if sched != Policy::Mlfq {
        return Vec::new();
    }
    let mut lines = vec!["MLFQ level over time (level@tick, 0 = top):".to_string()];
    for p in records {
        let mut line = format!("  {:>3} {:<14}", p.pid, p.name);
        for [tick, level] in &p.levels {
            write!(line, " {level}@{tick}").unwrap();
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lottery_shows_tickets_and_wins_mlfq_shows_levels() {
        let p = ProcessRecord {
            pid: 1,
            name: "spin".into(),
            arrival_tick: 3,
            length_ticks: 10,
            tickets: 75,
            chosen: 12,
            levels: vec![[3, 0], [13, 1]],
            ..Default::default()
        };
        assert!(header(Policy::Lottery).contains("wins"));
        assert!(cells(&p, Policy::Lottery).contains("75"));
        assert!(!cells(&p, Policy::Rr).contains("75"));
        let lines = level_lines(&[p], Policy::Mlfq);
        assert!(lines[1].ends_with("0@3 1@13"), "{lines:?}");
        assert!(level_lines(&[], Policy::Rr).is_empty());
    }
}
