//! Physical memory: a frame allocator over the usable regions of the
//! VMM's memory map.
//!
//! Fresh frames come from a bump pointer; freed frames go on a free list
//! threaded through the frames themselves (via the direct map). Every frame
//! handed out is zeroed: fresh ones already are (the VMM hands over usable
//! RAM zeroed, lde-abi `boot`), recycled ones are cleared here. So the bump
//! pointer is a "pristine" watermark, used first: a frame is recycled (and
//! pays for its clearing, 512 emulated stores on PVM hosts) only once the
//! never-used ones have run out.

use lde_abi::boot::{BootInfo, REGION_USABLE};
use lde_abi::layout::PAGE_SIZE;

use crate::boot::phys_to_virt;
use crate::kcell::KernelCell;

struct Frames {
    next: u64,
    end: u64,
    free_list: u64,
}

static FRAMES: KernelCell<Frames> = KernelCell::new(Frames {
    next: 0,
    end: 0,
    free_list: 0,
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
    FRAMES.with(alloc_from)
}

fn alloc_from(f: &mut Frames) -> Option<u64> {
    if f.next < f.end {
        let frame = f.next;
        f.next += PAGE_SIZE;
        return Some(frame);
    }
    if f.free_list == 0 {
        return None;
    }
    let frame = f.free_list;
    // SAFETY: a frame on the free list holds the next list entry in its
    // first word; the direct map covers it, and the frame is ours alone
    // once unlinked.
    unsafe {
        f.free_list = (phys_to_virt(frame) as *const u64).read();
        crate::memops::zero(phys_to_virt(frame) as *mut u8, PAGE_SIZE as usize);
    }
    Some(frame)
}

/// Give a frame back.
#[inline]
pub fn free(frame: u64) {
    FRAMES.with(|f| {
        // SAFETY: the caller no longer uses the frame; store the list link
        // in it.
        unsafe { (phys_to_virt(frame) as *mut u64).write(f.free_list) };
        f.free_list = frame;
    });
}
