//! The guest kernel image: checked for the lde ELF note and loaded into
//! guest RAM with linux-loader at its segments' physical addresses.

use std::io::Cursor;

use anyhow::{anyhow, Result};
use lde_abi::layout::KERNEL_PHYS;
use lde_abi::note;
use linux_loader::loader::{Elf, KernelLoader};
use vm_memory::GuestAddress;

use crate::elf_file;
use crate::error::bad_input;
use crate::memory::GuestRam;

/// Where the kernel landed.
#[derive(Debug, Clone, Copy)]
pub struct LoadedKernel {
    pub entry: u64,
    /// First guest-physical byte after the image.
    pub end: u64,
}

/// A kernel image that passed [`check`]: only such an image is loaded.
pub struct CheckedKernel<'a> {
    bytes: &'a [u8],
    what: &'a str,
    /// First guest-physical byte after the image.
    end: u64,
}

/// Check that `bytes` is an lde kernel for this contract whose segments fit
/// in `[KERNEL_PHYS, limit)`; nothing is written to guest RAM.
pub fn check<'a>(bytes: &'a [u8], what: &'a str, limit: u64) -> Result<CheckedKernel<'a>> {
    let elf = elf_file::parse(bytes, what)?;
    let version = contract_version(&elf, what)?;
    if version != lde_abi::CONTRACT_VERSION {
        return Err(bad_input(format!(
            "{what} is an lde kernel for contract v{version}, but this lde speaks v{}; rebuild it",
            lde_abi::CONTRACT_VERSION
        )));
    }
    let mut end = 0;
    let mut entry_ok = false;
    for s in &elf.segments {
        let seg_end = s.paddr + s.memsz;
        if s.paddr < KERNEL_PHYS || seg_end > limit {
            return Err(bad_input(format!(
                "{what}: segment at physical {:#x}..{seg_end:#x} is outside guest RAM available \
                 to the kernel ({KERNEL_PHYS:#x}..{limit:#x}); try a larger --mem",
                s.paddr
            )));
        }
        end = end.max(seg_end);
        entry_ok |= elf.entry >= s.vaddr && elf.entry < s.vaddr + s.memsz;
    }
    if !entry_ok {
        return Err(bad_input(format!(
            "{what}: entry point {:#x} is not inside a loadable segment",
            elf.entry
        )));
    }
    Ok(CheckedKernel { bytes, what, end })
}

/// The contract version in the kernel's `.note.lde`, or a clear refusal.
fn contract_version(elf: &elf_file::ElfFile, what: &str) -> Result<u32> {
    let not_lde = || {
        bad_input(format!(
            "{what} is not an lde kernel (no '{}' ELF note with the contract version)",
            note::SECTION
        ))
    };
    let shdr = elf
        .parsed
        .section_header_by_name(note::SECTION)
        .map_err(|_| not_lde())?
        .ok_or_else(not_lde)?;
    let notes = elf
        .parsed
        .section_data_as_notes(&shdr)
        .map_err(|_| not_lde())?;
    for n in notes {
        if let elf::note::Note::Unknown(any) = n {
            let name = any.name_str().unwrap_or("");
            if name.as_bytes() == &note::NAME[..3]
                && any.n_type == note::TYPE as u64
                && any.desc.len() == 4
            {
                return Ok(u32::from_le_bytes(any.desc.try_into().unwrap()));
            }
        }
    }
    Err(not_lde())
}

/// Load a checked kernel at its segments' physical addresses.
pub fn load(ram: &GuestRam, kernel: &CheckedKernel) -> Result<LoadedKernel> {
    let CheckedKernel { bytes, what, end } = *kernel;
    let result = Elf::load(
        ram.mmap(),
        None,
        &mut Cursor::new(bytes),
        Some(GuestAddress(KERNEL_PHYS)),
    )
    .map_err(|e| anyhow!("loading {what}: {e}"))?;
    Ok(LoadedKernel {
        entry: result.kernel_load.0,
        end,
    })
}
