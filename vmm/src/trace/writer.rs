//! Streams trace records to a JSON Lines file in bounded memory, so that
//! whatever ends the run, the file holds whole records up to a recent point.
//!
//! - Each record is serialised whole before it goes into the buffer, so the
//!   file only ever receives whole lines (a `kill -9` can at worst cut the
//!   very last write, which the readers skip with a warning).
//! - The buffer is flushed at every guest-ring drain that brought events and
//!   at least every [`FLUSH_EVERY`]: the vCPU thread writes, and the main
//!   thread, which wakes regularly anyway, flushes through a [`Flusher`]
//!   even while the guest runs without exits.
//! - `--trace-max` caps the file: past it exit and event records are
//!   counted but not written; the closing records (registers, processes,
//!   footer) are always written, and the footer says how many were not.
//! - Writing never stops the run: the first I/O error is kept and reported
//!   at the end, and later records are counted as lost.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::record::Record;
use crate::error::bad_input;

/// Longest a written record waits in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// The writer half, owned by the vCPU thread.
pub struct TraceWriter {
    path: PathBuf,
    sink: Arc<Mutex<Sink>>,
    /// The record being serialised (reused: no allocation per record).
    line: Vec<u8>,
}

/// The flushing half, for the thread that keeps time.
#[derive(Clone)]
pub struct Flusher(Arc<Mutex<Sink>>);

struct Sink {
    out: BufWriter<File>,
    /// Only regular files are synced at the end (`/dev/null` cannot be).
    regular: bool,
    last_flush: Instant,
    /// [`FLUSH_EVERY`], but a test may choose.
    flush_every: Duration,
    max_bytes: u64,
    bytes: u64,
    records: u64,
    not_written: u64,
    lost: u64,
    error: Option<io::Error>,
}

impl Sink {
    fn flush(&mut self) {
        if self.error.is_none() {
            if let Err(e) = self.out.flush() {
                self.error = Some(e);
            }
        }
        self.last_flush = Instant::now();
    }
}

fn lock(sink: &Mutex<Sink>) -> MutexGuard<'_, Sink> {
    // A panic elsewhere must not stop the trace from being finished.
    sink.lock().unwrap_or_else(|e| e.into_inner())
}

impl TraceWriter {
    /// Create (truncate) the file now, so a bad path fails before the VM
    /// starts. Exit and event records stop being written once the file
    /// would pass `max_bytes`.
    pub fn create(path: &Path, max_bytes: u64) -> Result<TraceWriter> {
        let file = File::create(path)
            .map_err(|e| bad_input(format!("cannot write trace file '{}': {e}", path.display())))?;
        let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        Ok(TraceWriter {
            path: path.to_path_buf(),
            sink: Arc::new(Mutex::new(Sink {
                out: BufWriter::with_capacity(256 * 1024, file),
                regular,
                last_flush: Instant::now(),
                flush_every: FLUSH_EVERY,
                max_bytes,
                bytes: 0,
                records: 0,
                not_written: 0,
                lost: 0,
                error: None,
            })),
            line: Vec::with_capacity(1024),
        })
    }

    /// A handle that flushes this writer from another thread.
    pub fn flusher(&self) -> Flusher {
        Flusher(self.sink.clone())
    }

    pub fn write(&mut self, record: &Record) {
        self.line.clear();
        let serialised = serde_json::to_writer(&mut self.line, record);
        self.line.push(b'\n');
        let capped = matches!(record, Record::Exit(_) | Record::Event(_));
        let mut sink = lock(&self.sink);
        if let Err(e) = serialised {
            sink.error.get_or_insert(io::Error::other(e));
        }
        if capped && sink.bytes + self.line.len() as u64 > sink.max_bytes {
            sink.not_written += 1;
            return;
        }
        if sink.error.is_some() {
            sink.lost += 1;
            return;
        }
        match sink.out.write_all(&self.line) {
            Ok(()) => {
                sink.records += 1;
                sink.bytes += self.line.len() as u64;
            }
            Err(e) => {
                sink.error = Some(e);
                sink.lost += 1;
            }
        }
        if sink.last_flush.elapsed() >= sink.flush_every {
            sink.flush();
        }
    }

    /// Push what is buffered to the file (after a guest-ring drain).
    pub fn flush(&mut self) {
        lock(&self.sink).flush();
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        lock(&self.sink).records
    }

    /// Exit and event records not written because of the size cap.
    pub fn not_written(&self) -> u64 {
        lock(&self.sink).not_written
    }

    /// Flush, sync a regular file, and report the first error, if any.
    pub fn finish(self) -> Result<u64> {
        let mut sink = lock(&self.sink);
        sink.flush();
        if sink.error.is_none() && sink.regular {
            if let Err(e) = sink.out.get_ref().sync_data() {
                sink.error = Some(e);
            }
        }
        match sink.error.take() {
            None => Ok(sink.records),
            Some(e) => Err(anyhow::anyhow!(
                "writing trace file '{}': {e} ({} records lost)",
                self.path.display(),
                sink.lost
            )),
        }
    }
}

impl Flusher {
    /// Flush if the oldest buffered record has waited [`FLUSH_EVERY`].
    /// Never waits: if the vCPU thread is writing (perhaps blocked on a
    /// slow file or a pipe), the caller, which keeps the watchdog, goes on.
    pub fn tick(&self) {
        let mut sink = match self.0.try_lock() {
            Ok(sink) => sink,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        if sink.last_flush.elapsed() >= sink.flush_every && !sink.out.buffer().is_empty() {
            sink.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::record::{ExitKind, ExitRecord};

    fn exit(t_ns: u64) -> Record {
        Record::Exit(ExitRecord {
            t_ns,
            vcpu: 0,
            handle_ns: 1,
            exit: ExitKind::Hlt,
        })
    }

    #[test]
    fn past_the_cap_exits_are_counted_not_written() {
        let path = std::env::temp_dir().join(format!("lde-cap-{}.jsonl", std::process::id()));
        let one = serde_json::to_string(&exit(0)).unwrap().len() as u64 + 1;
        let mut w = TraceWriter::create(&path, one * 10).unwrap();
        for t in 0..25 {
            w.write(&exit(t));
        }
        assert_eq!((w.records(), w.not_written()), (10, 15));
        assert_eq!(w.finish().unwrap(), 10);
        assert_eq!(std::fs::read(&path).unwrap().len() as u64, one * 10);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_character_device_is_a_fine_trace() {
        let mut w = TraceWriter::create(Path::new("/dev/null"), u64::MAX).unwrap();
        w.write(&exit(1));
        assert_eq!(w.finish().unwrap(), 1);
    }

    #[test]
    fn the_flusher_empties_the_buffer_once_it_is_due() {
        let path = std::env::temp_dir().join(format!("lde-flush-{}.jsonl", std::process::id()));
        let mut w = TraceWriter::create(&path, u64::MAX).unwrap();
        let f = w.flusher();
        let every = |d: Duration| lock(&f.0).flush_every = d;
        every(Duration::from_secs(3600));
        w.write(&exit(1));
        f.tick();
        assert_eq!(std::fs::read(&path).unwrap().len(), 0, "not due: buffered");
        every(Duration::ZERO);
        f.tick();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.ends_with("}\n") && text.lines().count() == 1,
            "flushed"
        );
        let _ = std::fs::remove_file(&path);
    }
}
