//! The guest kernel and user programs built by `build.rs` and embedded in
//! the binary.

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The embedded program called `name`.
pub fn program(name: &str) -> Option<(&'static str, &'static [u8])> {
    PROGRAMS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(n, _, elf)| (*n, *elf))
}
