//! The KVM objects: the VM, its RAM slot, the in-kernel irqchip, the vCPU
//! and its CPUID.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStringExt;

use anyhow::{anyhow, Context, Result};
use kvm_bindings::{kvm_userspace_memory_region, CpuId, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::{Kvm, VcpuFd, VmFd};

use crate::error::bad_input;
use crate::memory::GuestRam;

/// CPUID leaf 1 ECX bit: x2APIC.
const CPUID_X2APIC: u32 = 1 << 21;
/// CPUID leaf 1 ECX bit: running under a hypervisor (the guest then reads
/// the hypervisor's signature at leaf 0x4000_0000).
const CPUID_HYPERVISOR: u32 = 1 << 31;

/// Where KVM puts the real-mode TSS on Intel hosts (needed there, harmless
/// elsewhere): three pages just below 4 GiB, outside guest RAM.
const TSS_ADDRESS: usize = 0xfffb_d000;

pub struct Vm {
    pub kvm: Kvm,
    pub fd: VmFd,
    pub ram: GuestRam,
    /// KVM_GET_SUPPORTED_CPUID, asked once (it costs about 0.4 ms on the
    /// nested hosts we measured).
    pub supported_cpuid: CpuId,
}

/// The environment variable that names the KVM device instead of
/// `/dev/kvm`. Meant for tests (e.g. `LDE_KVM_DEVICE=/nonexistent` checks
/// the advice lde gives on a host without KVM); not part of the CLI.
pub const KVM_DEVICE_ENV: &str = "LDE_KVM_DEVICE";
/// The KVM device when [`KVM_DEVICE_ENV`] is not set.
pub const KVM_DEVICE: &str = "/dev/kvm";

/// Open the KVM device (`/dev/kvm`, or `$LDE_KVM_DEVICE`), turning the usual
/// failures into advice.
pub fn open_kvm() -> Result<Kvm> {
    let path = std::env::var_os(KVM_DEVICE_ENV)
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| KVM_DEVICE.into());
    let shown = path.to_string_lossy().into_owned();
    let c_path = CString::new(path.into_vec())
        .map_err(|_| bad_input(format!("{KVM_DEVICE_ENV}='{shown}' contains a NUL byte")))?;
    Kvm::new_with_path(&c_path).map_err(|e| match e.errno() {
        libc::ENOENT => bad_input(format!(
            "{shown} does not exist: KVM is not available here (enable virtualization in the \
             firmware or nested virtualization, and load kvm_intel or kvm_amd)"
        )),
        libc::EACCES | libc::EPERM => bad_input(format!(
            "permission denied on {shown}: add yourself to the kvm group \
             (sudo usermod -aG kvm $USER, then log in again) or run as root"
        )),
        _ => anyhow!(
            "opening {shown}: {}",
            io::Error::from_raw_os_error(e.errno())
        ),
    })
}

impl Vm {
    /// A VM with `ram` bytes of RAM at guest-physical 0 and the in-kernel
    /// PIC/IOAPIC/LAPIC (so the guest's APIC timer runs inside KVM).
    pub fn new(kvm: Kvm, ram_size: u64) -> Result<Vm> {
        let api = kvm.get_api_version();
        if api != 12 {
            return Err(anyhow!("unsupported KVM API version {api} (need 12)"));
        }
        let fd = kvm.create_vm().context("KVM_CREATE_VM")?;
        fd.set_tss_address(TSS_ADDRESS)
            .context("KVM_SET_TSS_ADDR")?;
        fd.create_irq_chip().context("KVM_CREATE_IRQCHIP")?;
        let supported_cpuid = kvm
            .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
            .context("KVM_GET_SUPPORTED_CPUID")?;
        let ram = GuestRam::new(ram_size)?;
        let region = kvm_userspace_memory_region {
            slot: 0,
            flags: 0,
            guest_phys_addr: lde_abi::layout::RAM_START,
            memory_size: ram_size,
            userspace_addr: ram.host_base()?,
        };
        // SAFETY: the region is backed by `ram`'s mapping, which lives as long
        // as the VM (both are owned by `Vm`, and the vCPU thread holds a clone
        // of the mapping until it stops running the guest).
        unsafe { fd.set_user_memory_region(region) }.context("KVM_SET_USER_MEMORY_REGION")?;
        Ok(Vm {
            kvm,
            fd,
            ram,
            supported_cpuid,
        })
    }

    /// Create vCPU 0 with the host's supported CPUID, x2APIC on.
    pub fn create_vcpu(&self) -> Result<VcpuFd> {
        let vcpu = self.fd.create_vcpu(0).context("KVM_CREATE_VCPU")?;
        let mut cpuid = self.supported_cpuid.clone();
        for entry in cpuid.as_mut_slice() {
            if entry.function == 1 {
                entry.ecx |= CPUID_X2APIC | CPUID_HYPERVISOR;
                // Initial APIC ID (bits 31..24) = vCPU 0.
                entry.ebx &= 0x00ff_ffff;
            }
        }
        vcpu.set_cpuid2(&cpuid).context("KVM_SET_CPUID2")?;
        Ok(vcpu)
    }

    /// Does the host support no-execute pages? (CPUID 0x8000_0001 EDX bit 20.)
    pub fn host_has_nx(&self) -> bool {
        self.supported_cpuid
            .as_slice()
            .iter()
            .any(|e| e.function == 0x8000_0001 && e.edx & (1 << 20) != 0)
    }
}
