//! Which hypervisor are we on? CPUID leaf 0x4000_0000 answers with a
//! 12-byte signature ("KVMKVMKVM" for KVM) when the hypervisor bit is set.

// `__cpuid` is a safe function in recent Rust and an unsafe one in older
// releases (down to the workspace's rust-version); the `unsafe` blocks keep
// both compiling.
#![allow(unused_unsafe)]

use core::arch::x86_64::__cpuid;

/// The hypervisor signature, or `None` on bare metal.
pub fn signature() -> Option<[u8; 12]> {
    // SAFETY: CPUID is always available in 64-bit mode.
    let leaf1 = unsafe { __cpuid(1) };
    if leaf1.ecx & (1 << 31) == 0 {
        return None;
    }
    // SAFETY: as above.
    let r = unsafe { __cpuid(0x4000_0000) };
    let mut sig = [0u8; 12];
    sig[0..4].copy_from_slice(&r.ebx.to_le_bytes());
    sig[4..8].copy_from_slice(&r.ecx.to_le_bytes());
    sig[8..12].copy_from_slice(&r.edx.to_le_bytes());
    Some(sig)
}

/// The signature as text, without the trailing NULs.
pub fn name(sig: &[u8; 12]) -> &str {
    let end = sig.iter().position(|&b| b == 0).unwrap_or(12);
    core::str::from_utf8(&sig[..end]).unwrap_or("?")
}

/// Does the CPU support no-execute pages (CPUID 0x8000_0001 EDX bit 20)?
#[allow(dead_code)] // for the paging code (NX on user data pages)
pub fn has_nx() -> bool {
    // SAFETY: CPUID is always available in 64-bit mode.
    let max = unsafe { __cpuid(0x8000_0000) }.eax;
    // SAFETY: as above; the leaf exists (checked against the maximum).
    max >= 0x8000_0001 && unsafe { __cpuid(0x8000_0001) }.edx & (1 << 20) != 0
}
