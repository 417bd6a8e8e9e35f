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
/// and is mapped, not owned, so `free` leaves it alone.
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

/// The page-table entry of a borrowed page (see
/// [`AddressSpace::borrowed_pte`]). Valid while its address space lives.
#[derive(Clone, Copy)]
pub struct BorrowedPte {
    entry: *mut u64,
    vaddr: u64,
}

impl BorrowedPte {
    /// Point the page at `frame` and drop the old translation from the TLB
    /// (the address space must be the one in CR3); returns the old frame.
    /// Its address space must still be alive.
    pub fn repoint(self, frame: u64) -> u64 {
        // SAFETY: the entry is in a page-table frame of a live address
        // space (the caller's promise), in the direct map; only the kernel,
        // with interrupts off, touches page tables.
        let old = unsafe {
            let old = self.entry.read();
            self.entry.write((old & !ADDR_MASK) | frame);
            old
        };
        x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(self.vaddr));
        old & ADDR_MASK
    }
}

/// Most page-table frames (below the PML4) and mapped ranges an address
/// space keeps track of; the loader refuses a program that needs more
/// (lde-abi `program`, which the VMM checks before boot too).
const MAX_TABLES: usize = lde_abi::program::MAX_PAGE_TABLES;
const MAX_RANGES: usize = lde_abi::program::MAX_MAPPED_RANGES;

/// A process's page tables.
///
/// Besides the tables themselves it remembers which table frames it
/// allocated and which user ranges it mapped, so that freeing it touches
/// only those instead of scanning thousands of empty entries (which costs
/// milliseconds where kernel instructions are emulated).
pub struct AddressSpace {
    pub pml4: u64,
    tables: [u64; MAX_TABLES],
    ntables: usize,
    ranges: [(u64, u64); MAX_RANGES],
    nranges: usize,
    /// The last page table (level 1) `entry` reached, and which 2 MiB of
    /// the address space it maps (`vaddr >> 21`): mapping or freeing
    /// consecutive pages then walks the tables once, not once per page.
    leaf: (u64, u64),
}

impl AddressSpace {
    /// An empty lower half with the kernel's upper half.
    pub fn new() -> Option<AddressSpace> {
        let pml4 = frames::alloc()?;
        let kernel = table(KERNEL_PML4.load(Ordering::Relaxed));
        table(pml4)[256..].copy_from_slice(&kernel[256..]);
        Some(AddressSpace {
            pml4,
            tables: [0; MAX_TABLES],
            ntables: 0,
            ranges: [(0, 0); MAX_RANGES],
            nranges: 0,
            leaf: (u64::MAX, 0),
        })
    }

