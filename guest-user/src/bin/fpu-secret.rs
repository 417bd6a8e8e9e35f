//! `plant` leaves values in registers a process owns; `peek` looks for them.
//!
//! The kernel saves and restores each process's registers at every switch:
//! x87/SSE (fpu.rs), the FS and GS bases (fsgs.rs), and the extended state
//! AVX and AVX-512 add (xstate.rs). `fpu-secret plant` loads a value into
//! ST0, the FS and GS bases, the upper half of YMM15 and all of ZMM31, then
//! yields many times and checks each is still there (its own state survived
//! the switches); `fpu-secret peek`, run after it, reads the same registers:
//! a fresh process must see none of the planted values. `fpu-secret
//! peek-after-write` looks after one long `write`, while `plant` runs.
//!
//! A register the machine does not offer in user mode is skipped, with the
//! reason: the CPU lacks it (CPUID), or XCR0 (read with `xgetbv`) does not
//! enable its state. Everything else is executed unconditionally: a kernel
//! that does not let user code use a register the CPU and XCR0 offer gets
//! the program killed, which the test notices.
#![no_std]
#![no_main]

use core::arch::asm;
use core::arch::x86_64::{__cpuid, __cpuid_count};

use ulib::{println, sys, usage, Args};

static SECRET: u64 = 0x2121_5445_5243_4553; // "SECRET!!"
const FS_SECRET: u64 = 0x1337_c0de_0000;
const GS_SECRET: u64 = 0x1337_c0de_1000;
/// Every byte of the planted YMM and ZMM values.
const VEC_BYTE: u8 = 0x5a;

/// What user mode may use here, or why not.
struct Machine {
    fsgsbase: Result<(), &'static str>,
    avx: Result<(), &'static str>,
    avx512: Result<(), &'static str>,
}

fn machine() -> Machine {
    let (leaf1, leaf7) = (__cpuid(1), __cpuid_count(7, 0));
    let fsgsbase = if leaf7.ebx & 1 != 0 {
        Ok(())
    } else {
        Err("the CPU has no FSGSBASE")
    };
    // XCR0 can be read only where CPUID says the OS set CR4.OSXSAVE.
    let xcr0 = if leaf1.ecx & (1 << 27) != 0 {
        let (lo, hi): (u32, u32);
        // SAFETY: XGETBV is enabled (CPUID.1:ECX.OSXSAVE); it reads XCR0.
        unsafe {
            asm!("xgetbv", in("ecx") 0, out("eax") lo, out("edx") hi, options(nomem, nostack))
        };
        Some(u64::from(hi) << 32 | u64::from(lo))
    } else {
        None
    };
    let avx = if leaf1.ecx & (1 << 28) == 0 {
        Err("the CPU has no AVX")
    } else if xcr0.is_some_and(|x| x & 0b110 == 0b110) {
        Ok(())
    } else {
        Err("XCR0 does not enable AVX state in user mode")
    };
    let avx512 = if leaf7.ebx & (1 << 16) == 0 {
        Err("the CPU has no AVX-512")
    } else if avx.is_ok() && xcr0.is_some_and(|x| x & 0xe0 == 0xe0) {
        Ok(())
    } else {
        Err("XCR0 does not enable AVX-512 state in user mode")
    };
    if let Some(x) = xcr0 {
        println!("fpu-secret: XCR0 {x:#x}");
    }
    Machine {
        fsgsbase,
        avx,
        avx512,
    }
}

fn read_st0() -> u64 {
    let mut v = 0u64;
    // SAFETY: stores ST0 (as an integer) into a local and pops it.
    unsafe { asm!("fistp qword ptr [{}]", in(reg) &mut v, options(nostack)) };
    v
}

fn read_fs_gs() -> (u64, u64) {
    let (fs, gs): (u64, u64);
    // SAFETY: reads the FS and GS bases (FSGSBASE checked by the caller).
    unsafe {
        asm!("rdfsbase {}", "rdgsbase {}", out(reg) fs, out(reg) gs, options(nomem, nostack))
    };
    (fs, gs)
}

/// The upper half of YMM15.
fn read_ymm15_high() -> [u8; 16] {
    let mut v = [0u8; 32];
    // SAFETY: stores YMM15 into a local buffer (AVX checked by the caller).
    unsafe { asm!("vmovdqu [{}], ymm15", in(reg) v.as_mut_ptr(), options(nostack)) };
    let mut high = [0u8; 16];
    high.copy_from_slice(&v[16..]);
    high
}

fn read_zmm31() -> [u8; 64] {
    let mut v = [0u8; 64];
    // SAFETY: stores ZMM31 into a local buffer (AVX-512 checked by the caller).
    unsafe { asm!("vmovdqu64 [{}], zmm31", in(reg) v.as_mut_ptr(), options(nostack)) };
    v
}

