//! `lde trace timeline`: an SVG picture of a run.

use std::path::Path;

use anyhow::{anyhow, Result};

/// Draw the trace at `trace` as an SVG into `svg`.
pub fn draw_file(_trace: &Path, _svg: &Path) -> Result<()> {
    Err(anyhow!("timeline drawing is not implemented yet"))
}
