//! Physical memory: a frame allocator over the usable regions of the
//! VMM's memory map.
//!
//! Fresh frames come from a bump pointer; freed frames go back as runs of
//! consecutive frames, on a free list threaded through the runs themselves
//! (via the direct map: a run's first frame holds the next run and its
//! length). A process's frames mostly lie in one run (they came from the
//! bump pointer one after another), so freeing it takes a step per run,
//! not per page. Every frame handed out is zeroed: fresh ones already are
//! (the VMM hands over usable RAM zeroed, lde-abi `boot`), recycled ones
//! are cleared here. So the bump pointer is a "pristine" watermark, used
//! first: a frame is recycled (and pays for its clearing, 512 emulated
//! stores on PVM hosts) only once the never-used ones have run out.

use lde_abi::boot::{BootInfo, REGION_USABLE};
use lde_abi::layout::PAGE_SIZE;

use crate::boot::phys_to_virt;
use crate::kcell::KernelCell;

struct Frames {
    next: u64,
    end: u64,
    /// The first free run (0: none); its first frame holds [next run,
    /// frames in this run].
    free_list: u64,
    /// Frames handed out and not given back, and how many of them the
    /// kernel keeps for itself (the leak check, observe.rs).
    in_use: u64,
    kernel: u64,
}

static FRAMES: KernelCell<Frames> = KernelCell::new(Frames {
    next: 0,
    end: 0,
    free_list: 0,
    in_use: 0,
    kernel: 0,
});

/// Use the largest usable region of the memory map.
pub fn init(info: &BootInfo) {
    let regions = &info.regions[..(info.region_count as usize).min(info.regions.len())];
    if let Some(r) = regions
        .iter()
        .filter(|r| r.kind == REGION_USABLE)
        .max_by_key(|r| r.len)
    {
        FRAMES.with(|f| {
            f.next = r.base.next_multiple_of(PAGE_SIZE);
            f.end = (r.base + r.len) & !(PAGE_SIZE - 1);
        });
    }
}

/// A zeroed 4 KiB frame (physical address), or `None` when memory is out.
#[inline]
pub fn alloc() -> Option<u64> {
    alloc_run(1).map(|(frame, _)| frame)
}

/// Up to `max` (at least 1) consecutive zeroed frames: the first one's
/// physical address and how many; `None` when memory is out.
pub fn alloc_run(max: u64) -> Option<(u64, u64)> {
    FRAMES.with(|f| {
        if f.next < f.end {
            let n = max.min((f.end - f.next) / PAGE_SIZE);
            let base = f.next;
            f.next += n * PAGE_SIZE;
            f.in_use += n;
            return Some((base, n));
        }
        // From the end of the first free run, which keeps its header in its
        // first frame until that one goes too.
        let run = f.free_list;
        if run == 0 {
            return None;
        }
        let head = phys_to_virt(run) as *mut u64;
        // SAFETY: a free run's first frame holds [next run, its length]
        // (`free_run`), in the direct map; the free list is ours.
        let (next, len) = unsafe { (head.read(), head.add(1).read()) };
        let n = max.min(len);
        if n == len {
            f.free_list = next;
        } else {
            // SAFETY: as above; the header stays in the run's first frame.
            unsafe { head.add(1).write(len - n) };
        }
        let base = run + (len - n) * PAGE_SIZE;
        f.in_use += n;
        // SAFETY: the `n` frames from `base` are ours alone now, in the
        // direct map.
        unsafe { crate::memops::zero(phys_to_virt(base) as *mut u8, (n * PAGE_SIZE) as usize) };
        Some((base, n))
    })
}

/// Give back `n` (at least 1) consecutive frames from `base`: one run on
/// the free list.
pub fn free_run(base: u64, n: u64) {
    FRAMES.with(|f| {
        let head = phys_to_virt(base) as *mut u64;
        // SAFETY: the caller no longer uses the frames; the run's header
        // goes in its first frame, in the direct map.
        unsafe {
            head.write(f.free_list);
            head.add(1).write(n);
        }
        f.free_list = base;
        f.in_use -= n;
    });
}

/// The frames handed out so far are the kernel's own, for good (before
/// the first process is created).
pub fn kernel_frames_allocated() {
    FRAMES.with(|f| f.kernel = f.in_use);
}

/// Frames handed out since [`kernel_frames_allocated`] and not given back:
/// once every process has been reaped, a leak.
pub fn not_given_back() -> u64 {
    FRAMES.with(|f| f.in_use - f.kernel)
}
