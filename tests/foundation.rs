//! Foundation tests: `lde run` boots the Rust guest kernel under KVM, passes
//! its exit status through, logs every exit, and refuses bad input with one
//! clear line.
//!
//! These tests drive the built `lde` binary and boot real virtual machines on
//! /dev/kvm. They never skip: on a host without a usable /dev/kvm every test
//! that needs one fails and says why.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{
    assert_bad_input, footer, lde, lde_with_env, read_trace, require_kvm, Run, TempFile, LDE,
};
use lde::host::Kvm;
use lde::trace::record::{ExitRecord, Record, RunEnd};
use lde_abi::exit::status;

/// Run a VM (after checking that KVM is there).
fn boot(args: &[&str]) -> Run {
    require_kvm();
    lde(args)
}

fn exit_records(records: &[Record]) -> Vec<&ExitRecord> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Exit(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// The summary lde prints on stderr: the total after "exits reaching the
/// VMM:" and the table of reason -> count below it.
fn summary_counts(stderr: &str) -> (u64, BTreeMap<String, u64>) {
    let mut lines = stderr.lines();
    let total = lines
        .by_ref()
        .find_map(|l| l.strip_prefix("exits reaching the VMM: "))
        .unwrap_or_else(|| panic!("no 'exits reaching the VMM' line in stderr:\n{stderr}"));
    let total: u64 = total.trim().parse().expect("the exit total is a number");
    let head = lines.next().expect("a table header after the exit total");
    assert_eq!(
        head.split_whitespace().collect::<Vec<_>>(),
        ["reason", "count", "total", "mean"],
        "unexpected summary table header"
    );
    let mut table = BTreeMap::new();
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        if !line.starts_with("  ") || words.len() < 2 {
            break;
        }
        let Ok(count) = words[1].parse::<u64>() else {
            break;
        };
        assert!(
            table.insert(words[0].to_string(), count).is_none(),
            "reason {} twice in the summary",
            words[0]
        );
    }
    (total, table)
}

// ---------------------------------------------------------------------------
// Booting and exit statuses
// ---------------------------------------------------------------------------

#[test]
fn kvm_is_usable() {
    require_kvm();
}

#[test]
fn kernel_prints_its_banner_on_the_console() {
    let run = boot(&["run", "--", "exit=0"]);
    assert_eq!(run.status, 0, "{}", run.describe());
    assert!(
        run.stdout.contains("lde kernel"),
        "no banner on stdout\n{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("hypervisor:"),
        "no hypervisor line on stdout\n{}",
        run.describe()
    );
}

#[test]
fn guest_exit_status_zero_is_lde_status() {
    let run = boot(&["run", "--", "exit=0"]);
    assert_eq!(run.status, 0, "{}", run.describe());
    assert!(
        run.stderr.contains("guest exited with status 0"),
        "{}",
        run.describe()
    );
}

#[test]
fn guest_exit_status_seven_is_lde_status() {
    let run = boot(&["run", "--", "exit=7"]);
    assert_eq!(run.status, 7, "{}", run.describe());
    assert!(
        run.stderr.contains("guest exited with status 7"),
        "{}",
        run.describe()
    );
}

#[test]
fn unknown_kernel_argument_is_refused_by_the_kernel() {
    let run = boot(&["run", "--", "bogus"]);
    assert_eq!(run.status, status::BAD_INPUT, "{}", run.describe());
    assert!(
        run.stdout.contains("unknown kernel argument 'bogus'"),
        "the kernel should name the argument\n{}",
        run.describe()
    );
}

// ---------------------------------------------------------------------------
// The trace
// ---------------------------------------------------------------------------

#[test]
fn trace_has_header_exits_footer_and_counts_agree_with_the_summary() {
    let trace = TempFile::new("exit7", "jsonl");
    let run = boot(&["run", "--trace", trace.arg(), "--", "exit=7"]);
    assert_eq!(run.status, 7, "{}", run.describe());

    let records = read_trace(trace.path());
    let Some(Record::Header(header)) = records.first() else {
        panic!("the first record is not the header: {:?}", records.first());
    };
    assert_eq!(header.schema, lde::trace::SCHEMA_VERSION);
    assert_eq!(header.kernel_cmdline, "exit=7");
    assert_eq!(header.kernel, "embedded");
    assert_eq!(
        records
            .iter()
            .filter(|r| matches!(r, Record::Header(_)))
            .count(),
        1,
        "more than one header"
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| matches!(r, Record::Footer(_)))
            .count(),
        1,
        "more than one footer"
    );

    let footer = footer(&records);
    assert_eq!(footer.end, RunEnd::Exit);
    assert_eq!(footer.status, 7);
    assert_eq!(
        footer.records,
        records.len() as u64 - 1,
        "footer.records counts the records before it"
    );

    // The exit records, by reason.
    let exits = exit_records(&records);
    assert!(!exits.is_empty(), "no exit records");
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for e in &exits {
        *by_reason.entry(e.exit.reason().to_string()).or_default() += 1;
    }
    // The guest's last act is the `out` to the exit device.
    let last = exits.last().unwrap();
    assert_eq!(
        last.exit,
        lde::trace::record::ExitKind::IoOut {
            port: lde_abi::ports::EXIT,
            size: 4,
            count: 1,
            value: lde_abi::exit::encode(lde_abi::exit::KIND_EXIT, 7) as u64,
        }
    );
    // Exit times never go backwards.
    assert!(
        exits.windows(2).all(|w| w[0].t_ns <= w[1].t_ns),
        "exit records out of time order"
    );

    // Footer = exit records.
    assert_eq!(footer.exits, exits.len() as u64);
    let footer_counts: BTreeMap<String, u64> = footer
        .exits_by_reason
        .iter()
        .map(|(k, v)| (k.clone(), v.count))
        .collect();
    assert_eq!(
        footer_counts, by_reason,
        "footer counts differ from the exit records"
    );

    // Footer = the summary printed on stderr.
    let (total, table) = summary_counts(&run.stderr);
    assert_eq!(
        total, footer.exits,
        "summary total differs from the footer\n{}",
        run.stderr
    );
    assert_eq!(
        table, footer_counts,
        "summary table differs from the footer\n{}",
        run.stderr
    );
}

