//! Address spaces: one set of page tables per process.
//!
//! The upper half (kernel image, direct map) is the same in every address
//! space: its PML4 entries are copied from the boot tables, and they are
//! supervisor-only, so user code that touches them faults. The lower half
//! belongs to the process: its program and its stack, mapped user-accessible,
//! data pages no-execute where the CPU supports it.
//!
//! This file also answers the kernel's question about every pointer a
//! system call brings: is all of `[addr, addr + len)` mapped, user
//! accessible (and writable, if the kernel will write)?

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use lde_abi::layout::{HUGE_PAGE_SIZE, PAGE_SIZE, USER_END};

use crate::boot::phys_to_virt;
use crate::frames;

pub const PRESENT: u64 = 1 << 0;
pub const WRITABLE: u64 = 1 << 1;
pub const USER: u64 = 1 << 2;
const HUGE: u64 = 1 << 7;
/// Software bit (ignored by the CPU): the frame belongs to a boot module
/// (or is the kernel's xstate stub) and is mapped, not owned: a segment
/// that writes the page gets a private copy (`widen`).
const BORROWED: u64 = 1 << 9;
pub const NO_EXECUTE: u64 = 1 << 63;
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

/// The boot page tables (kernel half only is used after boot).
static KERNEL_PML4: AtomicU64 = AtomicU64::new(0);
static NX: AtomicBool = AtomicBool::new(false);

/// Remember the boot tables; `nx`: does the CPU do no-execute (EFER.NXE is
/// set by the VMM when it does)?
pub fn init(nx: bool) {
    let (frame, _) = x86_64::registers::control::Cr3::read();
    KERNEL_PML4.store(frame.start_address().as_u64(), Ordering::Relaxed);
    LOADED.store(frame.start_address().as_u64(), Ordering::Relaxed);
    NX.store(nx, Ordering::Relaxed);
}

/// The no-execute bit, or 0 when the CPU has none.
pub fn nx_bit() -> u64 {
    if NX.load(Ordering::Relaxed) {
        NO_EXECUTE
    } else {
        0
    }
}

/// The page tables in CR3 (a `mov cr3` is costly under PVM: skip it when
/// nothing changes).
static LOADED: AtomicU64 = AtomicU64::new(0);

/// Switch to the kernel's own tables (so a dead process's can be freed).
pub fn switch_to_kernel() {
    switch_to(KERNEL_PML4.load(Ordering::Relaxed));
}

/// Load the page tables rooted at `pml4` (physical) into CR3.
pub fn switch_to(pml4: u64) {
    if LOADED.swap(pml4, Ordering::Relaxed) == pml4 {
        return;
    }
    // SAFETY: every PML4 we load maps the kernel half exactly like the boot
    // tables (copied in `AddressSpace::new`), so the code and stack we run on
    // stay mapped across the switch.
    unsafe { core::arch::asm!("mov cr3, {}", in(reg) pml4, options(nostack, preserves_flags)) };
}

fn table(phys: u64) -> &'static mut [u64; 512] {
    // SAFETY: `phys` is a page-table frame we allocated (or the boot PML4);
    // the direct map covers it, and only the kernel, with interrupts off,
    // touches page tables.
    unsafe { &mut *(phys_to_virt(phys) as *mut [u64; 512]) }
}

fn index(vaddr: u64, level: u32) -> usize {
    ((vaddr >> (12 + 9 * level)) & 511) as usize
}

/// Most page-table frames (below the PML4) an address space may allocate;
/// the loader refuses a program that needs more (lde-abi `program`, which
/// the VMM checks before boot too).
const MAX_TABLES: usize = lde_abi::program::MAX_PAGE_TABLES;
/// Most runs of consecutive frames an address space keeps track of (more
/// is "out of memory"). Its frames come from the allocator's bump pointer
/// one after another while fresh memory lasts (every process is created at
/// boot), so one run holds them all; only recycled memory comes in pieces.
const MAX_RUNS: usize = 8;

