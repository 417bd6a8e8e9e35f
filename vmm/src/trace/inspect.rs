//! `lde trace ...`: read a trace file back.

use anyhow::{anyhow, Result};

use crate::cli::TraceCommand;

pub fn run(_cmd: TraceCommand) -> Result<i32> {
    Err(anyhow!("lde trace is not implemented yet"))
}
