//! `lde trace ...` against the real binary: boot the guest kernel on
//! /dev/kvm with `--trace`, then read the trace back with every subcommand
//! and check that they agree with the file and with each other.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lde::trace::record::Record;

fn lde<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lde"))
        .args(args)
        .output()
        .expect("running lde")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Run `lde` and insist that it succeeds; returns stdout.
fn lde_ok<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    let out = lde(args);
    let argv: Vec<String> = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect();
    assert!(
        out.status.success(),
        "lde {argv:?}: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Files under the temp folder, removed at the end of the test.
struct TempFiles(Vec<PathBuf>);

impl TempFiles {
    fn new() -> TempFiles {
        TempFiles(Vec::new())
    }

    fn path(&mut self, name: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("lde-trace-tools-{}-{name}", std::process::id()));
        self.0.push(path.clone());
        path
    }
}

impl Drop for TempFiles {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn records(path: &Path) -> Vec<Record> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

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
fn boot_with_trace(trace: &Path) {
    lde_ok(&[
        "run".as_ref(),
        "--trace".as_ref(),
        trace.as_os_str(),
        "--".as_ref(),
        "exit=0".as_ref(),
    ]);
}

#[test]
fn every_subcommand_reads_a_real_run() {
    let mut tmp = TempFiles::new();
    let trace = tmp.path("run.jsonl");
    let svg = tmp.path("run.svg");
    let json = tmp.path("run.json");
    boot_with_trace(&trace);
    let recs = records(&trace);
    let exits = recs.iter().filter(|r| matches!(r, Record::Exit(_))).count() as u64;
    let processes = recs
        .iter()
        .filter(|r| matches!(r, Record::Process(_)))
        .count();
    assert!(exits > 0);

    let summary = lde_ok(&["trace".as_ref(), "summary".as_ref(), trace.as_os_str()]);
    // The figures computed from the records agree with the run's footer.
    let warnings = text(&lde(&["trace".as_ref(), "summary".as_ref(), trace.as_os_str()]).stderr);
    assert!(!warnings.contains("warning"), "{warnings}");
    assert_eq!(number_after(&summary, "VM exits reaching the VMM: "), exits);
    assert!(summary.contains("KVM counters"), "{summary}");
    assert!(summary.contains("exit=0"), "{summary}");

    let shown = lde_ok(&[
        "trace".as_ref(),
        "show".as_ref(),
        trace.as_os_str(),
        "--kind".as_ref(),
        "exit".as_ref(),
    ]);
    assert_eq!(shown.lines().count() as u64, exits);
    assert!(
        shown
            .lines()
            .all(|l| l.contains(" ms ") && l.contains(" vmm ")),
        "{shown}"
    );
    let all = lde_ok(&["trace".as_ref(), "show".as_ref(), trace.as_os_str()]);
    assert_eq!(all.lines().count(), recs.len());

    lde_ok(&[
        "trace".as_ref(),
        "timeline".as_ref(),
        trace.as_os_str(),
        "--svg".as_ref(),
        svg.as_os_str(),
    ]);
    let picture = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&picture).expect("well-formed SVG");
    let class = |c: &str| {
        doc.descendants()
            .filter(|n| n.attribute("class") == Some(c))
            .count()
    };
    assert_eq!(class("lane process"), processes);
    assert_eq!(class("lane vmm"), 1);
    assert!(class("exit") > 0);

    lde_ok(&[
        "trace".as_ref(),
        "export".as_ref(),
        trace.as_os_str(),
        "--perfetto".as_ref(),
        json.as_os_str(),
    ]);
    let exported: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let events = exported["traceEvents"].as_array().unwrap();
    let exit_instants = events
        .iter()
        .filter(|e| e["ph"] == "i" && e["cat"] == "exit")
        .count() as u64;
    assert_eq!(exit_instants, exits);
}

#[test]
fn run_draws_a_timeline_by_itself() {
    let mut tmp = TempFiles::new();
    let svg = tmp.path("direct.svg");
    let out = lde(&[
        "run".as_ref(),
        "--timeline".as_ref(),
        svg.as_os_str(),
        "--".as_ref(),
        "exit=0".as_ref(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let picture = std::fs::read_to_string(&svg).unwrap();
    roxmltree::Document::parse(&picture).expect("well-formed SVG");
    assert!(picture.contains("VMM exits"));
}

#[test]
fn a_trace_cut_short_is_summarised_with_a_warning() {
    let mut tmp = TempFiles::new();
    let trace = tmp.path("full.jsonl");
    let cut = tmp.path("cut.jsonl");
    boot_with_trace(&trace);
    let full = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = full.lines().collect();
    std::fs::write(&cut, lines[..lines.len() - 1].join("\n") + "\n").unwrap();
    let out = lde(&["trace".as_ref(), "summary".as_ref(), cut.as_os_str()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no footer: the trace is incomplete"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        number_after(&text(&out.stdout), "VM exits reaching the VMM: "),
        lines
            .iter()
            .filter(|l| l.contains("\"type\":\"exit\""))
            .count() as u64
    );
}

#[test]
fn garbage_is_bad_input_naming_the_line() {
    let mut tmp = TempFiles::new();
    let trace = tmp.path("garbage.jsonl");
    let header = r#"{"type":"header","schema":1,"lde_version":"0.1.0","host_kernel":"6.1","kvm":"vmx","cpu_model":"x","tsc_khz":1,"mem_bytes":67108864,"kernel":"embedded","kernel_cmdline":"","programs":[],"sched":"rr","quantum_us":10000,"cpu_limit_us":null,"timeout_ms":30000,"argv":["lde","run"],"started_unix_ms":0}"#;
    let exit = r#"{"type":"exit","t_ns":5,"vcpu":0,"handle_ns":1,"reason":"hlt"}"#;
    std::fs::write(
        &trace,
        format!("{header}\n{exit}\nthis is not json\n{exit}\n"),
    )
    .unwrap();
    let out_svg = tmp.path("garbage.svg");
    let out_json = tmp.path("garbage.json");
    let commands: [Vec<&std::ffi::OsStr>; 4] = [
        vec!["summary".as_ref()],
        vec!["show".as_ref()],
        vec![
            "timeline".as_ref(),
            trace.as_os_str(),
            "--svg".as_ref(),
            out_svg.as_os_str(),
        ],
        vec![
            "export".as_ref(),
            trace.as_os_str(),
            "--perfetto".as_ref(),
            out_json.as_os_str(),
        ],
    ];
    for mut args in commands {
        if args.len() == 1 {
            args.push(trace.as_os_str());
        }
        args.insert(0, "trace".as_ref());
        let out = lde(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let want = format!("{}:3: not a trace record", trace.display());
        assert!(stderr.contains(&want), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    assert!(!out_json.exists(), "a failed export leaves no file");
}
