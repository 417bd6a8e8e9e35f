//! Traces: what `lde run --trace FILE` writes and `lde trace` reads.
//!
//! Writing a trace:
//! - `record`: the JSON Lines schema (one [`record::Record`] per line).
//! - `writer`: streams records to the file as the run goes.
//! - `ring`: drains the guest's event ring and puts its events on the host
//!   timeline.
//! - `processes`: per-process figures in OSTEP's terms.
//!
//! Reading one back (`lde trace ...`, dispatched by `inspect`):
//! - `reader`: streams records from a file, with errors naming the line.
//! - `names`, `runs`, `units`: process names, run intervals from context
//!   switches, and how times are written.
//! - `stats_table` (`summary`), `show`, `timeline` (SVG) and `export`
//!   (Perfetto / Chrome trace-event JSON).

pub mod export;
pub mod inspect;
pub mod names;
pub mod policy_columns;
pub mod processes;
pub mod reader;
pub mod record;
pub mod ring;
pub mod runs;
pub mod show;
pub mod stats_table;
pub mod timeline;
pub mod units;
pub mod writer;

/// Version of the trace schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;