fn all(bytes: &[u8], b: u8) -> bool {
    bytes.iter().all(|&x| x == b)
}

/// Plant a value in every register the machine offers; yield; check.
fn plant() -> i32 {
    let m = machine();
    let pattern = [VEC_BYTE; 64];
    // SAFETY: loads a 64-bit integer from a static into ST0.
    unsafe { asm!("fild qword ptr [{}]", in(reg) &SECRET, options(nostack)) };
    if m.fsgsbase.is_ok() {
        // SAFETY: sets this process's own FS and GS bases (FSGSBASE is
        // there); this program does not use FS or GS otherwise.
        unsafe {
            asm!("wrfsbase {}", "wrgsbase {}", in(reg) FS_SECRET, in(reg) GS_SECRET, options(nomem, nostack))
        };
    }
    if m.avx.is_ok() {
        // SAFETY: loads YMM15 from a local buffer; the compiler does not use
        // vector registers in this soft-float program.
        unsafe {
            asm!("vmovdqu ymm15, [{}]", in(reg) pattern.as_ptr(), options(nostack, readonly))
        };
    }
    if m.avx512.is_ok() {
        // SAFETY: as above, for ZMM31.
        unsafe {
            asm!("vmovdqu64 zmm31, [{}]", in(reg) pattern.as_ptr(), options(nostack, readonly))
        };
    }
    for _ in 0..20 {
        sys::sched_yield();
    }
    let mut ok = true;
    let mut report = |what: &str, r: Result<bool, &str>| match r {
        Ok(kept) => {
            ok &= kept;
            println!(
                "fpu-secret: plant {what}: {}",
                if kept { "kept" } else { "LOST" }
            );
        }
        Err(why) => println!("fpu-secret: plant {what}: skipped, {why}"),
    };
    report("x87 st0", Ok(read_st0() == SECRET));
    report(
        "fs/gs base",
        m.fsgsbase.map(|()| read_fs_gs() == (FS_SECRET, GS_SECRET)),
    );
    report(
        "ymm15 upper half",
        m.avx.map(|()| all(&read_ymm15_high(), VEC_BYTE)),
    );
    report("zmm31", m.avx512.map(|()| all(&read_zmm31(), VEC_BYTE)));
    println!("fpu-secret: plant kept its values: {ok}");
    i32::from(!ok)
}

/// Text for `peek-after-write`: one `write` of it takes many timer ticks
/// on PVM hosts (every byte is an exit), during which the kernel switches
/// this process in and out again without it returning to user mode.
static TEXT: [u8; 64 * 1024] = {
    let mut t = [b'.'; 64 * 1024];
    let mut i = 63;
    while i < t.len() {
        t[i] = b'\n';
        i += 64;
    }
    t
};

/// Look for what `plant` left, in a fresh process (after one long `write`
/// with `after_write`).
fn peek(after_write: bool) -> i32 {
    sys::sched_yield();
    if after_write && sys::write(1, &TEXT) < 0 {
        return 2;
    }
    let m = machine();
    let mut leaked = false;
    let mut report = |what: &str, r: Result<(bool, u64), &str>| match r {
        Ok((seen, value)) => {
            leaked |= seen;
            println!(
                "fpu-secret: peek {what}: {} ({value:#x})",
                if seen { "LEAKED" } else { "clean" }
            );
        }
        Err(why) => println!("fpu-secret: peek {what}: skipped, {why}"),
    };
    let st0 = read_st0();
    report("x87 st0", Ok((st0 == SECRET, st0)));
    report(
        "fs/gs base",
        m.fsgsbase.map(|()| {
            let (fs, gs) = read_fs_gs();
            let seen = fs == FS_SECRET || gs == GS_SECRET;
            (seen, if fs == FS_SECRET || !seen { fs } else { gs })
        }),
    );
    report(
        "ymm15 upper half",
        m.avx.map(|()| {
            let high = read_ymm15_high();
            let first = u64::from_le_bytes(high[..8].try_into().unwrap_or([0; 8]));
            (all(&high, VEC_BYTE), first)
        }),
    );
    report(
        "zmm31",
        m.avx512.map(|()| {
            let z = read_zmm31();
            let first = u64::from_le_bytes(z[..8].try_into().unwrap_or([0; 8]));
            (all(&z, VEC_BYTE), first)
        }),
    );
    i32::from(leaked)
}

#[no_mangle]
fn main(args: Args) -> i32 {
    match args.get(1) {
        Some("plant") => plant(),
        Some("peek") => peek(false),
        Some("peek-after-write") => peek(true),
        _ => usage("fpu-secret plant|peek|peek-after-write"),
    }
}
