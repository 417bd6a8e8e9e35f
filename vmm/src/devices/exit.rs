//! The exit device: one 32-bit `out` ends the VM (lde-abi `exit`).

use lde_abi::exit::{GUEST_MAX, KIND_EXIT, KIND_PANIC, VALUE_KIND_SHIFT, VALUE_STATUS_MASK};

/// What the guest asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestExit {
    /// A normal end with this status.
    Status(u8),
    /// The kernel panicked.
    Panic,
    /// A value the contract does not define.
    Invalid(u64),
}

/// Decode a write of `data` (1, 2 or 4 bytes, little endian).
pub fn decode(data: &[u8]) -> GuestExit {
    let mut b = [0u8; 4];
    let n = data.len().min(4);
    b[..n].copy_from_slice(&data[..n]);
    let value = u32::from_le_bytes(b);
    let status = (value & VALUE_STATUS_MASK) as u8;
    match value >> VALUE_KIND_SHIFT {
        KIND_EXIT if data.len() == 4 && status <= GUEST_MAX => GuestExit::Status(status),
        KIND_PANIC if data.len() == 4 => GuestExit::Panic,
        _ => GuestExit::Invalid(value as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lde_abi::exit::encode;

    #[test]
    fn decodes_the_contract() {
        assert_eq!(
            decode(&encode(KIND_EXIT, 7).to_le_bytes()),
            GuestExit::Status(7)
        );
        assert_eq!(
            decode(&encode(KIND_PANIC, 0).to_le_bytes()),
            GuestExit::Panic
        );
        assert_eq!(
            decode(&encode(KIND_EXIT, 200).to_le_bytes()),
            GuestExit::Invalid(200)
        );
        assert_eq!(decode(&[7]), GuestExit::Invalid(7));
        assert!(matches!(
            decode(&0x500u32.to_le_bytes()),
            GuestExit::Invalid(_)
        ));
    }
}