#[test]
fn trace_of_a_triple_fault_has_a_register_dump() {
    let trace = TempFile::new("triple", "jsonl");
    let run = boot(&["run", "--trace", trace.arg(), "--", "crash=triple"]);
    assert_eq!(run.status, status::TRIPLE_FAULT, "{}", run.describe());
    assert!(run.stderr.contains("triple-faulted"), "{}", run.describe());
    assert!(
        run.stderr.contains("rip="),
        "no register dump on stderr\n{}",
        run.describe()
    );

    let records = read_trace(trace.path());
    let dump = records
        .iter()
        .find_map(|r| match r {
            Record::Registers(d) => Some(d),
            _ => None,
        })
        .expect("no registers record in the trace");
    let (rip, cs, idt_limit) = (dump.regs["rip"], dump.sregs["cs"], dump.sregs["idt_limit"]);
    match lde::host::kvm_flavour() {
        // KVM on AMD INITs the vCPU before KVM_EXIT_SHUTDOWN: the registers
        // are the reset state, and lde must say so rather than show them
        // as the fault; what is left is what the guest recorded last (here
        // its boot event: crash=triple records nothing after it).
        Kvm::Svm => {
            assert!(dump.reset, "reset state not recognised: {dump:?}");
            assert_eq!((rip, cs), (0xfff0, 0xf000), "{dump:?}");
            for text in [
                "the faulting registers cannot be had",
                "the registers below are the reset state",
                "the guest last recorded boot at",
                "registers (the vCPU's reset state, not the fault's):",
            ] {
                assert!(run.stderr.contains(text), "no {text:?}\n{}", run.describe());
            }
            assert!(!run.stderr.contains("(RIP 0xfff0"), "{}", run.describe());
        }
        // PVM (and VMX, untested here) report the state at the fault: the
        // kernel's `ud2` in long mode, ring 0, with the empty IDT that made
        // the #UD a triple fault.
        Kvm::Pvm | Kvm::Vmx => {
            assert!(!dump.reset, "{dump:?}");
            assert!(
                rip >= 0xffff_ffff_8010_0000,
                "RIP {rip:#x} is not in the kernel"
            );
            assert_eq!((cs, dump.sregs["cpl"], idt_limit), (0x10, 0, 0), "{dump:?}");
            assert_eq!(
                dump.sregs["efer"] & (1 << 10),
                1 << 10,
                "long mode: {dump:?}"
            );
            assert!(
                run.stderr.contains(&format!("(RIP {rip:#x}, kernel mode)")),
                "{}",
                run.describe()
            );
        }
        other => panic!("lde cannot tell which KVM serves /dev/kvm ({other})"),
    }
    let footer = footer(&records);
    assert_eq!(footer.end, RunEnd::TripleFault);
    assert_eq!(footer.status, status::TRIPLE_FAULT);
    let exits = exit_records(&records);
    assert_eq!(
        exits.last().map(|e| e.exit.reason()),
        Some("shutdown"),
        "the last exit of a triple fault is KVM_EXIT_SHUTDOWN"
    );
}

// ---------------------------------------------------------------------------
// Crashes and the watchdog
// ---------------------------------------------------------------------------

#[test]
fn kernel_panic_is_status_103() {
    let run = boot(&["run", "--", "crash=panic"]);
    assert_eq!(run.status, status::KERNEL_PANIC, "{}", run.describe());
    assert!(run.stdout.contains("KERNEL PANIC"), "{}", run.describe());
    assert!(
        run.stderr.contains("guest kernel panicked"),
        "{}",
        run.describe()
    );
}

