//! What the kernel's program loader can load: the limits, and the
//! arithmetic that checks a program against them.
//!
//! The VMM runs [`footprint`] on every `--program` before boot (so a program
//! the kernel would refuse is refused with its reason, in a line on the
//! host), and the kernel runs it again before it maps a page (it trusts no
//! one). Both use this one definition.
//!
//! The loader keeps a program's `PT_LOAD` segments in a fixed table, and a
//! process's address space counts the page-table frames it allocates
//! against a fixed budget. Segments must come in ascending order,
//! overlapping at most on one shared page. The stack and the kernel's
//! extended-state pages above it ([`USER_XSTATE_BASE`]) share page tables
//! and own one page of memory besides the stack.

use crate::layout::{PAGE_SIZE, USER_STACK_PAGES, USER_STACK_TOP, USER_XSTATE_BASE};

/// Most program headers (of any type) a program may have. Real static
/// executables have about ten; reading each costs the emulated kernel
/// microseconds, so 65,534 of them would stall the VM for a minute.
pub const MAX_PROGRAM_HEADERS: usize = 64;
/// Most page-table frames (below the PML4) one address space may use.
pub const MAX_PAGE_TABLES: usize = 64;
/// Most `PT_LOAD` segments (the loader's table of them).
pub const MAX_LOAD_SEGMENTS: usize = 30;

// The extended-state pages need no page table beyond the stack's.
const _: () = assert!(USER_XSTATE_BASE >> 21 == (USER_STACK_TOP - 1) >> 21);

/// Why a program cannot be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// More program headers than [`MAX_PROGRAM_HEADERS`] (the count).
    TooManyHeaders(usize),
    /// More `PT_LOAD` segments than [`MAX_LOAD_SEGMENTS`] (the count).
    TooManySegments(usize),
    /// A segment (its address) wraps around the address space.
    Wraps(u64),
    /// A segment (its address) starts before the previous one ends, beyond
    /// a shared page.
    Unordered(u64),
    /// The mapping needs more page-table frames than [`MAX_PAGE_TABLES`].
    TooManyPageTables(u64),
}

impl LoadError {
    /// A short reason, for the kernel's messages.
    pub fn reason(self) -> &'static str {
        match self {
            LoadError::TooManyHeaders(_) => "too many program headers",
            LoadError::TooManySegments(_) => "too many loadable segments",
            LoadError::Wraps(_) => "segment wraps around",
            LoadError::Unordered(_) => "segments not in ascending order or overlapping",
            LoadError::TooManyPageTables(_) => "needs too many page tables",
        }
    }
}

/// What loading a program takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// Bytes of memory its segments and its stack map (whole pages).
    pub bytes: u64,
    /// Page-table frames below the PML4.
    pub page_tables: u64,
}

/// Check a program with `headers` program headers and the `PT_LOAD`
/// segments `(vaddr, memsz)` (in file order) against the loader's limits,
/// and say what it needs, in one pass over the segments (the kernel runs
/// it on every program it loads, where each instruction is emulated).
/// Memory is not compared with anything here: the caller knows the RAM.
pub fn footprint(
    headers: usize,
    mut segments: impl Iterator<Item = (u64, u64)>,
) -> Result<Footprint, LoadError> {
    if headers > MAX_PROGRAM_HEADERS {
        return Err(LoadError::TooManyHeaders(headers));
    }
    let mut tally = Tally::EMPTY;
    let mut count = 0;
    while let Some((vaddr, memsz)) = segments.next() {
        count += 1;
        if count > MAX_LOAD_SEGMENTS {
            return Err(LoadError::TooManySegments(count + segments.count()));
        }
        if memsz == 0 {
            continue;
        }
        // Page range [first, end).
        let first = vaddr & !(PAGE_SIZE - 1);
        let end = vaddr
            .checked_add(memsz)
            .and_then(|e| e.checked_next_multiple_of(PAGE_SIZE))
            .ok_or(LoadError::Wraps(vaddr))?;
        tally.add(first, end)?;
    }
    // The stack, last (it lies above every segment).
    tally.add(
        USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE,
        USER_STACK_TOP,
    )?;
    Ok(Footprint {
        // The extended-state save area.
        bytes: tally.bytes.saturating_add(PAGE_SIZE),
        page_tables: tally.tables,
    })
}

