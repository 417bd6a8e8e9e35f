//! `lde trace ...` against the real binary: boot the guest kernel on
//! /dev/kvm with `--trace`, then read the trace back with every subcommand
//! and check that they agree with the file and with each other.

mod common;

use common::{lde, lde_ok, read_trace, TempFile};
use lde::trace::record::Record;

/// The number after `label` in `text`.
fn number_after(text: &str, label: &str) -> u64 {
    let start = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in\n{text}"))
        + label.len();
    text[start..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Boot the kernel alone (`lde run --trace TRACE -- exit=0`).
fn boot_with_trace(trace: &TempFile) {
    common::require_kvm();
    lde_ok(&["run", "--trace", trace.arg(), "--", "exit=0"]);
}

#[test]
fn every_subcommand_reads_a_real_run() {
    let trace = TempFile::new("run", "jsonl");
    let svg = TempFile::new("run", "svg");
    let json = TempFile::new("run", "json");
    boot_with_trace(&trace);
    let recs = read_trace(trace.path());
    let exits = recs.iter().filter(|r| matches!(r, Record::Exit(_))).count() as u64;
    let processes = recs
        .iter()
        .filter(|r| matches!(r, Record::Process(_)))
        .count();
    assert!(exits > 0);

    let summary = lde_ok(&["trace", "summary", trace.arg()]);
    // The figures computed from the records agree with the run's footer.
    let warnings = lde(&["trace", "summary", trace.arg()]).stderr;
    assert!(!warnings.contains("warning"), "{warnings}");
    assert_eq!(number_after(&summary, "VM exits reaching the VMM: "), exits);
    assert!(summary.contains("KVM counters"), "{summary}");
    assert!(summary.contains("exit=0"), "{summary}");

    let shown = lde_ok(&["trace", "show", trace.arg(), "--kind", "exit"]);
    assert_eq!(shown.lines().count() as u64, exits);
    assert!(
        shown
            .lines()
            .all(|l| l.contains(" ms ") && l.contains(" vmm ")),
        "{shown}"
    );
    let all = lde_ok(&["trace", "show", trace.arg()]);
    assert_eq!(all.lines().count(), recs.len());

    lde_ok(&["trace", "timeline", trace.arg(), "--svg", svg.arg()]);
    let picture = std::fs::read_to_string(svg.path()).unwrap();
    let doc = roxmltree::Document::parse(&picture).expect("well-formed SVG");
    let class = |c: &str| {
        doc.descendants()
            .filter(|n| n.attribute("class") == Some(c))
            .count()
    };
    assert_eq!(class("lane process"), processes);
    assert_eq!(class("lane vmm"), 1);
    assert!(class("exit") > 0);

    lde_ok(&["trace", "export", trace.arg(), "--perfetto", json.arg()]);
    let exported: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json.path()).unwrap()).unwrap();
    let events = exported["traceEvents"].as_array().unwrap();
    let exit_instants = events
        .iter()
        .filter(|e| e["ph"] == "i" && e["cat"] == "exit")
        .count() as u64;
    assert_eq!(exit_instants, exits);
}

