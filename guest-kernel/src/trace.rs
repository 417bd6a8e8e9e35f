//! The event ring: the kernel's side of lde-abi `trace`.
//!
//! Events are written into guest RAM that the VMM reads, so recording one
//! costs a few stores, not a VM exit. When the ring is half full the kernel
//! rings the doorbell port so the VMM drains it; when it is full the event is
//! counted as dropped, never written over an unread one.

use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};
use core::sync::atomic::{compiler_fence, Ordering};
use lde_abi::trace::{
    ring_capacity, Event, KernelEvent, RingHeader, HEADER_SIZE, RING_MAGIC, RING_VERSION,
};
use x86_64::instructions::port::Port;

use crate::kcell::KernelCell;
use crate::time::rdtsc;

struct Ring {
    header: *mut RingHeader,
    slots: *mut Event,
    capacity: u64,
}

static RING: KernelCell<Ring> = KernelCell::new(Ring {
    header: core::ptr::null_mut(),
    slots: core::ptr::null_mut(),
    capacity: 0,
});

/// Set up the ring the VMM reserved (`addr`, `size` physical; 0 = off).
pub fn init(addr: u64, size: u64) {
    let capacity = ring_capacity(size);
    if addr == 0 || capacity == 0 {
        return;
    }
    let header = crate::boot::phys_to_virt(addr) as *mut RingHeader;
    let h = RingHeader {
        magic: RING_MAGIC,
        version: RING_VERSION,
        event_size: core::mem::size_of::<Event>() as u32,
        capacity,
        head: 0,
        tail: 0,
        dropped: 0,
        _reserved: [0; 2],
    };
    // SAFETY: the VMM reserved `size` bytes at `addr` for the ring (the
    // memory map marks them so no allocator hands them out) and the direct
    // map covers them.
    unsafe { write_volatile(header, h) };
    RING.with(|r| {
        r.header = header;
        r.slots = (header as u64 + HEADER_SIZE) as *mut Event;
        r.capacity = capacity;
    });
}

/// Record one event (a no-op when tracing is off). Kernel code runs with
/// interrupts off (kcell.rs), so nothing can record in between; this path
/// is kept short because every kernel instruction counts on PVM hosts.
#[inline(always)]
pub fn record(pid: u32, event: KernelEvent) {
    let (kind, args) = event.encode();
    write(kind, pid, args)
}

#[inline]
fn write(kind: u16, pid: u32, args: [u64; 6]) {
    RING.with(|r| write_event(r, kind, pid, args))
}

fn write_event(r: &mut Ring, kind: u16, pid: u32, args: [u64; 6]) {
    if r.header.is_null() {
        return;
    }
    let h = r.header;
    // SAFETY: `h` and `slots` point into the initialised ring (see `init`);
    // the kernel is the only writer of head, dropped and the free slots.
    unsafe {
        let head = read_volatile(addr_of!((*h).head));
        let used = head.wrapping_sub(read_volatile(addr_of!((*h).tail)));
        if used >= r.capacity {
            write_volatile(
                addr_of_mut!((*h).dropped),
                read_volatile(addr_of!((*h).dropped)) + 1,
            );
            doorbell();
            return;
        }
        let slot = r.slots.add((head & (r.capacity - 1)) as usize);
        // A plain write lets the compiler store the fields straight into the
        // slot; the fence below still orders it before `head`.
        slot.write(Event {
            tsc: rdtsc(),
            kind,
            _pad: 0,
            pid,
            args,
        });
        // Publish the slot only after it is written.
        compiler_fence(Ordering::Release);
        write_volatile(addr_of_mut!((*h).head), head + 1);
        if used + 1 == r.capacity / 2 {
            doorbell();
        }
    }
}

/// Ask the VMM to drain the ring now.
pub fn flush() {
    if !RING.with(|r| r.header.is_null()) {
        doorbell();
    }
}

fn doorbell() {
    // SAFETY: the doorbell port only makes the VMM read the ring.
    unsafe { Port::<u8>::new(lde_abi::ports::TRACE_DOORBELL).write(0) };
}
