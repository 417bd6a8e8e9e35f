//! Start the vCPU directly in 64-bit long mode.
//!
//! PVM hosts (KVM without VMX/SVM) only run guests in long mode, so instead of a
//! real-mode boot the VMM does what a boot loader would: it writes a GDT and
//! page tables into guest RAM, sets CR0/CR3/CR4/EFER and the segment
//! registers, and points RIP at the kernel entry with RDI = boot info.

use anyhow::{Context, Result};
use kvm_bindings::{kvm_regs, kvm_segment};
use kvm_ioctls::VcpuFd;
use lde_abi::boot::BootInfo;
use lde_abi::layout::*;

use crate::memory::GuestRam;

const CR0_PE: u64 = 1 << 0;
const CR0_MP: u64 = 1 << 1;
const CR0_ET: u64 = 1 << 4;
const CR0_NE: u64 = 1 << 5;
const CR0_WP: u64 = 1 << 16;
const CR0_PG: u64 = 1 << 31;
const CR4_PAE: u64 = 1 << 5;
const EFER_LME: u64 = 1 << 8;
const EFER_LMA: u64 = 1 << 10;
const EFER_NXE: u64 = 1 << 11;

const PTE_PRESENT: u64 = 1 << 0;
const PTE_WRITABLE: u64 = 1 << 1;
const PTE_HUGE: u64 = 1 << 7;

/// Kernel code and data selectors: the guest kernel's own GDT keeps them
/// (lde-abi `cpu::selector`, Linux's layout).
pub use lde_abi::cpu::selector::{KERNEL_CS, KERNEL_DS};

/// The boot GDT: null, unused, 64-bit kernel code (0x10), kernel data (0x18).
pub const BOOT_GDT_ENTRIES: [u64; 4] = [0, 0, 0x00af_9a00_0000_ffff, 0x00cf_9200_0000_ffff];

/// Write the boot GDT and page tables into guest RAM.
///
/// The page tables map, with 2 MiB pages: RAM at 0 (identity, for the
/// first instructions), RAM at `DIRECT_MAP`, and the first GiB at
/// `KERNEL_VIRT` (where the kernel image is linked).
pub fn write_boot_tables(ram: &GuestRam) -> Result<()> {
    for (i, e) in BOOT_GDT_ENTRIES.iter().enumerate() {
        ram.write_u64(BOOT_GDT + 8 * i as u64, *e)?;
    }
    let gib = 1u64 << 30;
    let pds = ram.size().div_ceil(gib);
    let table = PTE_PRESENT | PTE_WRITABLE;
    // The direct map and the kernel image share the last PML4 slot.
    debug_assert_eq!(pml4_index(DIRECT_MAP), pml4_index(KERNEL_VIRT));
    ram.write_u64(BOOT_PML4, BOOT_PDPT_LOW | table)?;
    ram.write_u64(
        BOOT_PML4 + 8 * pml4_index(KERNEL_VIRT),
        BOOT_PDPT_HIGH | table,
    )?;
    ram.write_u64(
        BOOT_PDPT_HIGH + 8 * pdpt_index(KERNEL_VIRT),
        BOOT_PD | table,
    )?;
    for pd in 0..pds {
        let pd_addr = BOOT_PD + pd * PAGE_SIZE;
        ram.write_u64(BOOT_PDPT_LOW + 8 * pd, pd_addr | table)?;
        ram.write_u64(
            BOOT_PDPT_HIGH + 8 * (pdpt_index(DIRECT_MAP) + pd),
            pd_addr | table,
        )?;
        for i in 0..512 {
            let phys = pd * gib + i * HUGE_PAGE_SIZE;
            if phys >= ram.size() {
                break;
            }
            ram.write_u64(pd_addr + 8 * i, phys | table | PTE_HUGE)?;
        }
    }
    Ok(())
}

fn pml4_index(virt: u64) -> u64 {
    (virt >> 39) & 511
}