#[test]
fn watchdog_stops_a_spinning_guest() {
    // The guest spins in kernel mode with interrupts off: it never exits on
    // its own, so only the watchdog's kick can end this run. How long after
    // the deadline the kick lands depends on the host's speed and load, so
    // what is checked is where the guest was stopped, and not before time.
    let run = boot(&["run", "--timeout", "1s", "--", "spin"]);
    assert_eq!(run.status, status::TIMEOUT, "{}", run.describe());
    assert!(
        run.stderr
            .contains("watchdog: the guest ran past --timeout 1s"),
        "no watchdog message\n{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("spinning with interrupts off"),
        "the guest never reached its spin\n{}",
        run.describe()
    );
    // The registers at the stop: kernel mode, interrupts off (the spin).
    assert!(
        run.stderr.contains("cpl=0x0 "),
        "stopped outside kernel mode\n{}",
        run.describe()
    );
    let rflags = run
        .stderr
        .split_whitespace()
        .find_map(|w| w.strip_prefix("rflags=0x"))
        .and_then(|v| u64::from_str_radix(v, 16).ok())
        .unwrap_or_else(|| panic!("no rflags in the dump\n{}", run.describe()));
    assert_eq!(
        rflags & (1 << 9),
        0,
        "interrupts were on at the stop\n{}",
        run.describe()
    );
    assert!(
        run.elapsed >= Duration::from_secs(1),
        "stopped before the timeout ({:?})",
        run.elapsed
    );
}

// ---------------------------------------------------------------------------
// Bad input: status 2, one line
// ---------------------------------------------------------------------------

#[test]
fn missing_kernel_file() {
    let missing = TempFile::new("no-such-kernel", "elf");
    let run = lde(&["run", "--kernel", missing.arg(), "--", "exit=0"]);
    assert_bad_input(&run, "cannot read kernel");
    assert_bad_input(&run, "No such file or directory");
}

#[test]
fn kernel_that_is_not_elf() {
    let text = TempFile::with_bytes("kernel", "txt", b"this is not a kernel\n");
    let run = lde(&["run", "--kernel", text.arg(), "--", "exit=0"]);
    assert_bad_input(&run, "is not an ELF file");
}

#[test]
fn kernel_that_is_a_dynamic_host_executable() {
    // The host's own lde binary: x86-64 ELF, but PIE and no lde note.
    let run = lde(&["run", "--kernel", LDE, "--", "exit=0"]);
    assert_bad_input(&run, "is not a static executable");
}

#[test]
fn kernel_that_is_a_static_elf_without_the_lde_note() {
    let (_, _, hello) = lde::embedded::PROGRAMS
        .iter()
        .find(|(name, _, _)| *name == "hello")
        .expect("the embedded hello program");
    let elf = TempFile::with_bytes("hello", "elf", hello);
    let run = lde(&["run", "--kernel", elf.arg(), "--", "exit=0"]);
    assert_bad_input(&run, "is not an lde kernel");
}

#[test]
fn kernel_with_a_segment_outside_guest_ram() {
    let mut elf = lde::embedded::KERNEL.to_vec();
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap()) as usize;
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    // ELF64 header: e_phoff at 0x20, e_phentsize at 0x36, e_phnum at 0x38;
    // a program header has p_type at 0 and p_paddr at 0x18.
    let (phoff, phentsize, phnum) = (u64_at(&elf, 0x20), u16_at(&elf, 0x36), u16_at(&elf, 0x38));
    let load = (0..phnum)
        .map(|i| phoff + i * phentsize)
        .find(|&ph| u32::from_le_bytes(elf[ph..ph + 4].try_into().unwrap()) == elf::abi::PT_LOAD)
        .expect("the kernel has a PT_LOAD segment");
    // 64 GiB: far past any --mem, and no overflow.
    elf[load + 0x18..load + 0x20].copy_from_slice(&(64u64 << 30).to_le_bytes());
    let kernel = TempFile::with_bytes("far-kernel", "elf", &elf);
    let run = lde(&["run", "--kernel", kernel.arg(), "--", "exit=0"]);
    assert_bad_input(&run, "is outside guest RAM");
}

#[test]
fn memory_too_small() {
    assert_bad_input(&lde(&["run", "--mem", "4M", "--", "exit=0"]), "too small");
}

#[test]
fn memory_size_malformed() {
    assert_bad_input(
        &lde(&["run", "--mem", "12X", "--", "exit=0"]),
        "is not a size",
    );
}

#[test]
fn quantum_out_of_range() {
    assert_bad_input(
        &lde(&["run", "--quantum", "100us", "--", "exit=0"]),
        "out of range",
    );
}

#[test]
fn trace_file_not_writable() {
    let run = lde(&["run", "--trace", "/nonexistent-dir/x.jsonl", "--", "exit=0"]);
    assert_bad_input(&run, "cannot write trace file");
}

#[test]
fn unknown_option() {
    assert_bad_input(&lde(&["run", "--no-such-option"]), "unexpected argument");
}

#[test]
fn no_kvm_device() {
    let run = lde_with_env(
        &["run", "--", "exit=0"],
        &[("LDE_KVM_DEVICE", "/nonexistent")],
    );
    assert_bad_input(&run, "/nonexistent does not exist");
    assert_bad_input(&run, "KVM is not available");
}
