//! Traces: what `lde run --trace FILE` writes and `lde trace` reads.
//!
//! Writing a trace:
//! - `record`: the JSON Lines schema (one [`record::Record`] per line).
//! - `writer`: streams records to the file as the run goes.
//! - `ring`: drains the guest's event ring and puts its events on the host
//!   timeline.
//! - `run_figures`: a run's figures from its guest events (per process in
//!   OSTEP's terms, switches, ticks, system calls), live or from a file.
//! - `explain`: "what happened", from those figures.
//! - `ostep_table` (with `policy_columns`): OSTEP's per-process table, as
//!   both the end of `lde run` and `lde trace summary` print it.
//!
//! Reading one back (`lde trace ...`, dispatched by `inspect`):
//! - `reader`: streams records from a file, with errors naming the line.
//! - `names`, `runs`, `units`: process names, run intervals from context
//!   switches, and how times are written.
//! - `file_report` (`summary`), `show`, `timeline` (SVG) and `export`
//!   (Perfetto / Chrome trace-event JSON).

pub mod explain;
pub mod export;
pub mod file_report;
pub mod inspect;
pub mod names;
pub mod ostep_table;
pub mod policy_columns;
pub mod reader;
pub mod record;
pub mod ring;
pub mod run_figures;
pub mod runs;
pub mod show;
pub mod timeline;
pub mod units;
pub mod writer;

/// Version of the trace schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;