    /// The PTE for `vaddr`, creating the tables on the way.
    #[inline]
    fn entry(&mut self, vaddr: u64) -> Option<&'static mut u64> {
        if vaddr >> 21 == self.leaf.0 {
            return Some(&mut table(self.leaf.1)[index(vaddr, 0)]);
        }
        self.walk(vaddr)
    }

    /// `entry` the long way: down from the PML4.
    #[inline(never)]
    fn walk(&mut self, vaddr: u64) -> Option<&'static mut u64> {
        let mut t = self.pml4;
        for level in (1..4).rev() {
            let e = &mut table(t)[index(vaddr, level)];
            if *e & PRESENT == 0 {
                if self.ntables == MAX_TABLES {
                    return None;
                }
                let frame = frames::alloc()?;
                self.tables[self.ntables] = frame;
                self.ntables += 1;
                *e = frame | PRESENT | WRITABLE | USER;
            }
            t = *e & ADDR_MASK;
        }
        self.leaf = (vaddr >> 21, t);
        Some(&mut table(t)[index(vaddr, 0)])
    }

    /// Remember that the pages of `[start, end)` are mapped (nothing if
    /// it is empty).
    #[inline]
    fn note_range(&mut self, start: u64, end: u64) -> Option<()> {
        if start >= end {
            return Some(());
        }
        if self.nranges > 0 && self.ranges[self.nranges - 1].1 == start {
            self.ranges[self.nranges - 1].1 = end;
            return Some(());
        }
        if self.nranges == MAX_RANGES {
            return None;
        }
        self.ranges[self.nranges] = (start, end);
        self.nranges += 1;
        Some(())
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
    /// tables are walked once per 2 MiB, not once per page, and the new
    /// pages are noted as one range.
    pub fn map_range(&mut self, first: u64, end: u64, flags: u64) -> Option<()> {
        debug_assert!(end <= USER_END && first % PAGE_SIZE == 0 && end % PAGE_SIZE == 0);
        let mut page = first;
        while page < end {
            // The rest of this page table: up to the next 2 MiB boundary.
            let stop = end.min((page | (HUGE_PAGE_SIZE - 1)) + 1);
            let pt = self.entry(page)? as *mut u64;
            let mut fresh_from = page;
            let mut e = pt;
            while page < stop {
                // SAFETY: `e` walks the entries of one page table (`pt` is
                // the entry of `page`, `stop` ends at the table's last one);
                // only the kernel, with interrupts off, touches page tables.
                let pte = unsafe { &mut *e };
                if *pte & PRESENT == 0 {
                    let Some(frame) = frames::alloc() else {
                        // Out of memory: what is mapped so far is still
                        // noted, so that `free` finds it.
                        self.note_range(fresh_from, page)?;
                        return None;
                    };
                    *pte = frame | PRESENT | USER | (flags & (WRITABLE | NO_EXECUTE));
                } else {
                    self.note_range(fresh_from, page)?;
                    fresh_from = page + PAGE_SIZE;
                    widen(pte, flags)?;
                }
                page += PAGE_SIZE;
                // SAFETY: stays inside the table or one past its end.
                e = unsafe { e.add(1) };
            }
            self.note_range(fresh_from, stop)?;
        }
        Some(())
    }

    /// Map the page at `vaddr` onto an existing `frame` that the address space
    /// does not own (read-only program text shared with its boot module, the
    /// xstate stub, a second view of a page it does own: xstate.rs).
    /// Fails if the page is already mapped.
    pub fn map_borrowed(&mut self, vaddr: u64, frame: u64, flags: u64) -> Option<()> {
        let e = self.entry(vaddr)?;
        if *e & PRESENT != 0 {
            return None;
        }
        self.note_range(vaddr, vaddr + PAGE_SIZE)?;
        *e = frame | PRESENT | USER | BORROWED | (flags & (WRITABLE | NO_EXECUTE));
        Some(())
    }

    /// The entry of the borrowed page at `vaddr`, to be repointed often
    /// without walking the tables (xstate.rs).
    pub fn borrowed_pte(&mut self, vaddr: u64) -> Option<BorrowedPte> {
        let e = self.entry(vaddr)?;
        if *e & (PRESENT | BORROWED) != PRESENT | BORROWED {
            return None;
        }
        Some(BorrowedPte {
            entry: e as *mut u64,
            vaddr,
        })
    }

    /// The frame and the effective flags (user and writable only if every
    /// level allows it) of the page holding `vaddr`.
    pub fn translate(&self, vaddr: u64) -> Option<(u64, u64)> {
        translate(self.pml4, vaddr)
    }

    /// Copy `bytes` to user address `vaddr` through the direct map (the pages
    /// must be mapped; used by the loader before the process runs).
    pub fn write(&self, mut vaddr: u64, mut bytes: &[u8]) -> Option<()> {
        while !bytes.is_empty() {
            let (frame, _) = self.translate(vaddr)?;
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

    /// Free the frames this address space owns (mapped pages, except those
    /// borrowed from a boot module), its tables and its PML4. The tables must
    /// not be loaded in CR3.
    pub fn free(mut self) {
        for r in 0..self.nranges {
            let (mut page, end) = self.ranges[r];
            while page < end {
                // One walk per page table, then its entries in a row.
                let stop = end.min((page | (HUGE_PAGE_SIZE - 1)) + 1);
                let Some(pt) = self.entry(page) else { break };
                let mut e = pt as *mut u64;
                while page < stop {
                    // SAFETY: as in `map_range`: the entries of one table.
                    let pte = unsafe { &mut *e };
                    if *pte & (PRESENT | BORROWED) == PRESENT {
                        frames::free(*pte & ADDR_MASK);
                    }
                    // Ranges are disjoint; clearing keeps it that a page is
                    // never freed twice even if they were not.
                    *pte = 0;
                    page += PAGE_SIZE;
                    // SAFETY: stays inside the table or one past its end.
                    e = unsafe { e.add(1) };
                }
            }
        }
        for &t in &self.tables[..self.ntables] {
            frames::free(t);
        }
        frames::free(self.pml4);
    }
}

/// Widen the permissions of the mapped page `*e` by `flags`: executable wins
/// over no-execute, writable over read-only. A page borrowed from the boot
/// module is replaced by a private copy first (the segment will write into
/// it, or make it writable).
fn widen(e: &mut u64, flags: u64) -> Option<()> {
    if *e & BORROWED != 0 {
        let copy = frames::alloc()?;
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
