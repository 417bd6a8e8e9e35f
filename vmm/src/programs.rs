//! User programs: `--program NAME[:ARGS]` resolved to ELF bytes (embedded or
//! from a file), checked, and placed in guest RAM as boot modules for the
//! kernel to load into fresh address spaces.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::Result;
use lde_abi::boot::{Job, Module, MAX_ARGS, MAX_MODULES, MODULE_ARGS_LEN, MODULE_NAME_LEN};
use lde_abi::layout::{PAGE_SIZE, USER_MIN, USER_STACK_GUARD};
use lde_abi::program::{self, LoadError, MAX_LOAD_SEGMENTS, MAX_PAGE_TABLES, MAX_PROGRAM_HEADERS};

use crate::elf_file;
use crate::embedded;
use crate::error::bad_input;
use crate::memory::GuestRam;

/// The programs `lde run` starts when no `--program` is given: the default
/// demonstration (two workers interleaving, a hog, a restricted operation).
pub const DEFAULT_DEMO: &[&str] = &["worker:A,4", "worker:B,4", "hog", "priv-cli", "hello"];

/// A program to run.
#[derive(Debug, Clone)]
pub struct Program {
    /// Short name (argv[0], and the process name in the kernel).
    pub name: String,
    pub args: Vec<String>,
    pub elf: Cow<'static, [u8]>,
    /// When it arrives, its length and I/O if known, its tickets.
    pub job: Job,
}

/// Resolve one `--program` value for a guest with `mem` bytes of RAM.
///
/// The rule for names: a value with a `/` in it is a path (`./hello`,
/// `/bin/x`); a bare name is always an embedded program, even when a file of
/// that name is in the current directory.
///
/// `@TICK` and `#TICKETS` at the end give its arrival tick and tickets
/// (jobs.rs); a `spin` or `cpuio` job's length and I/O come from its
/// arguments.
pub fn resolve(spec: &OsStr, mem: u64) -> Result<Program> {
    let (program, arrival_tick, tickets) = match spec.to_str() {
        Some(text) => {
            let (program, arrival, tickets) = crate::jobs::split_attributes(text)?;
            (OsStr::new(program), arrival, tickets)
        }
        None => (spec, 0, 0),
    };
    let mut p = resolve_program(program, spec, mem)?;
    p.job.arrival_tick = arrival_tick;
    p.job.tickets = tickets;
    let embedded = matches!(p.elf, Cow::Borrowed(_));
    crate::jobs::describe(&p.name, &p.args, embedded, &mut p.job)?;
    Ok(p)
}

/// Resolve `NAME[:ARGS]` (`whole` is the option as given, for messages).
fn resolve_program(spec: &OsStr, whole: &OsStr, mem: u64) -> Result<Program> {
    let shown = whole.to_string_lossy();
    let (what, args) = split_spec(spec);
    if what.is_empty() {
        return Err(bad_input(format!("--program '{shown}': no program name")));
    }
    let args = std::str::from_utf8(args).map_err(|_| {
        bad_input(format!(
            "--program '{shown}': the arguments are not UTF-8 text"
        ))
    })?;
    let args: Vec<String> = args
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    let path = Path::new(OsStr::from_bytes(what));
    let what = path.to_string_lossy();
    let (name, elf): (String, Cow<'static, [u8]>) = if is_path(path) {
        let bytes = crate::elf_file::read_limited(path, "program")?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| what.to_string());
        (name, Cow::Owned(bytes))
    } else {
        let (name, elf) = embedded::program(&what).ok_or_else(|| {
            bad_input(format!(
                "unknown program '{what}' (see lde run --list-programs; a file needs a path with a '/', e.g. ./{what})"
            ))
        })?;
        (name.to_string(), Cow::Borrowed(elf))
    };
    // At most MODULE_NAME_LEN - 1 bytes, cut at a character boundary.
    let mut cut = name.len().min(MODULE_NAME_LEN - 1);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let name = name[..cut].to_string();
    if args.len() > MAX_ARGS {
        return Err(bad_input(format!(
            "--program '{shown}': {} arguments; at most {MAX_ARGS}",
            args.len()
        )));
    }
    let argv_len: usize = args.iter().map(|a| a.len() + 1).sum();
    if argv_len > MODULE_ARGS_LEN - 1 {
        return Err(bad_input(format!(
            "--program '{shown}': arguments are {argv_len} bytes; at most {}",
            MODULE_ARGS_LEN - 1
        )));
    }
    check(&elf, &format!("program '{what}'"), mem)?;
    Ok(Program {
        name,
        args,
        elf,
        job: Job::NONE,
    })
}

/// The file a `--program` value names, if it names one.
pub fn file_of(spec: &OsStr) -> Option<&Path> {
    let path = Path::new(OsStr::from_bytes(split_spec(spec).0));
    is_path(path).then_some(path)
}

/// `NAME[:ARGS]` as the name and the arguments (bytes: paths need not be
/// UTF-8).
fn split_spec(spec: &OsStr) -> (&[u8], &[u8]) {
    let raw = spec.as_bytes();
    match raw.iter().position(|&b| b == b':') {
        Some(i) => (&raw[..i], &raw[i + 1..]),
        None => (raw, &[]),
    }
}

/// Whether a `--program` value names a file rather than an embedded program.
pub fn is_path(what: &Path) -> bool {
    what.as_os_str().as_bytes().contains(&b'/')
}

