//! Issue "Limited direct execution": user mode, the trap table, system
//! calls, restricted operations. Every test boots real VMs on /dev/kvm.

mod common;

use common::{lde, lde_run, temp_path};
use lde::host::Kvm;
use lde::trace::record::{GuestEvent, ProcessEnd, SyscallPath};

const GP: u64 = 13;
const PF: u64 = 14;
const UD: u64 = 6;
const DE: u64 = 0;

#[test]
fn hello_prints_from_user_mode_and_exits() {
    let r = lde_run(&["--program", "hello"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("hello from user mode (pid 1, CS 0x33, privilege level 3)"),
        "{}",
        r.stdout
    );
    assert!(r.exited(1, 0));
    r.assert_no_panic();
}

#[test]
fn args_get_their_arguments_system_v_style() {
    let r = lde_run(&["--program", "args:one two,three"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    for line in [
        "argc = 4",
        "argv[0] = \"args\"",
        "argv[1] = \"one\"",
        "argv[2] = \"two\"",
        "argv[3] = \"three\"",
    ] {
        assert!(r.stdout.contains(line), "missing {line:?} in\n{}", r.stdout);
    }
}

#[test]
fn getpid_returns_the_pid() {
    let r = lde_run(&["-p", "hello", "-p", "getpid"]);
    assert!(r.stdout.contains("getpid: pid 2"), "{}", r.stdout);
}

#[test]
fn system_calls_come_from_ring_3_and_record_their_path() {
    let r = lde_run(&["--program", "hello"]);
    let calls: Vec<_> = r
        .events()
        .filter_map(|e| match &e.event {
            GuestEvent::Syscall { cs, path, .. } => Some((*cs, *path)),
            _ => None,
        })
        .collect();
    assert!(
        calls.len() >= 2,
        "hello makes getpid, write, exit: {calls:?}"
    );
    for (cs, _) in &calls {
        assert_eq!(cs & 3, 3, "a system call's trap frame has CS RPL 3");
    }
    // On PVM hosts int 0x80 arrives as #UD; on VMX/SVM through the gate.
    assert_eq!(r.kvm(), flavour(), "the trace header names the flavour");
    let expected = if flavour() == Kvm::Pvm {
        SyscallPath::Ud
    } else {
        SyscallPath::Gate
    };
    assert!(
        calls.iter().all(|(_, p)| *p == expected),
        "{calls:?} on {}",
        r.kvm()
    );
}

#[test]
fn bad_pointers_give_efault_and_unknown_numbers_enosys() {
    let r = lde_run(&["--program", "badptr"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("badptr: 19/19 checks passed"),
        "{}",
        r.stdout
    );
    assert!(r.exited(1, 0), "badptr exits 0 only if every check passed");
    // The trace shows the kernel's answers too.
    let results: Vec<(u64, i64)> = r
        .events()
        .filter_map(|e| match &e.event {
            GuestEvent::Syscall { nr, result, .. } => Some((*nr, *result)),
            _ => None,
        })
        .collect();
    assert!(
        results.contains(&(1, -14)),
        "write with a bad pointer returned -EFAULT"
    );
    assert!(
        results.contains(&(4242, -38)),
        "unknown call 4242 returned -ENOSYS"
    );
    r.assert_no_panic();
}

/// Which KVM serves /dev/kvm, told the way lde tells it (the trace
/// header's `kvm`). The tests expect each flavour's behaviour exactly, so a
/// host lde cannot place fails here rather than passing on a guess.
fn flavour() -> Kvm {
    match lde::host::kvm_flavour() {
        Kvm::Unknown => panic!(
            "lde cannot tell which KVM serves /dev/kvm: these tests expect \
             PVM's or VMX/SVM's behaviour exactly"
        ),
        f => f,
    }
}

/// The host CPU's vendor: `sysenter` in 64-bit mode is #UD on AMD, #GP(0)
/// on Intel (SYSENTER_CS is 0).
fn intel_cpu() -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .expect("reading /proc/cpuinfo")
        .contains("GenuineIntel")
}

/// (program, the vector that kills it, its error code where it tells the
/// route). Three differ by host: `int 0x81` (a DPL-0 gate) is #GP with the
/// IDT error code 0x81*8+2 = 0x40a on VMX/SVM, #UD on PVM; `syscall` with
/// EFER.SCE clear is #UD on VMX/SVM, while PVM jumps to LSTAR (0) still in
/// user mode and the fetch faults (#PF, error 0x14: user instruction fetch,
/// not present); `sysenter` follows the CPU vendor.
fn restricted() -> Vec<(&'static str, u64, Option<u64>)> {
    let pvm = flavour() == Kvm::Pvm;
    vec![
        ("priv-hlt", GP, Some(0)),
        ("priv-cli", GP, Some(0)),
        ("priv-sti", GP, Some(0)),
        ("priv-io", GP, Some(0)),
        ("priv-msr", GP, Some(0)),
        ("priv-cr", GP, Some(0)),
        ("priv-lidt", GP, Some(0)),
        ("priv-invlpg", GP, Some(0)),
        ("kernel-read", PF, None),
        ("kernel-write", PF, None),
        ("unmapped", PF, None),
        ("kernel-jump", PF, None),
        ("bad-insn", UD, Some(0)),
        ("div-zero", DE, Some(0)),
        ("stack-overflow", PF, None),
        if pvm {
            ("bad-gate", UD, Some(0))
        } else {
            ("bad-gate", GP, Some(0x40a))
        },
        if pvm {
            ("syscall-insn", PF, Some(0x14))
        } else {
            ("syscall-insn", UD, Some(0))
        },
        if intel_cpu() {
            ("sysenter", GP, Some(0))
        } else {
            ("sysenter", UD, Some(0))
        },
    ]
}

fn assert_killed_as_expected(
    r: &common::Run,
    pid: u32,
    (prog, vector, error): (&str, u64, Option<u64>),
) {
    let (v, e) = r
        .kill_fault(pid)
        .unwrap_or_else(|| panic!("{prog} was not killed by a fault:\n{}", r.stdout));
    assert_eq!(v, vector, "{prog} killed by vector {v} on {}", flavour());
    if let Some(error) = error {
        assert_eq!(e, error, "{prog}: error code {e:#x} on {}", flavour());
    }
}

#[test]
fn every_restricted_operation_is_killed_and_the_next_program_runs() {
    for (prog, vector, error) in restricted() {
        let r = lde_run(&["-p", prog, "-p", "hello"]);
        assert_eq!(r.status, 0, "{prog}: {}", r.stderr);
        r.assert_no_panic();
        assert!(
            !r.stdout.contains("NOT STOPPED"),
            "{prog} was not stopped:\n{}",
            r.stdout
        );
        assert_killed_as_expected(&r, 1, (prog, vector, error));
        assert!(
            matches!(&r.process(1).end, ProcessEnd::Killed(_)),
            "{prog}: {:?}",
            r.process(1).end
        );
        assert!(
            r.stdout.contains(&format!("pid 1 ({prog}) killed:")),
            "{prog}: kill message\n{}",
            r.stdout
        );
        assert!(r.exited(2, 0), "{prog}: hello after it still ran");
        assert!(r.stdout.contains("hello from user mode"), "{prog}");
    }
}

#[test]
fn many_restricted_programs_in_one_run() {
    let mut args = Vec::new();
    let restricted = restricted();
    for (prog, _, _) in &restricted[..15] {
        args.push("-p");
        args.push(prog);
    }
    args.extend(["-p", "hello"]);
    let r = lde_run(&args);
    assert_eq!(r.status, 0, "{}", r.stderr);
    r.assert_no_panic();
    for (i, expected) in restricted[..15].iter().enumerate() {
        assert_killed_as_expected(&r, i as u32 + 1, *expected);
    }
    assert!(r.exited(16, 0));
}

#[test]
fn page_fault_kills_name_the_address() {
    let r = lde_run(&["-p", "kernel-read", "-p", "stack-overflow"]);
    assert!(
        r.stdout
            .contains("address 0xffffffff80100000 (kernel memory)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("(stack overflow)"), "{}", r.stdout);
}

#[test]
fn show_idt_prints_the_trap_table() {
    let r = lde(&["run", "--", "show-idt", "exit=0"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let line = |v: &str| {
        r.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(v))
            .unwrap_or_else(|| panic!("no IDT line for {v}:\n{}", r.stdout))
            .to_string()
    };
    let dpl = |l: &str| l.split_whitespace().rev().nth(2).unwrap().to_string();
    assert!(line("0x80").contains("syscall"));
    assert_eq!(
        dpl(&line("0x80")),
        "3",
        "the system-call gate is the one user code may invoke"
    );
    assert_eq!(dpl(&line("0x0e")), "0");
    assert_eq!(dpl(&line("0x0d")), "0");
    assert!(line("0x20").contains("timer"));
    assert!(line("0xff").contains("spurious"));
    // All 32 exception vectors are present.
    for v in 0..32 {
        line(&format!("{v:#04x}"));
    }
    // The double fault runs on its own stack (IST 1).
    assert!(line("0x08").trim_end().ends_with('1'));
}

#[test]
fn list_programs_names_every_embedded_program() {
    let r = lde(&["run", "--list-programs"]);
    assert_eq!(r.status, 0);
    for p in [
        "hello",
        "args",
        "getpid",
        "badptr",
        "trapbench",
        "spin",
        "worker",
        "hog",
        "priv-cli",
    ] {
        assert!(
            r.stdout.lines().any(|l| l.starts_with(p)),
            "{p} missing:\n{}",
            r.stdout
        );
    }
}

#[test]
fn a_program_can_be_a_file() {
    let (_, elf) = lde::embedded::program("hello").unwrap();
    let path = temp_path("hello", "elf");
    std::fs::write(&path, elf).unwrap();
    let r = lde_run(&["--program", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.stdout.contains("hello from user mode"));
}

#[test]
fn bad_program_files_are_refused_before_the_vm_starts() {
    let text = temp_path("text", "txt");
    std::fs::write(&text, "not an elf").unwrap();
    let r = lde(&["run", "--program", text.to_str().unwrap()]);
    assert_eq!(r.status, 2);
    assert!(r.stderr.contains("is not an ELF file"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "one line: {}", r.stderr);

    // hello relinked (by patching its program headers) into the kernel half.
    let (_, elf) = lde::embedded::program("hello").unwrap();
    let mut bad = elf.to_vec();
    let phoff = u64::from_le_bytes(bad[32..40].try_into().unwrap()) as usize;
    let vaddr = phoff + 16;
    bad[vaddr..vaddr + 8].copy_from_slice(&0xffff_ffff_8010_0000u64.to_le_bytes());
    let path = temp_path("kernel-half", "elf");
    std::fs::write(&path, &bad).unwrap();
    let r = lde(&["run", "--program", path.to_str().unwrap()]);
    assert_eq!(r.status, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("collides with the kernel"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"));

    let r = lde(&["run", "--program", "no-such-program"]);
    assert_eq!(r.status, 2);
    assert!(r.stderr.contains("unknown program 'no-such-program'"));
    for p in [text, path] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn int3_is_a_bare_trap_the_kernel_returns_from() {
    let r = lde_run(&["--program", "trapbench:2000"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.exited(1, 0), "{}", r.stdout);
    assert!(r.stdout.contains("cycles/call"), "{}", r.stdout);
    let bp = r
        .events()
        .filter(|e| {
            matches!(
                e.event,
                GuestEvent::Trap {
                    vector: 3,
                    user: true,
                    ..
                }
            )
        })
        .count();
    assert!(bp >= 2000, "int3 traps recorded: {bp}");
}

#[test]
fn a_fault_in_the_kernel_is_a_panic_with_the_frame() {
    let r = lde(&["run", "--", "crash=fault"]);
    assert_eq!(r.status, 103, "{}", r.stderr);
    assert!(
        r.stdout.contains("#PF page fault in kernel mode"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("cs 0x10"),
        "the frame shows kernel CS: {}",
        r.stdout
    );
    assert!(r.stdout.contains("KERNEL PANIC"));
    assert!(r.stderr.contains("guest kernel panicked"), "{}", r.stderr);
}

#[test]
fn user_state_cannot_mislead_or_leak_through_the_kernel() {
    // DF set across a system call: the kernel clears it on trap entry.
    // x87, FS/GS bases, YMM and ZMM registers: saved and restored per
    // process, nothing leaks (fpu-secret skips only what the machine lacks).
    let r = lde_run(&[
        "-p",
        "fpu-secret:plant",
        "-p",
        "fpu-secret:peek",
        "-p",
        "dir-flag",
    ]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    r.assert_no_panic();
    assert!(
        r.stdout.contains("dir-flag: written with DF set\n"),
        "{}",
        r.stdout
    );
    assert!(r.exited(3, 0), "dir-flag's write returned its length");
    for (what, must_run) in [
        ("x87 st0", true),
        ("fs/gs base", host_cpu_has(7, 1, 0)),
        // Under PVM user mode runs with the host's XCR0, so AVX is usable
        // wherever the host has it; on VMX/SVM the kernel leaves it off.
        ("ymm15 upper half", on_pvm() && host_cpu_has(1, 2, 28)),
        ("zmm31", false),
    ] {
        let kept = format!("fpu-secret: plant {what}: kept");
        let clean = format!("fpu-secret: peek {what}: clean");
        let skipped = format!("fpu-secret: plant {what}: skipped, ");
        assert!(
            r.stdout.contains(&kept) && r.stdout.contains(&clean)
                || !must_run && r.stdout.contains(&skipped),
            "{what}: planted and kept by plant, not seen by peek\n{}",
            r.stdout
        );
    }
    assert!(
        r.stdout.contains("fpu-secret: plant kept its values: true"),
        "{}",
        r.stdout
    );
    assert!(
        r.exited(1, 0) && r.exited(2, 0),
        "peek did not see the planted values\n{}",
        r.stdout
    );
}

#[test]
fn registers_do_not_leak_into_a_process_switched_out_before_it_reached_user_mode() {
    // peek-after-write is in one long `write` while plant yields: the
    // kernel switches it in (its extended registers are loaded only on
    // its way back to user mode, xstate.rs) and out again at the next tick
    // of the write, many times. It must not end up with plant's registers.
    let r = lde_run(&[
        "-p",
        "fpu-secret:plant",
        "-p",
        "fpu-secret:peek-after-write",
    ]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    r.assert_no_panic();
    let avx = on_pvm() && host_cpu_has(1, 2, 28);
    assert!(
        r.stdout
            .contains("fpu-secret: peek ymm15 upper half: clean")
            || !avx
                && r.stdout
                    .contains("fpu-secret: peek ymm15 upper half: skipped, "),
        "{}",
        r.stdout
            .lines()
            .filter(|l| l.starts_with("fpu-secret"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        r.exited(1, 0) && r.exited(2, 0),
        "plant kept its values, peek saw none"
    );
}

/// Does the host CPU report CPUID `leaf` register `reg` (0 EAX .. 3 EDX)
/// bit `bit`?
fn host_cpu_has(leaf: u32, reg: usize, bit: u32) -> bool {
    let r = std::arch::x86_64::__cpuid_count(leaf, 0);
    [r.eax, r.ebx, r.ecx, r.edx][reg] & (1 << bit) != 0
}

/// Is /dev/kvm served by kvm_pvm (nested, no VMX/SVM)?
fn on_pvm() -> bool {
    std::path::Path::new("/sys/module/kvm_pvm").exists()
}
