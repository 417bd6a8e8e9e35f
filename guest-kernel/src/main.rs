//! The lde guest kernel: OSTEP's limited direct execution on x86-64.
//!
//! Boot in kernel mode (`boot.rs`), install the GDT/TSS (`gdt.rs`) and the
//! trap table (`idt.rs`), load each user program into its own address space
//! (`loader.rs`, `paging.rs`, `process.rs`), and hand the CPU to the
//! scheduler (`sched.rs`, policies in `sched/`), which runs them directly in
//! user mode. The kernel gets the CPU back only through traps
//! (`trap_entry.rs`, `trap.rs`): system calls (`syscall.rs`), faults, and
//! the timer (`timer.rs`). Processes are created, sleep, wake and end in
//! `process.rs`; what is measured and narrated on the way is `observe.rs`.
//! When every process has ended it ends the VM through the exit device
//! (`vmexit.rs`).
#![no_std]
#![no_main]

mod apic;
mod boot;
mod cmdline;
mod console;
mod debug;
mod exitbench;
mod fpu;
mod frames;
mod fsgs;
mod gdt;
mod hypervisor;
mod idt;
mod kcell;
mod loader;
mod memops;
mod observe;
mod paging;
mod panic;
mod process;
mod sched;
mod serial;
mod switch;
mod syscall;
mod time;
mod timer;
mod trace;
mod trap;
mod trap_entry;
mod upcall;
mod user_range;
mod vmexit;
mod xstate;

use cmdline::Crash;
use lde_abi::boot::{c_str, SCHED_COOP};
use lde_abi::trace::KernelEvent;
use x86_64::registers::model_specific::{Efer, EferFlags};

/// Rust entry, called by `_start` with the boot info's physical address.
#[no_mangle]
pub extern "C" fn kernel_main(boot_info_phys: u64) -> ! {
    let Some(info) = boot::boot_info(boot_info_phys) else {
        serial::print(format_args!(
            "lde kernel: no valid boot info at {boot_info_phys:#x}; not started by lde?\n"
        ));
        vmexit::panic_exit();
    };
    trace::init(info.trace_ring_addr, info.trace_ring_size);
    debug::init(info.flags);
    let timer = info.sched != SCHED_COOP;
    trace::record(
        0,
        KernelEvent::Boot {
            tsc_khz: info.tsc_khz,
            quantum_us: info.quantum_us,
            sched: info.sched,
            timer,
        },
    );
    trace::flush();

    // The banner goes out piece by piece (`say!`) rather than through
    // `core::fmt`: on PVM hosts every kernel instruction is emulated, and
    // formatting alone would cost about half of the boot.
    let signature = hypervisor::signature();
    let hypervisor = match &signature {
        Some(sig) => hypervisor::name(sig),
        None => b"none",
    };
    say!(
        &BANNER_HEAD.0[..BANNER_HEAD.1],
        hypervisor,
        ", memory: ",
        info.mem_size >> 20,
        " MiB"
    );

    let cmdline = boot::cmdline(info);
    let args = match cmdline::parse(cmdline) {
        Ok(args) => args,
        Err(word) => {
            say!("lde kernel: unknown kernel argument '", word, "'");
            vmexit::exit(2);
        }
    };

    gdt::init();
    idt::init();
    apic::mask_pic();
    if args.show_idt {
        idt::print();
    }

    match args.crash {
        Some(Crash::TripleFault) => crash_triple_fault(),
        Some(Crash::Panic) => panic!("kernel argument crash=panic"),
        Some(Crash::Fault) => {
            // Just past the end of RAM: not mapped, so the load page-faults
            // in kernel mode and the trap handler panics with the frame.
            let addr = boot::phys_to_virt(info.mem_size) + 0x1000;
            println!("reading unmapped kernel address {addr:#x} (kernel argument crash=fault)");
            // SAFETY: deliberately faults; the #PF handler never returns here.
            unsafe { core::ptr::read_volatile(addr as *const u64) };
        }
        None => {}
    }
    if args.spin {
        println!("spinning with interrupts off (kernel argument 'spin')");
        loop {
            core::hint::spin_loop();
        }
    }
    if let Some(n) = args.exitbench {
        exitbench::run(n, info.tsc_khz);
    }
    if let Some(status) = args.exit {
        vmexit::exit(status);
    }

    let nx = Efer::read().contains(EferFlags::NO_EXECUTE_ENABLE);
    paging::init(nx);
    frames::init(info);
    let count = (info.module_count as usize).min(info.modules.len());
    if count == 0 {
        say!("lde kernel: no programs to run; done");
        vmexit::exit(0);
    }
    apic::init();
    if info.sched != SCHED_COOP {
        timer::begin_calibration();
    }
    fpu::init();
    fsgs::init();
    xstate::init();
    frames::kernel_frames_allocated();
    for (slot, module) in info.modules[..count].iter().enumerate() {
        // Names and arguments are printed as the bytes they are (the VMM
        // passes them to the terminal unchanged), without a UTF-8 check.
        let (name, args) = (c_str(&module.name), c_str(&module.args));
        match process::create(slot, module, name, args) {
            Ok(pid) => observe::process_loaded(pid, name, args, module.job.arrival_tick),
            Err(why) => say!("lde kernel: cannot load program ", name, ": ", why),
        }
    }
    sched::start(info)
}

/// The banner's fixed start, "lde kernel VERSION (contract vN), hypervisor: ",
/// put together at compile time: each piece `say!` prints at run time costs
/// a dozen emulated instructions.
const BANNER_HEAD: ([u8; 96], usize) = {
    const fn put(out: &mut [u8; 96], mut n: usize, s: &[u8]) -> usize {
        let mut i = 0;
        while i < s.len() {
            out[n] = s[i];
            n += 1;
            i += 1;
        }
        n
    }
    let mut out = [0u8; 96];
    let head = concat!("lde kernel ", env!("CARGO_PKG_VERSION"), " (contract v");
    let mut n = put(&mut out, 0, head.as_bytes());
    // The contract version in decimal.
    let mut digits = [0u8; 10];
    let mut d = digits.len();
    let mut v = lde_abi::CONTRACT_VERSION;
    loop {
        d -= 1;
        digits[d] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    while d < digits.len() {
        out[n] = digits[d];
        n += 1;
        d += 1;
    }
    n = put(&mut out, n, b"), hypervisor: ");
    (out, n)
};

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
