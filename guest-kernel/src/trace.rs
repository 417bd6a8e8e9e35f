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
    /// The kernel's own copy of `head` (it is the only writer), so the
    /// usual path never reads the shared header.
    head: u64,
    /// The next `head` at which the usual path must stop and look: the
    /// ring may be full there (unless the VMM drained it meanwhile) or half
    /// full (ring the doorbell).
    check_at: u64,
}

static RING: KernelCell<Ring> = KernelCell::new(Ring {
    header: core::ptr::null_mut(),
    slots: core::ptr::null_mut(),
    capacity: 0,
    head: 0,
    check_at: 0,
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
        r.head = 0;
        r.check_at = capacity / 2;
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
    let head = r.head;
    if head == r.check_at && !room(r) {
        return;
    }
    // SAFETY: `head - tail < capacity` (checked at `check_at`, and no event
    // is added past it without checking again), so the slot is a free one
    // inside the initialised ring; the kernel is its only writer.
    unsafe {
        let slot = r.slots.add((head & (r.capacity - 1)) as usize);
        // Word by word (lde-abi's `Event` is `repr(C)`: TSC, then kind,
        // padding and pid in one word, then the six arguments; checked at
        // compile time below): one store per word.
        let w = slot as *mut u64;
        w.write(rdtsc());
        w.add(1).write(kind as u64 | (pid as u64) << 32);
        for (i, a) in args.iter().enumerate() {
            w.add(2 + i).write(*a);
        }
        // Publish the slot only after it is written.
        compiler_fence(Ordering::Release);
        r.head = head + 1;
        write_volatile(addr_of_mut!((*r.header).head), head + 1);
    }
}

// `write_event` stores events word by word; this is the layout it relies on.
const _: () = assert!(
    core::mem::offset_of!(Event, kind) == 8
        && core::mem::offset_of!(Event, pid) == 12
        && core::mem::offset_of!(Event, args) == 16
        && core::mem::size_of::<Event>() == 64
);

/// At `check_at`: is there room for one more event? Rings the doorbell
/// when the ring is half full, counts a dropped event when it is full, and
/// sets the next `check_at`.
#[cold]
#[inline(never)]
fn room(r: &mut Ring) -> bool {
    let h = r.header;
    // SAFETY: `h` points at the initialised ring header (see `init`); the
    // VMM writes only `tail`, the kernel the rest.
    unsafe {
        let used = r.head.wrapping_sub(read_volatile(addr_of!((*h).tail)));
        if used >= r.capacity / 2 {
            doorbell();
        }
        if used >= r.capacity {
            write_volatile(
                addr_of_mut!((*h).dropped),
                read_volatile(addr_of!((*h).dropped)) + 1,
            );
            return false;
        }
        // Look again when the ring could be half full, or full, counting
        // from the tail just read.
        let tail = r.head - used;
        r.check_at = if used < r.capacity / 2 {
            tail + r.capacity / 2
        } else {
            tail + r.capacity
        };
        true
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
