//! The console port: the lde kernel's text, a buffer per exit (lde-abi
//! `console`), printed on the same console as COM1.

use lde_abi::console::{BYTES_OFFSET, CAPACITY};

use crate::memory::GuestRam;

/// The text of the buffer whose guest-physical address the guest wrote
/// (`data`, the `out`'s bytes). The guest is untrusted: a bad address or
/// length is a broken contract, described in the error.
pub fn text(ram: &GuestRam, data: &[u8]) -> Result<Vec<u8>, String> {
    let Ok(addr) = <[u8; 4]>::try_from(data).map(u32::from_le_bytes) else {
        return Err(format!(
            "the guest wrote {} bytes to the console port, which takes a 32-bit address",
            data.len()
        ));
    };
    let addr = addr as u64;
    let mut len = [0u8; 4];
    ram.read(addr, &mut len)
        .map_err(|e| format!("console buffer: {e}"))?;
    let len = u32::from_le_bytes(len) as usize;
    if len > CAPACITY {
        return Err(format!(
            "console buffer at {addr:#x} says {len} bytes, more than its {CAPACITY}"
        ));
    }
    let mut bytes = vec![0u8; len];
    ram.read(addr + BYTES_OFFSET, &mut bytes)
        .map_err(|e| format!("console buffer: {e}"))?;
    Ok(bytes)
}
