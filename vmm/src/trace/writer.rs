//! Streams trace records to a JSON Lines file in bounded memory.
//!
//! Writing never stops the run: the first I/O error is kept and reported at
//! the end, and later records are counted as lost.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::record::Record;
use crate::error::bad_input;

pub struct TraceWriter {
    path: PathBuf,
    out: BufWriter<File>,
    records: u64,
    lost: u64,
    error: Option<io::Error>,
}

impl TraceWriter {
    /// Create (truncate) the file now, so a bad path fails before the VM
    /// starts.
    pub fn create(path: &Path) -> Result<TraceWriter> {
        let file = File::create(path)
            .map_err(|e| bad_input(format!("cannot write trace file '{}': {e}", path.display())))?;
        Ok(TraceWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(256 * 1024, file),
            records: 0,
            lost: 0,
            error: None,
        })
    }

    pub fn write(&mut self, record: &Record) {
        if self.error.is_some() {
            self.lost += 1;
            return;
        }
        let res = serde_json::to_writer(&mut self.out, record)
            .map_err(io::Error::other)
            .and_then(|_| self.out.write_all(b"\n"));
        match res {
            Ok(()) => self.records += 1,
            Err(e) => {
                self.error = Some(e);
                self.lost += 1;
            }
        }
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Flush and report the first error, if any.
    pub fn finish(mut self) -> Result<u64> {
        if self.error.is_none() {
            if let Err(e) = self
                .out
                .flush()
                .and_then(|_| self.out.get_ref().sync_data())
            {
                self.error = Some(e);
            }
        }
        match self.error {
            None => Ok(self.records),
            Some(e) => Err(anyhow::anyhow!(
                "writing trace file '{}': {e} ({} records lost)",
                self.path.display(),
                self.lost
            )),
        }
    }
}
