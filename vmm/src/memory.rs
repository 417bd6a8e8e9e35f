//! Guest RAM: one anonymous mapping (vm-memory) registered as KVM slot 0, and
//! checked access to it.
//!
//! The guest is untrusted: every address and length it hands us goes through
//! [`GuestRam::read`] / [`GuestRam::write`], which fail instead of touching
//! memory outside RAM.

use anyhow::{anyhow, Context, Result};
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};

#[derive(Clone)]
pub struct GuestRam {
    mem: GuestMemoryMmap,
    size: u64,
}

impl GuestRam {
    pub fn new(size: u64) -> Result<Self> {
        let mem = GuestMemoryMmap::from_ranges(&[(
            GuestAddress(lde_abi::layout::RAM_START),
            size as usize,
        )])
        .with_context(|| format!("allocating {} MiB of guest RAM", size >> 20))?;
        Ok(GuestRam { mem, size })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn mmap(&self) -> &GuestMemoryMmap {
        &self.mem
    }

    /// Host address of guest-physical 0, for `KVM_SET_USER_MEMORY_REGION`.
    pub fn host_base(&self) -> Result<u64> {
        let ptr = self
            .mem
            .get_host_address(GuestAddress(0))
            .map_err(|e| anyhow!("guest RAM has no host address: {e}"))?;
        Ok(ptr as u64)
    }

    /// Is `[addr, addr + len)` inside RAM (without overflow)?
    pub fn contains(&self, addr: u64, len: u64) -> bool {
        addr.checked_add(len).is_some_and(|end| end <= self.size)
    }

    pub fn write(&self, addr: u64, bytes: &[u8]) -> Result<()> {
        if !self.contains(addr, bytes.len() as u64) {
            return Err(anyhow!(
                "write of {} bytes at {addr:#x} is outside guest RAM",
                bytes.len()
            ));
        }
        self.mem
            .write_slice(bytes, GuestAddress(addr))
            .map_err(|e| anyhow!("writing guest RAM at {addr:#x}: {e}"))
    }

    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        if !self.contains(addr, buf.len() as u64) {
            return Err(anyhow!(
                "read of {} bytes at {addr:#x} is outside guest RAM",
                buf.len()
            ));
        }
        self.mem
            .read_slice(buf, GuestAddress(addr))
            .map_err(|e| anyhow!("reading guest RAM at {addr:#x}: {e}"))
    }

    pub fn write_u64(&self, addr: u64, value: u64) -> Result<()> {
        self.write(addr, &value.to_le_bytes())
    }

    pub fn read_u64(&self, addr: u64) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Write a plain-data contract structure (see [`Pod`]).
    pub fn write_pod<T: Pod>(&self, addr: u64, value: &T) -> Result<()> {
        self.write(addr, pod_bytes(value))
    }

    /// Read a plain-data contract structure (see [`Pod`]).
    pub fn read_pod<T: Pod>(&self, addr: u64) -> Result<T> {
        let mut value = T::default();
        // SAFETY: `T: Pod` has no padding and every bit pattern is valid, so
        // viewing it as bytes and filling them from guest RAM is sound.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(
                &mut value as *mut T as *mut u8,
                std::mem::size_of::<T>(),
            )
        };
        self.read(addr, bytes)?;
        Ok(value)
    }
}

/// Contract structures that are plain data: `#[repr(C)]`, only integer
/// fields, explicit padding, so any bytes are a valid value.
///
/// # Safety
/// Implement only for types that satisfy the above.
pub unsafe trait Pod: Copy + Default {}

// SAFETY: repr(C), integer fields only, padding spelled out as fields.
unsafe impl Pod for lde_abi::trace::RingHeader {}
// SAFETY: as above.
unsafe impl Pod for lde_abi::trace::Event {}
// SAFETY: as above.
unsafe impl Pod for lde_abi::boot::BootInfo {}
// SAFETY: as above.
unsafe impl Pod for lde_abi::totals::RunTotals {}

/// The bytes of a plain-data value.
pub fn pod_bytes<T: Pod>(value: &T) -> &[u8] {
    // SAFETY: `T: Pod` has no uninitialised padding bytes.
    unsafe { std::slice::from_raw_parts(value as *const T as *const u8, std::mem::size_of::<T>()) }
}