/// Is `elf` a static x86-64 executable the kernel can load into a guest
/// with `mem` bytes of RAM: every segment in the user half, clear of the
/// first page and of the stack area, within the loader's limits (lde-abi
/// `program`, the very check the kernel makes again)?
pub fn check(bytes: &[u8], what: &str, mem: u64) -> Result<()> {
    let elf = elf_file::parse(bytes, what)?;
    // The stack, and one guard page below it, are the kernel's.
    let stack_bottom = USER_STACK_GUARD;
    let mut entry_ok = false;
    for s in &elf.segments {
        let end = s.vaddr + s.memsz;
        if s.vaddr < USER_MIN || end > stack_bottom {
            return Err(bad_input(format!(
                "{what}: segment {:#x}..{end:#x} collides with the kernel or the user stack \
                 (user programs must load within {USER_MIN:#x}..{stack_bottom:#x})",
                s.vaddr
            )));
        }
        entry_ok |= elf.entry >= s.vaddr && elf.entry < end && s.flags & elf::abi::PF_X != 0;
    }
    if !entry_ok {
        return Err(bad_input(format!(
            "{what}: entry point {:#x} is not in an executable segment",
            elf.entry
        )));
    }
    let footprint =
        program::footprint(elf.headers, elf.segments.iter().map(|s| (s.vaddr, s.memsz)))
            .map_err(|e| bad_input(load_error(what, e)))?;
    if footprint.bytes > mem {
        return Err(bad_input(format!(
            "{what}: its segments and stack need {} bytes of memory, more than the guest's RAM ({} MiB, --mem)",
            footprint.bytes,
            mem >> 20
        )));
    }
    footprint
        .within_limits()
        .map_err(|e| bad_input(load_error(what, e)))?;
    Ok(())
}

/// Copy the programs into guest RAM from `start` (page aligned) on, below
/// `limit`; returns the module table and the first free byte after them.
pub fn place(
    ram: &GuestRam,
    programs: &[Program],
    start: u64,
    limit: u64,
) -> Result<(Vec<Module>, u64)> {
    if programs.len() > MAX_MODULES {
        return Err(bad_input(format!(
            "{} programs given; at most {MAX_MODULES}",
            programs.len()
        )));
    }
    let mut next = start.next_multiple_of(PAGE_SIZE);
    let mut modules = Vec::new();
    for p in programs {
        let len = p.elf.len() as u64;
        let end = next + len;
        if end > limit {
            return Err(bad_input(format!(
                "program '{}' does not fit in guest RAM; try a larger --mem",
                p.name
            )));
        }
        ram.write(next, &p.elf)?;
        let mut m = Module::EMPTY;
        m.addr = next;
        m.len = len;
        m.name[..p.name.len()].copy_from_slice(p.name.as_bytes());
        let joined = p.args.join(" ");
        m.args[..joined.len()].copy_from_slice(joined.as_bytes());
        m.job = p.job;
        modules.push(m);
        next = end.next_multiple_of(PAGE_SIZE);
    }
    Ok((modules, next))
}

/// The loader's refusal as one line.
fn load_error(what: &str, e: LoadError) -> String {
    match e {
        LoadError::TooManyHeaders(n) => format!(
            "{what}: {n} program headers; the kernel's loader reads at most {MAX_PROGRAM_HEADERS}"
        ),
        LoadError::TooManySegments(n) => format!(
            "{what}: {n} loadable segments; the kernel's loader takes at most {MAX_LOAD_SEGMENTS}"
        ),
        LoadError::Wraps(a) => format!("{what}: segment at {a:#x} wraps around"),
        LoadError::Unordered(a) => format!(
            "{what}: segment at {a:#x} overlaps the one before it or is out of order (segments must ascend)"
        ),
        LoadError::TooManyPageTables(n) => format!(
            "{what}: mapping it takes {n} page tables; the kernel's loader has at most {MAX_PAGE_TABLES} per process"
        ),
    }
}

/// `lde run --list-programs`.
pub fn list() -> String {
    let width = embedded::PROGRAMS
        .iter()
        .map(|(n, _, _)| n.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (name, about, elf) in embedded::PROGRAMS {
        out.push_str(&format!(
            "{name:width$}  {about} ({} KiB)\n",
            elf.len().div_ceil(1024)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEM: u64 = 64 << 20;

    #[test]
    fn args_split_on_spaces_and_commas() {
        let p = resolve(OsStr::new("hello:a,b c"), MEM).unwrap();
        assert_eq!(p.name, "hello");
        assert_eq!(p.args, ["a", "b", "c"]);
    }

    #[test]
    fn long_non_ascii_names_are_cut_on_a_character() {
        let dir = std::env::temp_dir().join(format!("lde-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("é".repeat(20));
        std::fs::write(&path, embedded::program("hello").unwrap().1).unwrap();
        let p = resolve(path.as_os_str(), MEM).unwrap();
        assert!(p.name.len() < MODULE_NAME_LEN && p.name.chars().all(|c| c == 'é'));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn too_many_arguments_are_refused() {
        let spec = format!("hello:{}", vec!["x"; MAX_ARGS + 1].join(","));
        assert!(resolve(OsStr::new(&spec), MEM)
            .unwrap_err()
            .to_string()
            .contains("arguments"));
    }

    #[test]
    fn unknown_program_is_bad_input() {
        let e = resolve(OsStr::new("no-such-program"), MEM).unwrap_err();
        assert!(e.to_string().contains("unknown program"));
    }

    #[test]
    fn default_demo_programs_exist() {
        for spec in DEFAULT_DEMO {
            resolve(OsStr::new(spec), MEM).unwrap();
        }
    }

    #[test]
    fn embedded_programs_pass_the_check() {
        for (name, _, elf) in embedded::PROGRAMS {
            check(elf, name, MEM).unwrap();
        }
    }
}
