//! Guest memory as gdb sees it: guest-virtual addresses, translated through
//! the guest's page tables at the current CR3 with `KVM_TRANSLATE`, one
//! page at a time. Unmapped, or mapped outside guest RAM: the access stops
//! there and gdb gets an error, never the VMM a crash.

use kvm_ioctls::VcpuFd;
use lde_abi::layout::PAGE_SIZE;

use crate::memory::GuestRam;

/// The guest-physical address behind `gva`, if it is mapped to RAM.
pub fn translate(vcpu: &VcpuFd, ram: &GuestRam, gva: u64) -> Option<u64> {
    // KVM's walk ignores bits 63-48; the CPU would fault on such an address.
    if !canonical(gva) {
        return None;
    }
    let t = vcpu.translate_gva(gva).ok()?;
    (t.valid != 0 && ram.contains(t.physical_address, 1)).then_some(t.physical_address)
}

/// Bits 63-48 copies of bit 47 (x86-64, 4-level paging).
fn canonical(gva: u64) -> bool {
    ((gva << 16) as i64 >> 16) as u64 == gva
}

/// The pieces of `[gva, gva + len)` that stay in one page each: (gva,
/// offset in the buffer, length).
fn pages(gva: u64, len: usize) -> impl Iterator<Item = (u64, usize, usize)> {
    let mut done = 0usize;
    std::iter::from_fn(move || {
        if done >= len {
            return None;
        }
        let at = gva.wrapping_add(done as u64);
        let in_page = (PAGE_SIZE - at % PAGE_SIZE) as usize;
        let n = in_page.min(len - done);
        let piece = (at, done, n);
        done += n;
        Some(piece)
    })
}

/// Read from `gva` into `buf`; returns how many bytes could be read (it
/// stops at the first unmapped page).
pub fn read(vcpu: &VcpuFd, ram: &GuestRam, gva: u64, buf: &mut [u8]) -> usize {
    let len = buf.len();
    for (at, off, n) in pages(gva, len) {
        let ok = translate(vcpu, ram, at)
            .filter(|&pa| ram.contains(pa, n as u64))
            .is_some_and(|pa| ram.read(pa, &mut buf[off..off + n]).is_ok());
        if !ok {
            return off;
        }
    }
    len
}

/// Write `data` at `gva`: all of it, or nothing when any page is unmapped.
/// Page protection is not checked: the debugger may write read-only text
/// (that is how software breakpoints go in).
pub fn write(vcpu: &VcpuFd, ram: &GuestRam, gva: u64, data: &[u8]) -> bool {
    let mut targets = Vec::new();
    for (at, off, n) in pages(gva, data.len()) {
        match translate(vcpu, ram, at).filter(|&pa| ram.contains(pa, n as u64)) {
            Some(pa) => targets.push((pa, off, n)),
            None => return false,
        }
    }
    targets
        .into_iter()
        .all(|(pa, off, n)| ram.write(pa, &data[off..off + n]).is_ok())
}

#[cfg(test)]
mod tests {
    use super::{canonical, pages};

    #[test]
    fn canonical_addresses() {
        assert!(canonical(0x7fff_ffff_f000));
        assert!(canonical(0xffff_8000_0000_0000));
        assert!(!canonical(0x8000_0000_0000_0000));
        assert!(!canonical(0x0000_8000_0000_0000));
    }

    #[test]
    fn splits_at_page_boundaries() {
        let v: Vec<_> = pages(0x1ffe, 5).collect();
        assert_eq!(v, vec![(0x1ffe, 0, 2), (0x2000, 2, 3)]);
        assert_eq!(pages(0x1000, 0).count(), 0);
        let v: Vec<_> = pages(u64::MAX - 1, 4).collect();
        assert_eq!(v, vec![(u64::MAX - 1, 0, 2), (0, 2, 2)]);
    }
}
