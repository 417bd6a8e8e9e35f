//! The guest's ELF files for gdb: the embedded kernel (built with symbols
//! and debug info) and user programs (each linked at 0x400000, in an address
//! space of its own).

use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::embedded;
use crate::error::bad_input;

/// `lde kernel --extract FILE [--program NAME]`: write the embedded kernel
/// (or program) ELF to FILE. Returns the exit status.
pub fn extract(file: &Path, program: Option<&str>) -> Result<i32> {
    let (what, bytes) = match program {
        None => ("kernel".to_string(), embedded::KERNEL),
        Some(name) => match embedded::program(name) {
            Some((n, elf)) => (format!("program {n}"), elf),
            None => {
                return Err(bad_input(format!(
                    "no embedded program '{name}' (see lde run --list-programs)"
                )))
            }
        },
    };
    std::fs::write(file, bytes)
        .map_err(|e| bad_input(format!("cannot write '{}': {e}", file.display())))?;
    crate::error::to_stderr(&format!(
        "lde: wrote the embedded {what} ELF ({} bytes) to {}\n",
        bytes.len(),
        file.display()
    ));
    Ok(0)
}

/// A file holding the embedded kernel for gdb to read symbols from: in the
/// temporary directory, named after its contents so that runs of the same
/// `lde` share it and a rebuilt one never reads stale symbols.
pub fn embedded_kernel_file() -> Result<PathBuf> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    embedded::KERNEL.hash(&mut h);
    let path = std::env::temp_dir().join(format!("lde-kernel-{:016x}.elf", h.finish()));
    let fresh = std::fs::metadata(&path).is_ok_and(|m| m.len() == embedded::KERNEL.len() as u64);
    if !fresh {
        // Write then rename, so a concurrent run never reads half a file.
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        std::fs::write(&tmp, embedded::KERNEL)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(path)
}

/// The line to paste to attach gdb.
pub fn gdb_command(kernel: &Path, addr: SocketAddr) -> String {
    format!(
        "gdb -q {} -ex 'target remote {addr}'",
        shell_quote(&kernel.display().to_string())
    )
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line() {
        let addr: SocketAddr = "127.0.0.1:1234".parse().unwrap();
        assert_eq!(
            gdb_command(Path::new("/tmp/k.elf"), addr),
            "gdb -q /tmp/k.elf -ex 'target remote 127.0.0.1:1234'"
        );
        assert_eq!(shell_quote("a b'c"), r"'a b'\''c'");
    }

    #[test]
    fn embedded_kernel_has_symbols_and_debug_info() {
        let elf = elf::ElfBytes::<elf::endian::LittleEndian>::minimal_parse(embedded::KERNEL)
            .expect("the kernel is an ELF");
        let (symtab, strtab) = elf
            .symbol_table()
            .expect("symbol table")
            .expect("the kernel is not stripped");
        let names: Vec<&str> = symtab
            .iter()
            .filter_map(|s| strtab.get(s.st_name as usize).ok())
            .collect();
        assert!(
            names
                .iter()
                .any(|n| n.contains("trap") && n.contains("dispatch")),
            "trap::dispatch in the symbol table"
        );
        assert!(
            elf.section_header_by_name(".debug_info")
                .expect("section headers")
                .is_some(),
            "the kernel carries DWARF debug info"
        );
    }
}