/// A process's page tables.
///
/// Besides the tables themselves it remembers which frames it owns (its
/// PML4, its page tables, its pages, but not those borrowed from a boot
/// module), as runs of consecutive frames, so that freeing it hands back a
/// run at a time instead of visiting every page-table entry (each visit is
/// emulated instructions on PVM hosts).
pub struct AddressSpace {
    pub pml4: u64,
    /// Runs of frames it owns: (first frame, how many).
    runs: [(u64, u64); MAX_RUNS],
    nruns: usize,
    /// Page-table frames below the PML4 (against `MAX_TABLES`).
    ntables: usize,
    /// The last page table (level 1) `entry` reached, and which 2 MiB of
    /// the address space it maps (`vaddr >> 21`): mapping consecutive pages
    /// then walks the tables once, not once per page.
    leaf: (u64, u64),
}

impl AddressSpace {
    /// An empty lower half with the kernel's upper half.
    pub fn new() -> Option<AddressSpace> {
        let pml4 = frames::alloc()?;
        // The kernel half is the last PML4 entry alone (the direct map and
        // the kernel image share it, lde-abi layout); the rest of the upper
        // half is empty in the boot tables as in a fresh frame.
        table(pml4)[511] = table(KERNEL_PML4.load(Ordering::Relaxed))[511];
        let mut runs = [(0, 0); MAX_RUNS];
        runs[0] = (pml4, 1);
        Some(AddressSpace {
            pml4,
            runs,
            nruns: 1,
            ntables: 0,
            leaf: (u64::MAX, 0),
        })
    }

    /// Up to `max` fresh frames, owned from now on: the first and how many.
    fn alloc_run(&mut self, max: u64) -> Option<(u64, u64)> {
        let (base, n) = frames::alloc_run(max)?;
        let last = &mut self.runs[self.nruns - 1];
        if last.0 + last.1 * PAGE_SIZE == base {
            last.1 += n;
        } else if base + n * PAGE_SIZE == last.0 {
            // Recycled frames come from the end of a free run down.
            *last = (base, last.1 + n);
        } else if self.nruns < MAX_RUNS {
            self.runs[self.nruns] = (base, n);
            self.nruns += 1;
        } else {
            frames::free_run(base, n);
            return None;
        }
        Some((base, n))
    }

    /// Give back the last `n` frames [`alloc_run`](Self::alloc_run)
    /// handed out, from `base` on, unused.
    fn give_back(&mut self, base: u64, n: u64) {
        let run = &mut self.runs[self.nruns - 1];
        // They end the last run unless it grew downwards (recycled
        // frames); then they stay owned, and go back with the rest.
        if run.0 + run.1 * PAGE_SIZE == base + n * PAGE_SIZE {
            run.1 -= n;
            frames::free_run(base, n);
        }
    }

