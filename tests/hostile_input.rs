//! Hostile and odd input: programs the kernel's loader cannot load (refused
//! before boot, with the reason), non-UTF-8 paths, outputs that name the
//! run's own inputs, and a file in the current directory named like an
//! embedded program.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_bad_input, lde, require_kvm, temp_path, Run, TempFile};
use lde_abi::program::{MAX_LOAD_SEGMENTS, MAX_PAGE_TABLES, MAX_PROGRAM_HEADERS};

const PHDR: usize = 56;
const PT_LOAD: u32 = 1;

fn u16_at(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes([b[at], b[at + 1]]) as usize
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// The embedded `hello` and its program headers.
fn hello() -> (Vec<u8>, Vec<[u8; PHDR]>) {
    let elf = lde::embedded::program("hello").unwrap().1.to_vec();
    let (off, n) = (u64_at(&elf, 0x20) as usize, u16_at(&elf, 0x38));
    let phdrs = (0..n)
        .map(|i| {
            elf[off + i * PHDR..off + (i + 1) * PHDR]
                .try_into()
                .unwrap()
        })
        .collect();
    (elf, phdrs)
}

/// `elf` with its program header table replaced by `phdrs`, appended.
fn with_phdrs(mut elf: Vec<u8>, phdrs: &[[u8; PHDR]]) -> Vec<u8> {
    elf.resize(elf.len().next_multiple_of(8), 0);
    let off = elf.len() as u64;
    for p in phdrs {
        elf.extend_from_slice(p);
    }
    elf[0x20..0x28].copy_from_slice(&off.to_le_bytes());
    elf[0x38..0x3a].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
    elf
}

fn load_segment(vaddr: u64, memsz: u64, flags: u32) -> [u8; PHDR] {
    let mut p = [0u8; PHDR];
    p[0..4].copy_from_slice(&PT_LOAD.to_le_bytes());
    p[4..8].copy_from_slice(&flags.to_le_bytes());
    p[16..24].copy_from_slice(&vaddr.to_le_bytes());
    p[24..32].copy_from_slice(&vaddr.to_le_bytes());
    p[40..48].copy_from_slice(&memsz.to_le_bytes());
    p[48..56].copy_from_slice(&0x1000u64.to_le_bytes());
    p
}

/// `hello` with the memory size of its writable segment set to `memsz`.
fn hello_with_data_size(memsz: u64) -> Vec<u8> {
    let (elf, mut phdrs) = hello();
    let data = phdrs
        .iter_mut()
        .find(|p| u32::from_le_bytes(p[0..4].try_into().unwrap()) == PT_LOAD && p[4] & 2 != 0)
        .expect("hello has a writable segment");
    data[40..48].copy_from_slice(&memsz.to_le_bytes());
    with_phdrs(elf, &phdrs)
}

fn run_program(file: &TempFile, extra: &[&str]) -> Run {
    let mut args = vec!["run", "-p", file.arg()];
    args.extend_from_slice(extra);
    lde(&args)
}

/// Refused before boot: bad input, one line, the guest never ran.
fn assert_refused(run: &Run, phrase: &str) {
    assert_bad_input(run, phrase);
    assert!(run.stdout.is_empty(), "the VM ran:\n{}", run.stdout);
}

#[test]
fn a_segment_larger_than_guest_ram_is_refused_before_boot() {
    let f = TempFile::with_bytes("huge", "elf", &hello_with_data_size(1 << 40));
    assert_refused(&run_program(&f, &[]), "more than the guest's RAM (64 MiB");
}

#[test]
fn a_program_needing_more_page_tables_than_the_loader_has_is_refused() {
    // 200 MiB fits a 512 MiB guest but needs 100 page tables.
    let f = TempFile::with_bytes("tables", "elf", &hello_with_data_size(200 << 20));
    let run = run_program(&f, &["--mem", "512M"]);
    assert_refused(&run, &format!("at most {MAX_PAGE_TABLES} per process"));
}

#[test]
fn too_many_program_headers_are_refused_at_once() {
    let (elf, mut phdrs) = hello();
    phdrs.resize(65_534, [0; PHDR]); // PT_NULL
    let f = TempFile::with_bytes("phnum", "elf", &with_phdrs(elf, &phdrs));
    assert_refused(
        &run_program(&f, &[]),
        &format!("65534 program headers; the kernel's loader reads at most {MAX_PROGRAM_HEADERS}"),
    );
}

/// `hello` with `extra` more one-page `PT_LOAD` segments, written to a file.
fn hello_with_segments(tag: &str, extra: u64) -> TempFile {
    let (elf, mut phdrs) = hello();
    for i in 0..extra {
        phdrs.push(load_segment(0x1000_0000 + i * 0x2000, 0x1000, 4));
    }
    TempFile::with_bytes(tag, "elf", &with_phdrs(elf, &phdrs))
}

fn assert_hello_runs(run: &Run) {
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("hello from user mode"),
        "{}",
        run.stdout
    );
}

