//! Traces: what `lde run --trace FILE` writes and `lde trace` reads.
//!
//! - `record`: the JSON Lines schema (one [`record::Record`] per line).
//! - `writer`: streams records to the file as the run goes.
//! - `ring`: drains the guest's event ring and puts its events on the host
//!   timeline.
//! - `processes`: per-process figures in OSTEP's terms.

pub mod inspect;
pub mod processes;
pub mod record;
pub mod ring;
pub mod timeline;
pub mod writer;

/// Version of the trace schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;