    /// The PTE for `vaddr`, creating the tables on the way.
    #[inline]
    fn entry(&mut self, vaddr: u64) -> Option<&'static mut u64> {
        if vaddr >> 21 == self.leaf.0 {
            return Some(&mut table(self.leaf.1)[index(vaddr, 0)]);
        }
        self.walk(vaddr)
    }

    /// `entry` the long way: down from the PML4. The tables missing below
    /// the first missing one are all missing too: they come as one run.
    #[inline(never)]
    fn walk(&mut self, vaddr: u64) -> Option<&'static mut u64> {
        let mut t = self.pml4;
        for level in (1..4).rev() {
            let e = &mut table(t)[index(vaddr, level)];
            if *e & PRESENT == 0 {
                let need = level as u64;
                if self.ntables + need as usize > MAX_TABLES {
                    return None;
                }
                let (first, n) = self.alloc_run(need)?;
                self.ntables += n as usize;
                // Link the new tables, each into the one above.
                // (A counted loop: `step_by` costs a dozen emulated
                // instructions a table on PVM hosts.)
                let mut e: *mut u64 = e;
                let mut shift = 12 + 9 * level;
                let mut table_frame = first;
                for _ in 0..n {
                    shift -= 9;
                    // SAFETY: `e` is an entry of the table above (the
                    // PML4's, then each new table's), in the direct map.
                    unsafe {
                        *e = table_frame | PRESENT | WRITABLE | USER;
                        e = (phys_to_virt(table_frame) as *mut u64)
                            .add(((vaddr >> shift) & 511) as usize);
                    }
                    table_frame += PAGE_SIZE;
                }
                if n < need {
                    // Memory came in pieces: the rest the long way.
                    return self.walk(vaddr);
                }
                t = first + (n - 1) * PAGE_SIZE;
                break;
            }
            t = *e & ADDR_MASK;
        }
        self.leaf = (vaddr >> 21, t);
        Some(&mut table(t)[index(vaddr, 0)])
    }

    /// Map the 4 KiB page at `vaddr` (lower half) with `flags`; if it is
    /// already mapped, widen its permissions by `flags` (two segments may
    /// share a page) and keep its frame, or a private copy of it if it was
    /// borrowed from the boot module. Returns the frame.
    pub fn map(&mut self, vaddr: u64, flags: u64) -> Option<u64> {
        self.map_range(vaddr, vaddr + PAGE_SIZE, flags)?;
        Some(*self.entry(vaddr)? & ADDR_MASK)
    }

    /// [`map`](Self::map) every page of `[first, end)` (page aligned): the
    /// tables are walked once per 2 MiB, not once per page, and the frames
    /// for unmapped pages come a run at a time.
    pub fn map_range(&mut self, first: u64, end: u64, flags: u64) -> Option<()> {
        debug_assert!(end <= USER_END && first % PAGE_SIZE == 0 && end % PAGE_SIZE == 0);
        let bits = PRESENT | USER | (flags & (WRITABLE | NO_EXECUTE));
        let mut page = first;
        while page < end {
            // The rest of this page table: up to the next 2 MiB boundary.
            let stop = end.min((page | (HUGE_PAGE_SIZE - 1)) + 1);
            let mut e = self.entry(page)? as *mut u64;
            while page < stop {
                // SAFETY: `e` walks the entries of one page table (it is the
                // entry of `page`, `stop` ends at the table's last one); only
                // the kernel, with interrupts off, touches page tables.
                if unsafe { *e } & PRESENT != 0 {
                    // SAFETY: as above.
                    self.widen(unsafe { &mut *e }, flags)?;
                    page += PAGE_SIZE;
                    // SAFETY: stays inside the table or one past its end.
                    e = unsafe { e.add(1) };
                    continue;
                }
                // The unmapped entries from here on get a run of frames, as
                // many as there are entries left in the table; any not used
                // (a mapped page came first) go back at once.
                let (mut frame, n) = self.alloc_run((stop - page) / PAGE_SIZE)?;
                // SAFETY: `n` entries from `e` lie in this table (`stop`).
                let end = unsafe { e.add(n as usize) };
                // SAFETY: as above: `e` stays below `end`.
                while e < end && unsafe { *e } & PRESENT == 0 {
                    // SAFETY: as above.
                    unsafe {
                        *e = frame | bits;
                        e = e.add(1);
                    }
                    frame += PAGE_SIZE;
                }
                // SAFETY: both point into the same table.
                let left = unsafe { end.offset_from(e) } as u64;
                page += (n - left) * PAGE_SIZE;
                if left > 0 {
                    self.give_back(frame, left);
                }
            }
        }
        Some(())
    }

    /// Map the page at `vaddr` onto an existing `frame` that the address
    /// space does not own (the xstate stub: xstate.rs). Fails if the page
    /// is already mapped.
    pub fn map_borrowed(&mut self, vaddr: u64, frame: u64, flags: u64) -> Option<()> {
        self.map_borrowed_range(vaddr, vaddr + PAGE_SIZE, frame, flags)
    }

    /// Unmap the borrowed page at `vaddr` (no frame goes back: it is not
    /// ours). The tables must not be loaded in CR3.
    pub fn unmap_borrowed(&mut self, vaddr: u64) {
        if let Some(e) = self.entry(vaddr) {
            if *e & BORROWED != 0 {
                *e = 0;
            }
        }
    }

    /// Map the pages of `[first, end)` (page aligned) onto the existing
    /// frames from `frame` on, which the address space does not own
    /// (read-only program text shared with its boot module). Fails at the
    /// first page already mapped (the pages before it stay mapped).
    pub fn map_borrowed_range(
        &mut self,
        first: u64,
        end: u64,
        mut frame: u64,
        flags: u64,
    ) -> Option<()> {
        let bits = PRESENT | USER | BORROWED | (flags & (WRITABLE | NO_EXECUTE));
        let mut page = first;
        while page < end {
            let stop = end.min((page | (HUGE_PAGE_SIZE - 1)) + 1);
            let mut e = self.entry(page)? as *mut u64;
            while page < stop {
                // SAFETY: as in `map_range`: the entries of one table.
                unsafe {
                    if *e & PRESENT != 0 {
                        return None;
                    }
                    *e = frame | bits;
                    e = e.add(1);
                }
                frame += PAGE_SIZE;
                page += PAGE_SIZE;
            }
        }
        Some(())
    }

    /// Widen the permissions of the mapped page `*e` by `flags`: executable wins
    /// over no-execute, writable over read-only. A page borrowed from the boot
    /// module is replaced by a private copy first (the segment will write into
    /// it, or make it writable).
    fn widen(&mut self, e: &mut u64, flags: u64) -> Option<()> {
        if *e & BORROWED != 0 {
            let (copy, _) = self.alloc_run(1)?;
            // SAFETY: both frames are whole 4 KiB frames in the direct map;
            // `copy` is fresh and ours alone.
            unsafe {
                crate::memops::copy(
                    phys_to_virt(copy) as *mut u8,
                    phys_to_virt(*e & ADDR_MASK) as *const u8,
                    PAGE_SIZE as usize,
                )
            };
            *e = (*e & !(ADDR_MASK | BORROWED)) | copy;
        }
        let nx = *e & flags & NO_EXECUTE;
        *e = (*e & !NO_EXECUTE) | (flags & WRITABLE) | nx;
        Some(())
    }

    /// The frame of the page at `vaddr`, which this address space has
    /// mapped (the loader, right after mapping it: the page table is the
    /// one `entry` reached last, so this is no walk).
    pub fn frame_of(&mut self, vaddr: u64) -> Option<u64> {
        let e = *self.entry(vaddr)?;
        (e & PRESENT != 0).then_some(e & ADDR_MASK)
    }

    /// Copy `bytes` to user address `vaddr` through the direct map (the pages
    /// must be mapped; used by the loader before the process runs).
    pub fn write(&mut self, mut vaddr: u64, mut bytes: &[u8]) -> Option<()> {
        while !bytes.is_empty() {
            let frame = self.frame_of(vaddr)?;
            let off = vaddr & (PAGE_SIZE - 1);
            let n = bytes.len().min((PAGE_SIZE - off) as usize);
            // SAFETY: `frame` is a mapped frame of this address space, and
            // `off + n` stays inside it.
            unsafe {
                crate::memops::copy((phys_to_virt(frame) + off) as *mut u8, bytes.as_ptr(), n)
            };
            vaddr += n as u64;
            bytes = &bytes[n..];
        }
        Some(())
    }

    /// Free the frames this address space owns (its pages, except those
    /// borrowed from a boot module, its tables and its PML4), a run at a
    /// time. The tables must not be loaded in CR3.
    pub fn free(self) {
        for &(base, n) in &self.runs[..self.nruns] {
            frames::free_run(base, n);
        }
    }
}

/// The frame and the effective flags of user page `vaddr` in the address
/// space whose root table is at `pml4` (physical).
#[inline]
fn translate(pml4: u64, vaddr: u64) -> Option<(u64, u64)> {
    if vaddr >= USER_END {
        return None;
    }
    let mut t = pml4;
    let mut flags = USER | WRITABLE;
    for level in (0..4).rev() {
        let e = table(t)[index(vaddr, level)];
        if e & PRESENT == 0 || (level > 0 && e & HUGE != 0) {
            return None;
        }
        flags &= e;
        t = e & ADDR_MASK;
    }
    Some((t, flags))
}

/// Is `[addr, addr + len)` inside the user half, mapped and user accessible
/// (and writable if `write`) in the address space whose root table is at
/// `pml4`? The check a system call makes before touching a user pointer.
#[inline]
pub fn user_range_ok(pml4: u64, addr: u64, len: u64, write: bool) -> bool {
    let Some((mut page, end)) = crate::user_range::pages(addr, len) else {
        return false;
    };
    let need = USER | if write { WRITABLE } else { 0 };
    while page < end {
        match translate(pml4, page) {
            Some((_, flags)) if flags & need == need => {}
            _ => return false,
        }
        page += PAGE_SIZE;
    }
    true
}
