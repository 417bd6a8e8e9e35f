//! Which hypervisor are we on? CPUID leaf 0x4000_0000 answers with a
//! 12-byte signature ("KVMKVMKVM" for KVM) when the hypervisor bit is set.

use core::arch::x86_64::__cpuid;

/// The hypervisor signature, or `None` on bare metal.
pub fn signature() -> Option<[u8; 12]> {
    let leaf1 = __cpuid(1);
    if leaf1.ecx & (1 << 31) == 0 {
        return None;
    }
    let r = __cpuid(0x4000_0000);
    let mut sig = [0u8; 12];
    sig[0..4].copy_from_slice(&r.ebx.to_le_bytes());
    sig[4..8].copy_from_slice(&r.ecx.to_le_bytes());
    sig[8..12].copy_from_slice(&r.edx.to_le_bytes());
    Some(sig)
}

/// The signature without the trailing NULs, as bytes (printed as they
/// are; checking them as UTF-8 would cost more than the rest of the line).
pub fn name(sig: &[u8; 12]) -> &[u8] {
    let end = sig.iter().position(|&b| b == 0).unwrap_or(12);
    &sig[..end]
}
