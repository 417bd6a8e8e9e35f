//! Reading an x86-64 executable with the `elf` crate, checked for what both
//! the kernel loader and the program loader need: an ELF64 little-endian
//! x86-64 `ET_EXEC` whose loadable segments lie inside the file and do not
//! wrap around.

use anyhow::Result;
use elf::abi::{EM_X86_64, ET_EXEC, PT_LOAD};
use elf::endian::LittleEndian;
use elf::file::Class;
use elf::ElfBytes;

use crate::error::bad_input;

/// One `PT_LOAD` segment.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    pub vaddr: u64,
    pub paddr: u64,
    pub offset: u64,
    pub filesz: u64,
    pub memsz: u64,
    /// `PF_X | PF_W | PF_R`.
    pub flags: u32,
}

pub struct ElfFile<'a> {
    pub parsed: ElfBytes<'a, LittleEndian>,
    pub entry: u64,
    /// Program headers of any type.
    pub headers: usize,
    pub segments: Vec<Segment>,
}

/// Parse and check `bytes`; `what` names the file in error messages.
pub fn parse<'a>(bytes: &'a [u8], what: &str) -> Result<ElfFile<'a>> {
    if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
        return Err(bad_input(format!("{what} is not an ELF file")));
    }
    let parsed = ElfBytes::<LittleEndian>::minimal_parse(bytes)
        .map_err(|e| bad_input(format!("{what} is not a valid ELF file ({e})")))?;
    let ehdr = parsed.ehdr;
    if ehdr.class != Class::ELF64 || ehdr.e_machine != EM_X86_64 {
        return Err(bad_input(format!("{what} is not an x86-64 ELF64 file")));
    }
    if ehdr.e_type != ET_EXEC {
        return Err(bad_input(format!(
            "{what} is not a static executable (ELF type {}, need ET_EXEC; link with -static -no-pie)",
            ehdr.e_type
        )));
    }
    let table = parsed
        .segments()
        .ok_or_else(|| bad_input(format!("{what} has no program headers")))?;
    let mut segments = Vec::new();
    for ph in table.iter().filter(|ph| ph.p_type == PT_LOAD) {
        let s = Segment {
            vaddr: ph.p_vaddr,
            paddr: ph.p_paddr,
            offset: ph.p_offset,
            filesz: ph.p_filesz,
            memsz: ph.p_memsz,
            flags: ph.p_flags,
        };
        let in_file = s
            .offset
            .checked_add(s.filesz)
            .is_some_and(|end| end <= bytes.len() as u64);
        if !in_file || s.filesz > s.memsz {
            return Err(bad_input(format!(
                "{what}: segment at {:#x} lies outside the file",
                s.vaddr
            )));
        }
        if s.vaddr.checked_add(s.memsz).is_none() || s.paddr.checked_add(s.memsz).is_none() {
            return Err(bad_input(format!(
                "{what}: segment at {:#x} wraps around",
                s.vaddr
            )));
        }
        segments.push(s);
    }
    if segments.is_empty() {
        return Err(bad_input(format!("{what} has no loadable segment")));
    }
    Ok(ElfFile {
        parsed,
        entry: ehdr.e_entry,
        headers: table.len(),
        segments,
    })
}

/// Most bytes of an ELF file lde reads (kernel or program): more than any
/// guest RAM could hold.
pub const MAX_FILE: u64 = lde_abi::layout::MAX_RAM;

/// Read a kernel or program file, refusing what is not a regular file or is
/// too large (so `/dev/zero` is an error, not an endless read).
pub fn read_limited(path: &std::path::Path, what: &str) -> Result<Vec<u8>> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| bad_input(format!("cannot read {what} '{shown}': {e}")))?;
    if !meta.is_file() {
        return Err(bad_input(format!("{what} '{shown}' is not a regular file")));
    }
    if meta.len() > MAX_FILE {
        return Err(bad_input(format!(
            "{what} '{shown}' is {} bytes; more than any guest could hold",
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| bad_input(format!("cannot read {what} '{shown}': {e}")))
}