#[test]
fn run_draws_a_timeline_by_itself() {
    let svg = TempFile::new("direct", "svg");
    let out = lde(&["run", "--timeline", svg.arg(), "--", "exit=0"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let picture = std::fs::read_to_string(svg.path()).unwrap();
    roxmltree::Document::parse(&picture).expect("well-formed SVG");
    assert!(picture.contains("VMM exits"));
}

#[test]
fn a_trace_cut_short_is_summarised_with_a_warning() {
    let trace = TempFile::new("full", "jsonl");
    let cut = TempFile::new("cut", "jsonl");
    boot_with_trace(&trace);
    let full = std::fs::read_to_string(trace.path()).unwrap();
    let lines: Vec<&str> = full.lines().collect();
    std::fs::write(cut.path(), lines[..lines.len() - 1].join("\n") + "\n").unwrap();
    let out = lde(&["trace", "summary", cut.arg()]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("no footer: the trace is incomplete"),
        "{}",
        out.stderr
    );
    assert_eq!(
        number_after(&out.stdout, "VM exits reaching the VMM: "),
        lines
            .iter()
            .filter(|l| l.contains("\"type\":\"exit\""))
            .count() as u64
    );
}

#[test]
fn garbage_is_bad_input_naming_the_line() {
    let trace = TempFile::new("garbage", "jsonl");
    let header = r#"{"type":"header","schema":1,"lde_version":"0.1.0","host_kernel":"6.1","kvm":"vmx","cpu_model":"x","tsc_khz":1,"mem_bytes":67108864,"kernel":"embedded","kernel_cmdline":"","programs":[],"sched":"rr","quantum_us":10000,"cpu_limit_us":null,"timeout_ms":30000,"argv":["lde","run"],"started_unix_ms":0}"#;
    let exit = r#"{"type":"exit","t_ns":5,"vcpu":0,"handle_ns":1,"reason":"hlt"}"#;
    std::fs::write(
        trace.path(),
        format!("{header}\n{exit}\nthis is not json\n{exit}\n"),
    )
    .unwrap();
    let out_svg = TempFile::new("garbage", "svg");
    let out_json = TempFile::new("garbage", "json");
    let commands: [Vec<&str>; 4] = [
        vec!["summary"],
        vec!["show"],
        vec!["timeline", trace.arg(), "--svg", out_svg.arg()],
        vec!["export", trace.arg(), "--perfetto", out_json.arg()],
    ];
    for mut args in commands {
        if args.len() == 1 {
            args.push(trace.arg());
        }
        args.insert(0, "trace");
        let out = lde(&args);
        let stderr = out.stderr;
        assert_eq!(out.status, 2, "{args:?}: {stderr}");
        let want = format!("{}:3: not a trace record", trace.path().display());
        assert!(stderr.contains(&want), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    assert!(!out_json.path().exists(), "a failed export leaves no file");
}

/// The "what happened" lines under `title` in `text`.
fn explanation<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| *l != title)
        .skip(1)
        .map_while(|l| l.strip_prefix("  - "))
        .collect()
}

#[test]
fn trace_summary_explains_the_run_as_the_run_did() {
    common::require_kvm();
    let trace = TempFile::new("explain", "jsonl");
    let run = lde(&["run", "--trace", trace.arg(), "-p", "hello", "-p", "spin"]);
    assert_eq!(run.status, 0, "{}", run.describe());
    let live = explanation(&run.stderr, "what happened:");
    assert!(live.len() >= 2, "{}", run.describe());
    let summary = lde_ok(&["trace", "summary", trace.arg()]);
    assert_eq!(explanation(&summary, "What happened:"), live, "{summary}");
}

/// The lines of OSTEP's process table in a report: from its title to the
/// first line that is not indented.
fn process_table(text: &str) -> Vec<&str> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("processes ("));
    let title = lines.next().into_iter();
    title
        .chain(lines.take_while(|l| l.starts_with("  ")))
        .collect()
}

#[test]
fn trace_summary_prints_the_process_table_the_run_printed() {
    common::require_kvm();
    let trace = TempFile::new("table", "jsonl");
    let run = lde(&[
        "run",
        "--trace",
        trace.arg(),
        "-p",
        "hello",
        "-p",
        "spin:3",
        "-p",
        "hog",
    ]);
    assert_eq!(run.status, 0, "{}", run.describe());
    let live = process_table(&run.stderr);
    // Title, column titles, one row per process, the averages.
    assert_eq!(live.len(), 6, "{}", run.describe());
    for col in ["cpu", "response", "turnaround", "wait", "on-cpu", "end"] {
        assert!(live[1].contains(col), "{col}: {}", live[1]);
    }
    assert!(live[4].contains("killed: last-hog"), "{}", live[4]);
    let summary = lde_ok(&["trace", "summary", trace.arg()]);
    assert_eq!(process_table(&summary), live, "{summary}");
}
