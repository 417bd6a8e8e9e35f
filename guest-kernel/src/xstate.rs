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
//! address space, from a stub page (the same frame in every process:
//! read-only, executable) next to a save area of the process's own, both
//! at the top of its user half. No process ever maps another's area.
//!
//! The kernel itself never uses these registers (the target is soft-float),
//! so the CPU keeps the state of the last process that ran in user mode
//! (the owner) until another one is about to run. Then:
//! - save: an upcall (upcall.rs) in the owner's address space runs
//!   `xsave` into the owner's area;
//! - restore: the next process does not return to its user code directly.
//!   Its trap frame is pointed at the stub's `xstate_restore`, which loads
//!   its registers with `xrstor` from its own area and jumps to where it
//!   was (kept in the area by the kernel), on its way back to user mode:
//!   no second trap.
//!
//! Until the next process has passed the stub's `xrstor` the CPU still
//! holds the previous owner's registers (already saved). A process can be
//! switched out before that (a long `write` takes ticks in the kernel), so
//! the kernel tells the two cases apart by where its trap frame points:
//! inside the stub before the `xrstor`, its own registers are not in the
//! CPU and must not be saved (they would be the previous owner's). A
//! process that jumps into the stub itself can only lose its own state.
//! A process being single-stepped (RFLAGS.TF) is restored by an upcall
//! instead, so a debugger never steps through the stub.
//!
//! A process that gets the CPU back with nobody in between costs nothing;
//! otherwise the switch costs one upcall (about a dozen kernel
//! instructions for the trip to user mode and back) and the checks around
//! it. The area sizes itself from nothing: the components saved
//! ([`SAVED`]) all lie in the first 4 KiB of the standard XSAVE layout,
//! below the three words the restore stub keeps at [`SAVED_RAX`].

use lde_abi::layout::{PAGE_SIZE, USER_XSTATE_BASE, USER_XSTATE_PAGES};

use x86_64::registers::control::{Cr4, Cr4Flags};

use crate::kcell::KernelCell;
use crate::paging::{self, AddressSpace, WRITABLE};
use crate::sched::MAX_PROCS;
use crate::trap_entry::TrapFrame;
use crate::{frames, memops, println, process, upcall};

/// The process's save area (one page) and the stub page: the last two
/// pages of the user half, above the stack, where the loader puts nothing
/// (lde-abi `layout`).
const AREA: u64 = USER_XSTATE_BASE;
const STUB: u64 = USER_XSTATE_BASE + PAGE_SIZE;
const _: () = assert!(USER_XSTATE_PAGES == 2);

/// Offsets in the area, past the XSAVE layout, where the restore stub keeps
/// the RAX and RDX it borrows and where it jumps to when done.
const SAVED_RAX: u64 = 0xfe8;
const SAVED_RDX: u64 = 0xff0;
const RESUME_RIP: u64 = 0xff8;

/// XCR0 components saved here: AVX (2), MPX (3, 4), AVX-512 (5, 6, 7),
/// PKRU (9), APX (19). x87 and SSE (0, 1) are fxsave's (fpu.rs). AMX tile
/// state (17, 18) is left out: it needs the host's permission first and
/// does not fit the page; the kernel says so at boot if user mode has it.
const SAVED: u64 = 0b1111_1100 | 1 << 9 | 1 << 19;
const X87_SSE: u64 = 0b11;

const CPUID1_ECX_XSAVE: u32 = 1 << 26;
const RFLAGS_TF: u64 = 1 << 8;

