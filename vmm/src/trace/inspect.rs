//! `lde trace ...`: read a trace file back.
//!
//! Reports go to stdout, warnings to stderr as `lde: warning: FILE: ...`.
//! A reader that stops early (`lde trace show ... | head`) is not an error.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::Result;

use super::export::export_file;
use super::file_report::TraceStats;
use super::reader::TraceReader;
use super::show::{show, ShowFilter};
use super::timeline::draw_file;
use crate::cli::TraceCommand;
use crate::error::to_stderr;

pub fn run(cmd: TraceCommand) -> Result<i32> {
    match run_command(cmd) {
        Err(e) if is_broken_pipe(&e) => Ok(0),
        other => other.map(|()| 0),
    }
}

fn run_command(cmd: TraceCommand) -> Result<()> {
    match cmd {
        TraceCommand::Summary { file } => summary(&file),
        TraceCommand::Show {
            file,
            pid,
            kind,
            since,
            until,
        } => {
            let filter = ShowFilter::new(pid, kind, since, until)?;
            let mut reader = TraceReader::open(&file)?;
            let mut out = BufWriter::new(io::stdout().lock());
            show(&mut reader, &filter, &mut out)?;
            if !reader.complete() {
                warn(&file, NO_FOOTER);
            }
            Ok(())
        }
        TraceCommand::Timeline { file, svg } => {
            draw_file(&file, &svg)?;
            to_stderr(&format!("lde: wrote {}\n", svg.display()));
            Ok(())
        }
        TraceCommand::Export { file, perfetto } => {
            let counts = export_file(&file, &perfetto)?;
            if !counts.complete {
                warn(&file, NO_FOOTER);
            }
            to_stderr(&format!(
                "lde: wrote {}: {} runs, {} events; open it in ui.perfetto.dev\n",
                perfetto.display(),
                counts.slices,
                counts.instants
            ));
            Ok(())
        }
    }
}

const NO_FOOTER: &str = "no footer: the trace is incomplete";

fn summary(file: &Path) -> Result<()> {
    let stats = TraceStats::read(TraceReader::open(file)?)?;
    let mut out = io::stdout().lock();
    out.write_all(stats.render().as_bytes())?;
    out.flush()?;
    for w in stats.warnings() {
        warn(file, &w);
    }
    Ok(())
}

fn warn(file: &Path, what: &str) {
    to_stderr(&format!("lde: warning: {}: {what}\n", file.display()));
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::export::export;
    use crate::trace::reader::testing::*;
    use crate::trace::record::{ExitKind, GuestEvent, ProcessEnd, Record};
    use crate::trace::timeline::Timeline;

    /// Numbers at the edge of their types, as a damaged or hostile trace
    /// may hold: every command reads it without a panic (an overflow would
    /// be one in a debug build).
    #[test]
    fn extreme_values_do_not_panic() {
        let mut h = header(&[(1, "x")]);
        h.quantum_us = u64::MAX;
        h.started_unix_ms = u64::MAX;
        let max = u64::MAX;
        let records = vec![
            Record::Header(h),
            event(
                0,
                0,
                GuestEvent::Boot {
                    tsc_khz: max,
                    quantum_us: max,
                    sched: crate::trace::record::Policy::Rr,
                    timer: true,
                },
            ),
            event(
                0,
                1,
                GuestEvent::ProcCreate {
                    name: "x".into(),
                    arrival_tick: max,
                    length_ticks: 0,
                    tickets: 0,
                },
            ),
            switch(0, 0, 1, "start"),
            exit(max, max, ExitKind::Hlt),
            exit(max, max, ExitKind::Hlt),
            switch(max, 1, u32::MAX, "preempt"),
            switch(0, u32::MAX, 1, "preempt"),
            event(
                max,
                1,
                GuestEvent::ProcStats {
                    cpu_ticks: max,
                    arrival_tick: max,
                    first_run_tick: 0,
                    end_tick: max,
                    wait_ticks: max,
                    killed: false,
                    code: i64::MIN,
                },
            ),
            process(u32::MAX, "y", ProcessEnd::Exited(i64::MIN), [0, 0, 0, 0]),
        ];
        let path = write_trace("extreme.jsonl", &records);
        let stats = TraceStats::read(TraceReader::open(&path.0).unwrap()).unwrap();
        assert!(!stats.render().is_empty());
        let mut out = Vec::new();
        show(
            &mut TraceReader::open(&path.0).unwrap(),
            &ShowFilter::default(),
            &mut out,
        )
        .unwrap();
        let svg = Timeline::read(TraceReader::open(&path.0).unwrap())
            .unwrap()
            .svg();
        roxmltree::Document::parse(&svg).unwrap();
        let mut json = Vec::new();
        export(TraceReader::open(&path.0).unwrap(), &mut json).unwrap();
        serde_json::from_slice::<serde_json::Value>(&json).unwrap();
    }
}
