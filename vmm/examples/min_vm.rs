//! The smallest complete VM lifecycle, as the baseline for `lde run`'s boot
//! time (scripts/bench_boot.py): create a VM with 4 MiB of RAM and the
//! in-kernel irqchip, one vCPU started directly in 64-bit mode (PVM hosts
//! run nothing else), run it to its first exit, exit.
//!
//! The guest is three bytes: `out 0xf4, al; hlt`. The example exits with
//! status 0 when the first exit is that `out`, 1 otherwise.
//!
//! `--phases` prints how long each step took (microseconds) on stderr.
//!
//! ```text
//! cargo run --release --example min_vm -- --phases
//! ```

use std::time::Instant;

use kvm_bindings::{kvm_userspace_memory_region, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::{Kvm, VcpuExit};
use lde::boot::{segment, BOOT_GDT_ENTRIES, KERNEL_CS, KERNEL_DS};

const RAM_SIZE: usize = 4 << 20;
/// Guest-physical addresses of the boot structures and the code.
const GDT: u64 = 0x1000;
const PML4: u64 = 0x2000;
const PDPT: u64 = 0x3000;
const PD: u64 = 0x4000;
const CODE: u64 = 0x10_0000;
/// `out 0xf4, al; hlt` (0xf4: lde's exit device port).
const GUEST_CODE: [u8; 3] = [0xe6, 0xf4, 0xf4];
const PORT: u16 = lde_abi::ports::EXIT;

/// Anonymous host memory for the guest, unmapped on drop.
struct Ram {
    ptr: *mut u8,
    len: usize,
}

impl Ram {
    fn new(len: usize) -> Ram {
        // SAFETY: an anonymous private mapping with no address hint; the
        // result is checked against MAP_FAILED before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        assert!(ptr != libc::MAP_FAILED, "mmap of guest RAM failed");
        Ram {
            ptr: ptr.cast(),
            len,
        }
    }

    fn write(&mut self, addr: u64, bytes: &[u8]) {
        let addr = addr as usize;
        assert!(addr + bytes.len() <= self.len, "write outside guest RAM");
        // SAFETY: the range was just checked to lie inside the mapping, which
        // this `Ram` owns, and `&mut self` means nothing else writes it now.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.add(addr), bytes.len()) };
    }

    fn write_u64(&mut self, addr: u64, value: u64) {
        self.write(addr, &value.to_le_bytes());
    }
}

impl Drop for Ram {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly the mapping made in `new`; main
        // drops the VM that used it first.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

fn main() {
    let phases = std::env::args().any(|a| a == "--phases");
    let t0 = Instant::now();
    let mut marks: Vec<(&str, Instant)> = Vec::new();

    let kvm = Kvm::new().expect("opening /dev/kvm");
    let vm = kvm.create_vm().expect("KVM_CREATE_VM");
    vm.create_irq_chip().expect("KVM_CREATE_IRQCHIP");
    marks.push(("create VM + irqchip", Instant::now()));

    let mut ram = Ram::new(RAM_SIZE);
    // lde's boot GDT: null, unused, kernel code 0x10, kernel data 0x18.
    for (i, e) in BOOT_GDT_ENTRIES.iter().enumerate() {
        ram.write_u64(GDT + 8 * i as u64, *e);
    }
    // Identity map of the first 4 MiB with two 2 MiB pages.
    ram.write_u64(PML4, PDPT | 3);
    ram.write_u64(PDPT, PD | 3);
    ram.write_u64(PD, 0x83);
    ram.write_u64(PD + 8, (2 << 20) | 0x83);
    ram.write(CODE, &GUEST_CODE);
    let region = kvm_userspace_memory_region {
        slot: 0,
        flags: 0,
        guest_phys_addr: 0,
        memory_size: RAM_SIZE as u64,
        userspace_addr: ram.ptr as u64,
    };
    // SAFETY: the region is `ram`'s mapping, which outlives the VM: main
    // drops the vCPU and the VM before `ram` (see the end of main).
    unsafe { vm.set_user_memory_region(region) }.expect("KVM_SET_USER_MEMORY_REGION");
    marks.push(("4 MiB RAM + tables", Instant::now()));

    let mut vcpu = vm.create_vcpu(0).expect("KVM_CREATE_VCPU");
    // Long mode needs the LM bit in the guest's CPUID.
    let cpuid = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .expect("KVM_GET_SUPPORTED_CPUID");
    vcpu.set_cpuid2(&cpuid).expect("KVM_SET_CPUID2");
    let mut sregs = vcpu.get_sregs().expect("KVM_GET_SREGS");
    sregs.cr0 = 0x8000_0033; // PG | NE | ET | MP | PE
    sregs.cr3 = PML4;
    sregs.cr4 = 1 << 5; // PAE
    sregs.efer = (1 << 8) | (1 << 10); // LME | LMA
    sregs.cs = segment(KERNEL_CS, true);
    let data = segment(KERNEL_DS, false);
    (sregs.ds, sregs.es, sregs.fs, sregs.gs, sregs.ss) = (data, data, data, data, data);
    sregs.gdt.base = GDT;
    sregs.gdt.limit = (BOOT_GDT_ENTRIES.len() * 8 - 1) as u16;
    vcpu.set_sregs(&sregs).expect("KVM_SET_SREGS");
    let regs = kvm_bindings::kvm_regs {
        rip: CODE,
        rflags: 2,
        ..Default::default()
    };
    vcpu.set_regs(&regs).expect("KVM_SET_REGS");
    marks.push(("vCPU in long mode", Instant::now()));

    let ok = match vcpu.run() {
        Ok(VcpuExit::IoOut(PORT, _)) => true,
        other => {
            eprintln!("min_vm: unexpected first exit: {other:?}");
            false
        }
    };
    marks.push(("run to first exit", Instant::now()));

    drop(vcpu);
    drop(vm);
    drop(ram);
    drop(kvm);
    marks.push(("tear down", Instant::now()));

    if phases {
        let mut last = t0;
        for (what, t) in &marks {
            eprintln!(
                "{what:>22}: {:>8.0} us",
                t.duration_since(last).as_secs_f64() * 1e6
            );
            last = *t;
        }
        eprintln!(
            "{:>22}: {:>8.0} us",
            "total in main",
            t0.elapsed().as_secs_f64() * 1e6
        );
    }
    std::process::exit(if ok { 0 } else { 1 });
}