/// [`footprint`]'s running count over page ranges in ascending order.
struct Tally {
    bytes: u64,
    prev_end: u64,
    /// Per level (PDPT, PD, PT): the last table counted (`u64::MAX`: none).
    last: [u64; 3],
    tables: u64,
}

impl Tally {
    const EMPTY: Tally = Tally {
        bytes: 0,
        prev_end: 0,
        last: [u64::MAX; 3],
        tables: 0,
    };

    fn add(&mut self, first: u64, end: u64) -> Result<(), LoadError> {
        // Sharing the previous segment's last page is fine; more is not.
        if self.prev_end > first.saturating_add(PAGE_SIZE) {
            return Err(LoadError::Unordered(first));
        }
        self.bytes = self
            .bytes
            .saturating_add(end - first.max(self.prev_end.min(end)));
        self.prev_end = self.prev_end.max(end);
        // Table number k of a level covers [k << shift, (k + 1) << shift).
        // In ascending order a range starts in the table the previous one
        // ended in (if they share one) or above: its tables are new but
        // for that one.
        for (last, shift) in self.last.iter_mut().zip([39u32, 30, 21]) {
            let lo = first >> shift;
            let hi = (end - 1) >> shift;
            self.tables += hi - lo + (lo != *last) as u64;
            *last = hi;
        }
        Ok(())
    }
}

impl Footprint {
    /// Whether the loader's page-table budget covers it (the VMM checks the
    /// memory against the guest's RAM first, the more telling reason).
    pub fn within_limits(self) -> Result<Footprint, LoadError> {
        if self.page_tables > MAX_PAGE_TABLES as u64 {
            return Err(LoadError::TooManyPageTables(self.page_tables));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn a_small_program_needs_six_tables() {
        // Text and data at 0x400000 (one PDPT, PD, PT) and the stack (three).
        let segs = [(0x40_0000, 0x1234), (0x40_1234, 0x100), (0x40_2000, 0x3000)];
        let f = footprint(8, segs.into_iter()).unwrap();
        assert_eq!(f.page_tables, 6);
        assert_eq!(
            f.bytes,
            5 * PAGE_SIZE + USER_STACK_PAGES * PAGE_SIZE + PAGE_SIZE
        );
        assert!(f.within_limits().is_ok());
    }

    #[test]
    fn limits() {
        let one = [(0x40_0000u64, 0x1000u64)];
        assert_eq!(
            footprint(65_534, one.into_iter()),
            Err(LoadError::TooManyHeaders(65_534))
        );
        let many = (0..40u64).map(|i| (0x40_0000 + i * 0x2000, 0x1000));
        assert_eq!(footprint(40, many), Err(LoadError::TooManySegments(40)));
        let down = [(0x80_0000u64, 0x1000u64), (0x40_0000, 0x1000)];
        assert_eq!(
            footprint(2, down.into_iter()),
            Err(LoadError::Unordered(0x40_0000))
        );
        // 2^40 bytes: its size is known without a page mapped, and it needs
        // far more page tables than the loader keeps.
        let huge = footprint(1, [(0x40_0000u64, 1u64 << 40)].into_iter()).unwrap();
        assert!(huge.bytes > 1 << 40);
        assert!(matches!(
            huge.within_limits(),
            Err(LoadError::TooManyPageTables(_))
        ));
        // 100 MiB fits the table budget (50 PTs); 200 MiB does not.
        let ok = footprint(1, [(0x40_0000u64, 100 * MIB)].into_iter()).unwrap();
        assert!(ok.within_limits().is_ok());
        let big = footprint(1, [(0x40_0000u64, 200 * MIB)].into_iter()).unwrap();
        assert!(big.within_limits().is_err());
        let wraps = [(u64::MAX - 0x1000, 0x2000u64)];
        assert!(matches!(
            footprint(1, wraps.into_iter()),
            Err(LoadError::Wraps(_))
        ));
    }
}
