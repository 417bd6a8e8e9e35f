//! The lde guest kernel.
//!
//! It boots in kernel mode (entered by the VMM in 64-bit mode), says hello
//! on the serial console, and ends the VM through the exit device.
#![no_std]
#![no_main]

mod boot;
mod cmdline;
mod console;
mod hypervisor;
mod panic;
mod serial;
mod trace;
mod vmexit;

use cmdline::Crash;
use lde_abi::trace::kind;

/// Rust entry, called by `_start` with the boot info's physical address.
#[no_mangle]
pub extern "C" fn kernel_main(boot_info_phys: u64) -> ! {
    serial::init();
    let Some(info) = boot::boot_info(boot_info_phys) else {
        println!("lde kernel: no valid boot info at {boot_info_phys:#x}; not started by lde?");
        vmexit::panic_exit();
    };
    trace::init(info.trace_ring_addr, info.trace_ring_size);
    trace::record(
        kind::BOOT,
        0,
        [info.tsc_khz, info.quantum_us, info.sched as u64, 0, 0, 0],
    );
    trace::flush();

    println!(
        "lde kernel {} (contract v{})",
        env!("CARGO_PKG_VERSION"),
        lde_abi::CONTRACT_VERSION
    );
    match hypervisor::signature() {
        Some(sig) => println!("hypervisor: {}", hypervisor::name(&sig)),
        None => println!("hypervisor: none"),
    }
    println!(
        "memory: {} MiB, {} region(s)",
        info.mem_size >> 20,
        info.region_count
    );

    let cmdline = boot::cmdline(info);
    let args = match cmdline::parse(cmdline) {
        Ok(args) => args,
        Err(word) => {
            println!("lde kernel: unknown kernel argument '{word}'");
            vmexit::exit(2);
        }
    };

    match args.crash {
        Some(Crash::TripleFault) => crash_triple_fault(),
        Some(Crash::Panic) => panic!("kernel argument crash=panic"),
        None => {}
    }
    if args.spin {
        println!("spinning with interrupts off (kernel argument 'spin')");
        loop {
            core::hint::spin_loop();
        }
    }
    let status = args.exit.unwrap_or(0);
    println!("lde kernel: done, status {status}");
    vmexit::exit(status)
}

/// Load an empty trap table and fault (`ud2`; `int3` in ring 0 is not
/// emulated on PVM hosts): the CPU cannot deliver the exception,
/// nor the double fault that follows, and shuts down (a triple fault).
fn crash_triple_fault() -> ! {
    println!("triple-faulting on purpose (kernel argument crash=triple)");
    let empty = x86_64::structures::DescriptorTablePointer {
        limit: 0,
        base: x86_64::VirtAddr::new(0),
    };
    // SAFETY: deliberately breaks the machine; nothing runs after this.
    unsafe {
        x86_64::instructions::tables::lidt(&empty);
        core::arch::asm!("ud2");
    }
    unreachable!("the CPU shut down");
}
