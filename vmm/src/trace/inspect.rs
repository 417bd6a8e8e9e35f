//! `lde trace ...`: read a trace file back.
//!
//! Reports go to stdout, warnings to stderr as `lde: warning: FILE: ...`.
//! A reader that stops early (`lde trace show ... | head`) is not an error.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::Result;

use super::export::export_file;
use super::reader::TraceReader;
use super::show::{show, ShowFilter};
use super::stats_table::TraceStats;
use super::timeline::draw_file;
use crate::cli::TraceCommand;

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
            eprintln!("lde: wrote {}", svg.display());
            Ok(())
        }
        TraceCommand::Export { file, perfetto } => {
            let counts = export_file(&file, &perfetto)?;
            if !counts.complete {
                warn(&file, NO_FOOTER);
            }
            eprintln!(
                "lde: wrote {}: {} runs, {} events; open it in ui.perfetto.dev",
                perfetto.display(),
                counts.slices,
                counts.instants
            );
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
    eprintln!("lde: warning: {}: {what}", file.display());
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}
