//! The ELF note that marks a file as an lde kernel.
//!
//! The kernel carries a note in section [`SECTION`] with owner [`NAME`],
//! type [`TYPE`] and a 4-byte little-endian descriptor holding
//! [`crate::CONTRACT_VERSION`]. The VMM checks it before creating the VM, so
//! a Linux executable or a kernel built against another contract is refused
//! by name instead of crashing in the guest.

/// Section the note lives in.
pub const SECTION: &str = ".note.lde";
/// Note owner, NUL-terminated as ELF wants.
pub const NAME: &[u8; 4] = b"lde\0";
/// Note type: "contract version".
pub const TYPE: u32 = 1;

/// The note as laid out in memory (ELF64 notes use 4-byte fields).
#[repr(C, align(4))]
pub struct Note {
    pub namesz: u32,
    pub descsz: u32,
    pub ntype: u32,
    pub name: [u8; 4],
    pub desc: u32,
}

impl Note {
    /// The note for this contract version.
    pub const fn current() -> Self {
        Note {
            namesz: NAME.len() as u32,
            descsz: 4,
            ntype: TYPE,
            name: *NAME,
            desc: crate::CONTRACT_VERSION,
        }
    }
}
