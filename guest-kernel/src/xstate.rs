//! The extended registers of user processes (AVX's upper halves, AVX-512,
//! the protection-key register, ...): everything user mode can touch beyond
//! the x87/SSE state fpu.rs saves. Each process keeps its own, so nothing a
//! process leaves there is seen by the next one.
//!
//! What user mode can touch is set by XCR0 as user mode sees it:
//! - on PVM hosts it is the host's XCR0 (0x207 on the AMD EPYC hosts of
//!   this project: x87, SSE, AVX, PKRU; 0xe7 with AVX-512 on others),
//!   whatever the guest does: setting CR4.OSXSAVE does not change it, and
//!   `xsetbv`/`xgetbv` in kernel mode stop the VM (emulation failure). So
//!   the kernel cannot restrict it there, and must save what it enables.
//! - on VMX/SVM hosts it is the guest's own XCR0, which the kernel leaves
//!   at its reset value (x87 only): AVX instructions raise #UD in user mode
//!   and there is nothing beyond fxsave to save.
//!
//! `xsave`/`xrstor` stop the VM in kernel mode on PVM hosts too (so do
//! `xsaveopt`, `xsavec`, `vzeroall` and any AVX move); in user mode they
//! run natively. So the kernel runs them in user mode, in the process's own
//! address space, through an upcall (upcall.rs): a stub page, the same
//! frame in every process (read-only, executable), and a save area of the
//! process's own, both at the top of its user half.
//!
//! The kernel itself never uses these registers (the target is soft-float),
//! so the CPU keeps the state of the last process that ran in user mode
//! until another one is about to run. Only then, in one upcall in the next
//! process's address space, is the previous owner's state saved into the
//! owner's area (mapped for the moment at a third page, [`OWNER_AREA`],
//! which points at the process's own area whenever the process runs) and
//! the next one's loaded. A process that gets the CPU back with nobody in
//! between costs nothing; on PVM hosts an upcall costs about as much as a
//! bare trap. The area sizes itself from nothing: the components saved
//! ([`SAVED`]) all lie in the first 4 KiB of the standard XSAVE layout.

use lde_abi::layout::{PAGE_SIZE, USER_XSTATE_BASE, USER_XSTATE_PAGES};

use x86_64::registers::control::{Cr4, Cr4Flags};

use crate::kcell::KernelCell;
use crate::paging::{self, AddressSpace, BorrowedPte, WRITABLE};
use crate::process;
use crate::sched::MAX_PROCS;
use crate::{frames, memops, println, upcall};

/// The process's save area (one page), the previous owner's area during a
/// switch, and the stub page: the last three pages of the user half, above
/// the stack, where the loader puts nothing (lde-abi `layout`).
const AREA: u64 = USER_XSTATE_BASE;
const OWNER_AREA: u64 = USER_XSTATE_BASE + PAGE_SIZE;
const STUB: u64 = USER_XSTATE_BASE + 2 * PAGE_SIZE;
const _: () = assert!(USER_XSTATE_PAGES == 3);

/// XCR0 components saved here: AVX (2), MPX (3, 4), AVX-512 (5, 6, 7),
/// PKRU (9), APX (19). x87 and SSE (0, 1) are fxsave's (fpu.rs). AMX tile
/// state (17, 18) is left out: it needs the host's permission first and
/// does not fit the page; the kernel says so at boot if user mode has it.
const SAVED: u64 = 0b1111_1100 | 1 << 9 | 1 << 19;
const X87_SSE: u64 = 0b11;

const CPUID1_ECX_XSAVE: u32 = 1 << 26;

core::arch::global_asm!(
    r#"
    // The stub, copied into the stub page. Position-independent; each entry
    // ends with int3, which ends the upcall.
    .section .rodata.xstate_stub, "a"
    .global xstate_stub_start, xstate_probe, xstate_switch, xstate_restore, xstate_stub_end
    xstate_stub_start:
    // XCR0 in EDX:EAX.
    xstate_probe:
        xor ecx, ecx
        xgetbv
        int3
    // Save the components in EDX:EAX into the area at RSI, then load them
    // from the area at RDI. The header is zeroed before the save (xsave
    // writes only the bits it saves), so what a process may have scribbled
    // in its own area cannot make a later xrstor fault.
    xstate_switch:
        mov qword ptr [rsi + 512], 0
        mov qword ptr [rsi + 520], 0
        mov qword ptr [rsi + 528], 0
        mov qword ptr [rsi + 536], 0
        mov qword ptr [rsi + 544], 0
        mov qword ptr [rsi + 552], 0
        mov qword ptr [rsi + 560], 0
        mov qword ptr [rsi + 568], 0
        xsave64 [rsi]
    // Load the components in EDX:EAX from the area at RDI (those it marks
    // unused, and all of a fresh zeroed area, get their initial values).
    xstate_restore:
        xrstor64 [rdi]
        int3
    xstate_stub_end:
    .section .text
    "#
);

extern "C" {
    static xstate_stub_start: u8;
    static xstate_probe: u8;
    static xstate_switch: u8;
    static xstate_restore: u8;
    static xstate_stub_end: u8;
}

/// Where `entry` (a symbol of the stub) is in the stub page.
fn stub_entry(entry: *const u8) -> u64 {
    STUB + (entry as u64 - core::ptr::addr_of!(xstate_stub_start) as u64)
}

