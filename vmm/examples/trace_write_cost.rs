//! What recording one exit in a trace file costs the VMM, measured on the
//! host alone: `TraceWriter::write` of N `io_out` exit records like the ones
//! `lde run --trace` writes for each `out` of the guest (serialised to JSON
//! and buffered; the buffer's `write(2)`s are included, the final flush and
//! sync are not). A baseline for scripts/bench_exec.py, which measures the
//! same cost from the guest's side (`exitbench` with and without --trace).
//!
//! Usage: `trace_write_cost [N]` (default 200000). Prints
//! `trace_write_cost: records=N ns_per_record=X`.

use std::process::ExitCode;
use std::time::Instant;

use lde::trace::record::{ExitKind, ExitRecord, Record};
use lde::trace::writer::TraceWriter;

fn main() -> ExitCode {
    let n: u64 = match std::env::args().nth(1).map(|s| s.parse()) {
        None => 200_000,
        Some(Ok(n)) if n > 0 => n,
        _ => {
            eprintln!("usage: trace_write_cost [N]   (N > 0 records, default 200000)");
            return ExitCode::from(2);
        }
    };
    let path =
        std::env::temp_dir().join(format!("lde-trace-write-cost-{}.jsonl", std::process::id()));
    let mut w = match TraceWriter::create(&path, u64::MAX) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("trace_write_cost: {e}");
            return ExitCode::from(1);
        }
    };
    let start = Instant::now();
    for i in 0..n {
        w.write(&Record::Exit(ExitRecord {
            t_ns: 1_000_000 + i * 11_000,
            vcpu: 0,
            handle_ns: 150 + i % 100,
            exit: ExitKind::IoOut {
                port: lde_abi::ports::NULL_PORT,
                size: 1,
                count: 1,
                value: 0,
            },
        }));
    }
    let elapsed = start.elapsed();
    let result = w.finish();
    let _ = std::fs::remove_file(&path);
    if let Err(e) = result {
        eprintln!("trace_write_cost: {e}");
        return ExitCode::from(1);
    }
    println!(
        "trace_write_cost: records={n} ns_per_record={:.1}",
        elapsed.as_nanos() as f64 / n as f64
    );
    ExitCode::SUCCESS
}
