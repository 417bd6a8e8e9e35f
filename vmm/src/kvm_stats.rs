//! KVM's binary statistics (`KVM_GET_STATS_FD`) for the vCPU.
//!
//! Most exits never reach the VMM (KVM handles `hlt`, APIC timer and
//! interrupt injection in the kernel), so the exit log alone undercounts.
//! These counters, read at start and at end, show the rest.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::FileExt;

use kvm_ioctls::VcpuFd;

/// `KVM_GET_STATS_FD` = `_IO(KVMIO, 0xce)`.
const KVM_GET_STATS_FD: u64 = 0xae << 8 | 0xce;
/// Stat type mask and the "cumulative counter" type.
const STAT_TYPE_MASK: u32 = 0xf;
const STAT_TYPE_CUMULATIVE: u32 = 0;

/// The counters shown in the summary, in this order.
pub const SHOWN: &[&str] = &[
    "exits",
    "io_exits",
    "mmio_exits",
    "halt_exits",
    "irq_exits",
    "irq_injections",
    "insn_emulation",
    "pf_guest",
    "signal_exits",
];

struct Desc {
    name: String,
    offset: u64,
}

pub struct KvmStats {
    file: File,
    data_offset: u64,
    /// Bytes of the data block that hold the counters we read.
    data_len: usize,
    descs: Vec<Desc>,
}

impl KvmStats {
    /// Open the vCPU's stats; `None` when the host kernel has none.
    pub fn open(vcpu: &VcpuFd) -> Option<KvmStats> {
        // SAFETY: KVM_GET_STATS_FD takes no argument and returns a new fd
        // (or -1); the vCPU fd is valid for the call.
        let fd = unsafe { libc::ioctl(vcpu.as_raw_fd(), KVM_GET_STATS_FD as _, 0) };
        if fd < 0 {
            return None;
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let file = unsafe { File::from_raw_fd(fd) };
        Self::parse(file)
    }

    fn parse(file: File) -> Option<KvmStats> {
        let mut hdr = [0u8; 24];
        file.read_exact_at(&mut hdr, 0).ok()?;
        let word = |i: usize| u32::from_le_bytes(hdr[i * 4..i * 4 + 4].try_into().unwrap());
        let (name_size, num_desc, desc_offset, data_offset) = (word(1), word(2), word(4), word(5));
        if name_size == 0 || name_size > 256 || num_desc > 4096 {
            return None;
        }
        let desc_len = 16 + name_size as usize;
        let mut buf = vec![0u8; desc_len * num_desc as usize];
        file.read_exact_at(&mut buf, desc_offset as u64).ok()?;
        let mut descs = Vec::new();
        for d in buf.chunks_exact(desc_len) {
            let flags = u32::from_le_bytes(d[0..4].try_into().unwrap());
            let size = u16::from_le_bytes(d[6..8].try_into().unwrap());
            let offset = u32::from_le_bytes(d[8..12].try_into().unwrap());
            let name = &d[16..];
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            if flags & STAT_TYPE_MASK == STAT_TYPE_CUMULATIVE && size == 1 {
                descs.push(Desc {
                    name: String::from_utf8_lossy(&name[..end]).into_owned(),
                    offset: offset as u64,
                });
            }
        }
        let data_len = descs
            .iter()
            .map(|d| d.offset as usize + 8)
            .max()
            .unwrap_or(0);
        if data_len > 1 << 20 {
            return None;
        }
        Some(KvmStats {
            file,
            data_offset: data_offset as u64,
            data_len,
            descs,
        })
    }

    /// Every cumulative counter, now.
    pub fn read(&self) -> BTreeMap<String, u64> {
        // One read of the data block, not one per counter.
        let mut data = vec![0u8; self.data_len];
        if self
            .file
            .read_exact_at(&mut data, self.data_offset)
            .is_err()
        {
            return BTreeMap::new();
        }
        self.descs
            .iter()
            .map(|d| {
                let at = d.offset as usize;
                let v = u64::from_le_bytes(data[at..at + 8].try_into().unwrap());
                (d.name.clone(), v)
            })
            .collect()
    }
}

/// End minus start, counter by counter.
pub fn delta(start: &BTreeMap<String, u64>, end: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    end.iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.saturating_sub(start.get(k).copied().unwrap_or(0)),
            )
        })
        .collect()
}
