//! The event ring: the kernel's side of lde-abi `trace`.
//!
//! Events are written into guest RAM that the VMM reads, so recording one
//! costs a few stores, not a VM exit. When the ring is half full the kernel
//! rings the doorbell port so the VMM drains it; when it is full the event is
//! counted as dropped, never written over an unread one.

use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};
use core::sync::atomic::{compiler_fence, AtomicPtr, Ordering};
use lde_abi::trace::{Event, RingHeader, EVENT_SIZE, HEADER_SIZE, RING_MAGIC, RING_VERSION};
use x86_64::instructions::port::Port;

static RING: AtomicPtr<RingHeader> = AtomicPtr::new(core::ptr::null_mut());

/// Set up the ring the VMM reserved (`addr`, `size` physical; 0 = off).
pub fn init(addr: u64, size: u64) {
    if addr == 0 || size < HEADER_SIZE + EVENT_SIZE {
        return;
    }
    let header = crate::boot::phys_to_virt(addr) as *mut RingHeader;
    let h = RingHeader {
        magic: RING_MAGIC,
        version: RING_VERSION,
        event_size: EVENT_SIZE as u32,
        capacity: (size - HEADER_SIZE) / EVENT_SIZE,
        head: 0,
        tail: 0,
        dropped: 0,
        _reserved: [0; 2],
    };
    // SAFETY: the VMM reserved `size` bytes at `addr` for the ring (the
    // memory map marks them so no allocator hands them out) and the direct
    // map covers them.
    unsafe { write_volatile(header, h) };
    RING.store(header, Ordering::Release);
}

/// Read the TSC.
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects; CR4.TSD is clear so it works.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Record one event (a no-op when tracing is off).
pub fn record(kind: u16, pid: u32, args: [u64; 6]) {
    let ring = RING.load(Ordering::Relaxed);
    if ring.is_null() {
        return;
    }
    let event = Event {
        tsc: rdtsc(),
        kind,
        _pad: 0,
        pid,
        args,
    };
    x86_64::instructions::interrupts::without_interrupts(|| {
        // SAFETY: `ring` points at the initialised ring (see `init`); the
        // kernel is the only writer of head/dropped and of the slots between
        // tail and head + capacity, and runs on one CPU with interrupts off
        // here, so there is no concurrent writer.
        unsafe {
            let capacity = read_volatile(addr_of!((*ring).capacity));
            let head = read_volatile(addr_of!((*ring).head));
            let tail = read_volatile(addr_of!((*ring).tail));
            let used = head.wrapping_sub(tail);
            if used >= capacity {
                let dropped = read_volatile(addr_of!((*ring).dropped));
                write_volatile(addr_of_mut!((*ring).dropped), dropped + 1);
                doorbell();
                return;
            }
            let slot = (ring as *mut u8)
                .add((HEADER_SIZE + (head % capacity) * EVENT_SIZE) as usize)
                as *mut Event;
            write_volatile(slot, event);
            // Publish the slot only after it is written.
            compiler_fence(Ordering::Release);
            write_volatile(addr_of_mut!((*ring).head), head + 1);
            if used + 1 == capacity / 2 {
                doorbell();
            }
        }
    });
}

/// Ask the VMM to drain the ring now.
pub fn flush() {
    if !RING.load(Ordering::Relaxed).is_null() {
        doorbell();
    }
}

fn doorbell() {
    // SAFETY: the doorbell port only makes the VMM read the ring.
    unsafe { Port::<u8>::new(lde_abi::ports::TRACE_DOORBELL).write(0) };
}