#[test]
fn too_many_segments_are_refused() {
    let f = hello_with_segments("segments", 40);
    assert_refused(
        &run_program(&f, &[]),
        &format!("loadable segments; the kernel's loader takes at most {MAX_LOAD_SEGMENTS}"),
    );
}

#[test]
fn a_program_with_as_many_segments_as_the_loader_takes_runs() {
    // The VMM's check and the kernel's loader agree: the stack and the
    // kernel's extended-state pages take one mapped range each, not one
    // per page.
    let own = hello()
        .1
        .iter()
        .filter(|p| u32::from_le_bytes(p[..4].try_into().unwrap()) == PT_LOAD)
        .count();
    let f = hello_with_segments("most", (MAX_LOAD_SEGMENTS - own) as u64);
    assert_hello_runs(&run_program(&f, &[]));
}

#[test]
fn a_program_within_the_limits_still_runs() {
    // Ten extra segments: well within the limits.
    let f = hello_with_segments("fine", 10);
    assert_hello_runs(&run_program(&f, &[]));
}

#[test]
fn a_bare_name_is_the_embedded_program_even_with_a_file_of_that_name_here() {
    require_kvm();
    let dir = temp_path("cwd", "d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello"), b"not an ELF").unwrap();
    let run = |spec: &str| {
        Command::new(env!("CARGO_BIN_EXE_lde"))
            .current_dir(&dir)
            .args(["run", "-p", spec])
            .output()
            .unwrap()
    };
    let bare = run("hello");
    let path = run("./hello");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(bare.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&bare.stdout).contains("hello from user mode"));
    assert_eq!(path.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&path.stderr).contains("is not an ELF file"));
}

/// A fresh path whose file name is not UTF-8.
fn non_utf8(tag: &str) -> PathBuf {
    let base = temp_path(tag, "x");
    let mut name = base.file_name().unwrap().as_bytes().to_vec();
    name.extend_from_slice(b"-\xff\xfe");
    base.with_file_name(OsStr::from_bytes(&name))
}

#[test]
fn non_utf8_paths_are_paths_not_panics() {
    require_kvm();
    let prog = non_utf8("prog");
    std::fs::write(&prog, lde::embedded::program("hello").unwrap().1).unwrap();
    let trace = non_utf8("trace");
    let svg = non_utf8("svg");
    let missing_kernel = non_utf8("kernel");
    let lde_cmd = || Command::new(env!("CARGO_BIN_EXE_lde"));
    let out = lde_cmd()
        .args(["run", "-p"])
        .arg(&prog)
        .arg("--trace")
        .arg(&trace)
        .arg("--timeline")
        .arg(&svg)
        .output()
        .unwrap();
    let summary = lde_cmd()
        .args(["trace", "summary"])
        .arg(&trace)
        .output()
        .unwrap();
    let kernel = lde_cmd()
        .args(["run", "--kernel"])
        .arg(&missing_kernel)
        .output()
        .unwrap();
    let svg_written = std::fs::metadata(&svg).map(|m| m.len()).unwrap_or(0);
    for p in [&prog, &trace, &svg] {
        let _ = std::fs::remove_file(p);
    }
    let text = |o: &[u8]| String::from_utf8_lossy(o).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("hello from user mode"));
    assert!(svg_written > 0);
    assert_eq!(summary.status.code(), Some(0), "{}", text(&summary.stderr));
    assert_eq!(kernel.status.code(), Some(2), "{}", text(&kernel.stderr));
    assert!(text(&kernel.stderr).contains("cannot read kernel"));
}

#[test]
fn outputs_naming_the_runs_own_inputs_are_refused() {
    require_kvm();
    let kernel = TempFile::with_bytes("kernel", "elf", lde::embedded::KERNEL);
    let prog = TempFile::with_bytes("prog", "elf", lde::embedded::program("hello").unwrap().1);
    // The same files by other names: `dir/./file`.
    let other_name = |p: &Path| p.parent().unwrap().join(".").join(p.file_name().unwrap());
    let k = kernel.arg();
    let p = prog.arg();
    let k2 = other_name(kernel.path());
    let p2 = other_name(prog.path());
    let trace_is_kernel = lde(&["run", "--kernel", k, "--trace", k2.to_str().unwrap()]);
    let timeline_is_program = lde(&["run", "-p", p, "--timeline", p2.to_str().unwrap()]);
    assert_refused(&trace_is_kernel, "is the run's kernel");
    assert_refused(&timeline_is_program, "is the run's program");
    assert_eq!(std::fs::read(kernel.path()).unwrap(), lde::embedded::KERNEL);
    assert_eq!(
        std::fs::read(prog.path()).unwrap(),
        lde::embedded::program("hello").unwrap().1
    );
}