core::arch::global_asm!(
    r#"
    // The stub, copied to the start of the stub page; the area is the page
    // below it. Position-independent. Upcall entries end with int3.
    .section .rodata.xstate_stub, "a"
    .global xstate_stub_start, xstate_probe, xstate_save, xstate_load
    .global xstate_restore, xstate_restored, xstate_stub_end
    xstate_stub_start:
    // The components saved (written at boot): the EDX:EAX of xsave/xrstor.
    xstate_mask:
        .quad 0
    // Upcall: XCR0 in EDX:EAX.
    xstate_probe:
        xor ecx, ecx
        xgetbv
        int3
    // Upcall: save the process's registers into its area. The header is
    // zeroed first (xsave writes only the bits it saves), so what the
    // process may have scribbled in its own area cannot make the xrstor
    // that loads it again fault.
    xstate_save:
        mov qword ptr [rip + xstate_stub_start + {area} + 512], 0
        mov qword ptr [rip + xstate_stub_start + {area} + 520], 0
        mov qword ptr [rip + xstate_stub_start + {area} + 528], 0
        mov qword ptr [rip + xstate_stub_start + {area} + 536], 0
        mov qword ptr [rip + xstate_stub_start + {area} + 544], 0
        mov qword ptr [rip + xstate_stub_start + {area} + 552], 0
        mov qword ptr [rip + xstate_stub_start + {area} + 560], 0
        mov qword ptr [rip + xstate_stub_start + {area} + 568], 0
        mov eax, dword ptr [rip + xstate_mask]
        mov edx, dword ptr [rip + xstate_mask + 4]
        xsave64 [rip + xstate_stub_start + {area}]
        int3
    // Upcall: load the process's registers from its area (those it marks
    // unused, and all of a fresh zeroed area, get their initial values).
    xstate_load:
        mov eax, dword ptr [rip + xstate_mask]
        mov edx, dword ptr [rip + xstate_mask + 4]
        xrstor64 [rip + xstate_stub_start + {area}]
        int3
    // On the way back to the process's own code (its trap frame points
    // here): the same load, borrowing RAX and RDX, then on to where it was.
    xstate_restore:
        mov [rip + xstate_stub_start + {area} + {saved_rax}], rax
        mov [rip + xstate_stub_start + {area} + {saved_rdx}], rdx
        mov eax, dword ptr [rip + xstate_mask]
        mov edx, dword ptr [rip + xstate_mask + 4]
        xrstor64 [rip + xstate_stub_start + {area}]
    // From here on the CPU holds the process's registers.
    xstate_restored:
        mov rax, [rip + xstate_stub_start + {area} + {saved_rax}]
        mov rdx, [rip + xstate_stub_start + {area} + {saved_rdx}]
        jmp qword ptr [rip + xstate_stub_start + {area} + {resume_rip}]
    xstate_stub_end:
    .section .text
    "#,
    area = const AREA as i64 - STUB as i64,
    saved_rax = const SAVED_RAX,
    saved_rdx = const SAVED_RDX,
    resume_rip = const RESUME_RIP,
);

extern "C" {
    static xstate_stub_start: u8;
    static xstate_probe: u8;
    static xstate_save: u8;
    static xstate_load: u8;
    static xstate_restore: u8;
    static xstate_restored: u8;
    static xstate_stub_end: u8;
}

/// Where `entry` (a symbol of the stub) is in the stub page.
fn stub_entry(entry: *const u8) -> u64 {
    STUB + (entry as u64 - core::ptr::addr_of!(xstate_stub_start) as u64)
}

/// No process (in [`Xstate::owner`]).
const NOBODY: usize = usize::MAX;

struct Xstate {
    /// Components saved per process (0: nothing beyond fxsave), known once
    /// `probed`.
    mask: u64,
    probed: bool,
    /// The frame holding the stub.
    stub_frame: u64,
    /// The process whose registers the CPU holds, or will once it passes
    /// the restore stub ([`NOBODY`]: none whose registers matter).
    owner: usize,
    /// Each live process's area, in the kernel's direct map, and its
    /// address space (its PML4).
    area: [u64; MAX_PROCS],
    pml4: [u64; MAX_PROCS],
    /// Where `xstate_save`, `xstate_restore` and `xstate_restored` are in
    /// the stub page.
    save: u64,
    restore: u64,
    restored: u64,
}

static XSTATE: KernelCell<Xstate> = KernelCell::new(Xstate {
    mask: 0,
    probed: false,
    stub_frame: 0,
    owner: NOBODY,
    area: [0; MAX_PROCS],
    pml4: [0; MAX_PROCS],
    save: 0,
    restore: 0,
    restored: 0,
});

/// Set up the stub page. Which extended registers user mode has (XCR0
/// read in user mode, through the stub) is found out in the first
/// process's address space ([`prepare`]), which maps the stub anyway: a
/// scratch address space of its own cost about 230 emulated instructions.
/// Call after `frames::init`, before any process exists.
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
    let stub = crate::boot::phys_to_virt(frame);
    // SAFETY: the stub lies between its two symbols in the kernel image;
    // `frame` is a fresh 4 KiB frame in the direct map.
    unsafe {
        let start = core::ptr::addr_of!(xstate_stub_start);
        let len = core::ptr::addr_of!(xstate_stub_end) as usize - start as usize;
        debug_assert!(len <= PAGE_SIZE as usize);
        memops::copy(stub as *mut u8, start, len);
    }

    upcall::init();
    XSTATE.with(|x| {
        x.stub_frame = frame;
        x.save = stub_entry(core::ptr::addr_of!(xstate_save));
        x.restore = stub_entry(core::ptr::addr_of!(xstate_restore));
        x.restored = stub_entry(core::ptr::addr_of!(xstate_restored));
    });
}