fn pdpt_index(virt: u64) -> u64 {
    (virt >> 30) & 511
}

/// A flat 64-bit kernel code (`code`) or data segment for `selector`.
pub fn segment(selector: u16, code: bool) -> kvm_segment {
    kvm_segment {
        base: 0,
        limit: 0xffff_ffff,
        selector,
        type_: if code { 0xb } else { 0x3 },
        present: 1,
        dpl: 0,
        db: u8::from(!code),
        s: 1,
        l: u8::from(code),
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
}

/// Put the vCPU in 64-bit kernel mode at `entry`, with RDI = boot info.
pub fn setup_vcpu(vcpu: &VcpuFd, entry: u64, nx: bool) -> Result<()> {
    let mut sregs = vcpu.get_sregs().context("KVM_GET_SREGS")?;
    sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    sregs.cr3 = BOOT_PML4;
    sregs.cr4 = CR4_PAE;
    sregs.efer = EFER_LME | EFER_LMA | if nx { EFER_NXE } else { 0 };
    sregs.cs = segment(KERNEL_CS, true);
    let data = segment(KERNEL_DS, false);
    sregs.ds = data;
    sregs.es = data;
    sregs.fs = data;
    sregs.gs = data;
    sregs.ss = data;
    sregs.gdt.base = BOOT_GDT;
    sregs.gdt.limit = (BOOT_GDT_ENTRIES.len() * 8 - 1) as u16;
    vcpu.set_sregs(&sregs).context("KVM_SET_SREGS")?;

    let regs = kvm_regs {
        rip: entry,
        rdi: BOOT_INFO,
        rflags: 0x2,
        ..Default::default()
    };
    vcpu.set_regs(&regs).context("KVM_SET_REGS")?;
    Ok(())
}

/// Write the boot info and the command line.
pub fn write_boot_info(ram: &GuestRam, info: &mut BootInfo, cmdline: &str) -> Result<()> {
    let bytes = cmdline.as_bytes();
    if bytes.len() > CMDLINE_MAX {
        return Err(crate::error::bad_input(format!(
            "the kernel command line is {} bytes; at most {CMDLINE_MAX}",
            bytes.len()
        )));
    }
    ram.write(CMDLINE, bytes)?;
    info.cmdline_addr = CMDLINE;
    info.cmdline_len = bytes.len() as u64;
    ram.write_pod(BOOT_INFO, info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tables_map_kernel_and_direct_map() {
        let ram = GuestRam::new(64 << 20).unwrap();
        write_boot_tables(&ram).unwrap();
        // Walk KERNEL_VIRT + KERNEL_PHYS by hand.
        let v = KERNEL_VIRT + KERNEL_PHYS;
        let pml4e = ram.read_u64(BOOT_PML4 + 8 * pml4_index(v)).unwrap();
        let pdpte = ram.read_u64((pml4e & !0xfff) + 8 * pdpt_index(v)).unwrap();
        let pde = ram
            .read_u64((pdpte & !0xfff) + 8 * ((v >> 21) & 511))
            .unwrap();
        assert_eq!(pde & PTE_HUGE, PTE_HUGE);
        assert_eq!(pde & !0x1fffff, 0, "first 2 MiB maps to physical 0");
        // The direct map covers the last 2 MiB of RAM and nothing past it.
        let last = DIRECT_MAP + (64 << 20) - 1;
        let pdpte = ram.read_u64(BOOT_PDPT_HIGH + 8 * pdpt_index(last)).unwrap();
        let pde = ram
            .read_u64((pdpte & !0xfff) + 8 * ((last >> 21) & 511))
            .unwrap();
        assert_eq!(
            pde & !0x1fffff & 0x000f_ffff_ffff_f000,
            (64 << 20) - (2 << 20)
        );
        let past = ram
            .read_u64((pdpte & !0xfff) + 8 * (((last + 1) >> 21) & 511))
            .unwrap();
        assert_eq!(past, 0);
    }
}