struct Xstate {
    /// Components saved per process (0: nothing beyond fxsave).
    mask: u64,
    /// The frame holding the stub.
    stub_frame: u64,
    /// The process whose state is in the CPU.
    owner: Option<usize>,
    /// Each process's area frame and [`OWNER_AREA`] entry, while it lives.
    area: [Option<(u64, BorrowedPte)>; MAX_PROCS],
}

static XSTATE: KernelCell<Xstate> = KernelCell::new(Xstate {
    mask: 0,
    stub_frame: 0,
    owner: None,
    area: [None; MAX_PROCS],
});

/// Find out which extended registers user mode has (XCR0 read in user
/// mode, through the stub in a scratch address space). Call after
/// `frames::init`, before any process exists.
pub fn init() {
    let leaf1 = core::arch::x86_64::__cpuid(1);
    if leaf1.ecx & CPUID1_ECX_XSAVE == 0 {
        // No XSAVE: no AVX either, nothing beyond fxsave's state.
        return;
    }
    // `xgetbv` in user mode needs CR4.OSXSAVE. It leaves XCR0 itself alone.
    // SAFETY: sets a CR4 bit the CPU says it supports; nothing the kernel
    // does depends on it being clear.
    unsafe { Cr4::update(|f| f.insert(Cr4Flags::OSXSAVE)) };
    let frame = frames::alloc().expect("no frame for the xstate stub");
    // SAFETY: the stub lies between its two symbols in the kernel image;
    // `frame` is a fresh 4 KiB frame in the direct map.
    unsafe {
        let start = core::ptr::addr_of!(xstate_stub_start);
        let len = core::ptr::addr_of!(xstate_stub_end) as usize - start as usize;
        debug_assert!(len <= PAGE_SIZE as usize);
        memops::copy(crate::boot::phys_to_virt(frame) as *mut u8, start, len);
    }
    XSTATE.with(|x| x.stub_frame = frame);

    let mut scratch = AddressSpace::new().expect("no memory for a scratch address space");
    scratch
        .map_borrowed(STUB, frame, 0)
        .expect("mapping the xstate stub");
    paging::switch_to(scratch.pml4);
    let probe = stub_entry(core::ptr::addr_of!(xstate_probe));
    let [rax, rdx] = upcall::call(probe, [0; 4]);
    paging::switch_to_kernel();
    scratch.free();

    let xcr0 = (rdx << 32) | (rax & 0xffff_ffff);
    XSTATE.with(|x| x.mask = xcr0 & SAVED);
    let unsaved = xcr0 & !(SAVED | X87_SSE);
    if unsaved != 0 {
        println!(
            "lde kernel: warning: user mode can use register state the kernel does not save \
             (XCR0 {xcr0:#x}, components {unsaved:#x})"
        );
    }
}

/// Map the save area and the stub into the address space of the new
/// process in `slot`.
pub fn prepare(space: &mut AddressSpace, slot: usize) -> Result<(), &'static str> {
    XSTATE.with(|x| {
        if x.mask == 0 {
            return Ok(());
        }
        let area = space
            .map(AREA, WRITABLE | paging::nx_bit())
            .ok_or("out of memory")?;
        space
            .map_borrowed(OWNER_AREA, area, WRITABLE | paging::nx_bit())
            .ok_or("out of memory")?;
        space
            .map_borrowed(STUB, x.stub_frame, 0)
            .ok_or("out of memory")?;
        x.area[slot] = space.borrowed_pte(OWNER_AREA).map(|pte| (area, pte));
        Ok(())
    })
}

/// The process in `next` is about to run: make the CPU hold its extended
/// registers, saving the previous owner's first. Changes CR3 and TSS.RSP0.
pub fn switch_to(next: usize) {
    let Some((mask, owner_area, pte)) = XSTATE.with(|x| {
        if x.mask == 0 || x.owner == Some(next) {
            return None;
        }
        let owner_area = x.owner.and_then(|o| x.area[o]).map(|(frame, _)| frame);
        let (_, pte) = x.area[next]?;
        x.owner = Some(next);
        Some(([x.mask & 0xffff_ffff, x.mask >> 32], owner_area, pte))
    }) else {
        return;
    };
    let Some(pml4) = process::with_table(|t| t.procs[next].space.as_ref().map(|s| s.pml4)) else {
        return;
    };
    paging::switch_to(pml4);
    match owner_area {
        Some(frame) => {
            // The next process's address space is alive (checked above).
            let own = pte.repoint(frame);
            let switch = stub_entry(core::ptr::addr_of!(xstate_switch));
            upcall::call(switch, [AREA, OWNER_AREA, mask[0], mask[1]]);
            pte.repoint(own);
        }
        None => {
            let restore = stub_entry(core::ptr::addr_of!(xstate_restore));
            upcall::call(restore, [AREA, 0, mask[0], mask[1]]);
        }
    }
}

/// The process in `slot` has ended: its registers need no saving, and its
/// page tables are about to go.
pub fn forget(slot: usize) {
    XSTATE.with(|x| {
        if x.owner == Some(slot) {
            x.owner = None;
        }
        x.area[slot] = None;
    })
}