/// Read XCR0 in user mode, through the stub mapped in the address space
/// rooted at `pml4` (not running), and keep what is to be saved.
fn probe(pml4: u64, frame: u64) -> u64 {
    paging::switch_to(pml4);
    let [rax, rdx] = upcall::call(stub_entry(core::ptr::addr_of!(xstate_probe)));
    paging::switch_to_kernel();
    let xcr0 = (rdx << 32) | (rax & 0xffff_ffff);
    let mask = xcr0 & SAVED;
    // SAFETY: `xstate_mask` is the stub's first word, in its frame (direct
    // map); no process runs.
    unsafe { (crate::boot::phys_to_virt(frame) as *mut u64).write(mask) };
    XSTATE.with(|x| {
        x.mask = mask;
        x.probed = true;
    });
    let unsaved = xcr0 & !(SAVED | X87_SSE);
    if unsaved != 0 {
        println!(
            "lde kernel: warning: user mode can use register state the kernel does not save \
             (XCR0 {xcr0:#x}, components {unsaved:#x})"
        );
    }
    mask
}

/// Map the save area and the stub into the address space of the new
/// process in `slot`.
pub fn prepare(space: &mut AddressSpace, slot: usize) -> Result<(), &'static str> {
    let (frame, probed) = XSTATE.with(|x| (x.stub_frame, x.probed));
    if frame == 0 {
        // No XSAVE: nothing beyond fxsave's state.
        return Ok(());
    }
    let stub_mapped = !probed;
    if !probed {
        space.map_borrowed(STUB, frame, 0).ok_or("out of memory")?;
        if probe(space.pml4, frame) == 0 {
            // Nothing to save (VMX/SVM hosts): no process maps the stub.
            space.unmap_borrowed(STUB);
            return Ok(());
        }
    }
    XSTATE.with(|x| {
        if x.mask == 0 {
            return Ok(());
        }
        let area = space
            .map(AREA, WRITABLE | paging::nx_bit())
            .ok_or("out of memory")?;
        if !stub_mapped {
            space
                .map_borrowed(STUB, x.stub_frame, 0)
                .ok_or("out of memory")?;
        }
        x.area[slot] = crate::boot::phys_to_virt(area);
        x.pml4[slot] = space.pml4;
        Ok(())
    })
}

/// The trap frame the process in `slot` returns to user mode with: the
/// first one on its kernel stack (process.rs builds it there, and every
/// trap from user mode lands there).
#[inline(always)]
fn user_frame(slot: usize) -> *mut TrapFrame {
    (process::kstack_top(slot) - core::mem::size_of::<TrapFrame>() as u64) as *mut TrapFrame
}

/// Has the process in `slot` (not running) still to pass the restore
/// stub's `xrstor`? Then the CPU does not hold its registers.
#[inline(always)]
fn restore_pending(x: &Xstate, slot: usize) -> bool {
    // SAFETY: the process is alive and not running, so its user frame is
    // at the top of its kernel stack and nothing writes it meanwhile.
    let rip = unsafe { (*user_frame(slot)).rip };
    // restore <= rip < restored, in one compare.
    rip.wrapping_sub(x.restore) < x.restored - x.restore
}

/// The process in `slot` is about to run: make sure it returns to user
/// mode with its own extended registers, saving the owner's first. May
/// change CR3 and TSS.RSP0.
#[inline(always)]
pub fn switch_to(next: usize) {
    let Some((save, restore)) = XSTATE.with(|x| {
        if x.mask == 0 || x.owner == next {
            return None;
        }
        let owner = core::mem::replace(&mut x.owner, next);
        let save = (owner != NOBODY && !restore_pending(x, owner)).then(|| (x.pml4[owner], x.save));
        // Else it was switched out before it got past the stub: it still
        // will, and nothing is to be done now.
        let restore = (!restore_pending(x, next)).then(|| (x.area[next], x.restore));
        Some((save, restore))
    }) else {
        return;
    };
    if let Some((pml4, save)) = save {
        paging::switch_to(pml4);
        upcall::call(save);
    }
    let Some((area, restore)) = restore else {
        return;
    };
    let tf = user_frame(next);
    // SAFETY: `next` is alive and not running (see `restore_pending`); its
    // area is a page of its own, in the direct map, the kernel writes while
    // the process cannot run.
    unsafe {
        if (*tf).rflags & RFLAGS_TF != 0 {
            // Single-stepped: load now, by an upcall in its address space.
            paging::switch_to(XSTATE.with(|x| x.pml4[next]));
            upcall::call(stub_entry(core::ptr::addr_of!(xstate_load)));
            return;
        }
        ((area + RESUME_RIP) as *mut u64).write((*tf).rip);
        (*tf).rip = restore;
    }
}

/// The process in `slot` has ended: its registers need no saving, and its
/// page tables are about to go.
pub fn forget(slot: usize) {
    XSTATE.with(|x| {
        if x.owner == slot {
            x.owner = NOBODY;
        }
        x.area[slot] = 0;
        x.pml4[slot] = 0;
    })
}
