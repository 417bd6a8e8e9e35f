//! The event ring: the kernel's side of lde-abi `trace`.
//!
//! Events are written into guest RAM that the VMM reads, so recording one
//! costs a few stores, not a VM exit. When the ring is half full the kernel
//! rings the doorbell port so the VMM drains it; when it is full the event is
//! counted as dropped, never written over an unread one.

use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};
use lde_abi::trace::{
    ring_capacity, Encoded, Event, KernelEvent, RingHeader, HEADER_SIZE, RING_MAGIC, RING_VERSION,
};
use x86_64::instructions::port::Port;

use crate::kcell::KernelCell;

struct Ring {
    /// The slot the next event goes to (once there is a ring): a free
    /// slot of the ring, or [`SCRATCH`] while the ring is full.
    next: *mut Event,
    /// The counter the next event adds one to: the header's `head`, which
    /// publishes it, or while the ring is full the header's `dropped`.
    count: *mut u64,
    /// When `next` reaches it, [`look`] before the next event: the slots
    /// end there, or the ring may be half full there (ring the doorbell)
    /// or full (unless the VMM drained it meanwhile). Until then every slot
    /// is known to be free, so an event is its stores and nothing else.
    stop: *mut Event,
    /// Null: there is no ring (tracing is off).
    header: *mut RingHeader,
    slots: *mut Event,
    capacity: u64,
    /// The event number (`head`) at which to look at the ring's tail again.
    check_at: u64,
}

static RING: KernelCell<Ring> = KernelCell::new(Ring {
    next: core::ptr::null_mut(),
    count: core::ptr::null_mut(),
    stop: core::ptr::null_mut(),
    header: core::ptr::null_mut(),
    slots: core::ptr::null_mut(),
    capacity: 0,
    check_at: 0,
});

/// Where events go while the ring is full: written, never read, and
/// counted as dropped. The usual path is then the same whether the ring
/// has room or not. Only ever used by address.
static SCRATCH: KernelCell<[u64; 8]> = KernelCell::new([0; 8]);

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
        r.check_at = 0;
        look(r);
    });
}

/// Record one event (a no-op when tracing is off). Kernel code runs with
/// interrupts off (kcell.rs), so nothing can record in between. Every
/// kernel instruction counts on PVM hosts, so this is: a test for "no
/// ring", the TSC, the words the kind uses, one add to publish it, and a
/// compare with `stop` (after the event, so that the usual path calls
/// nothing and needs no stack frame).
#[inline(always)]
pub fn record(pid: u32, event: KernelEvent) {
    // The closure too is inlined into each caller: shared, it would be one
    // out-of-line function for every kind, called with the event in memory
    // and matching on its kind (measured on the quiet tick: 48 more
    // instructions than inlined).
    RING.with(
        #[inline(always)]
        |r| record_in(r, pid, event),
    )
}

#[inline(always)]
fn record_in(r: &mut Ring, pid: u32, event: KernelEvent) {
    // One compare with memory when there is no ring (`next` is loaded
    // only when there is one).
    if r.header.is_null() {
        return;
    }
    let slot = r.next;
    // SAFETY: `next` is a free slot of the initialised ring, or the
    // scratch slot (`look` sets it so), and the kernel is the only
    // writer of both.
    unsafe { write_slot(slot, pid, event.encode()) };
    // SAFETY: one past a slot is inside the ring or its end (or one
    // past the scratch slot): `stop` catches it before any write.
    let next = unsafe { slot.add(1) };
    r.next = next;
    // Publish the slot (or count the drop) only after it is written. One
    // CPU writes the ring, so the add needs no `lock`; x86 keeps stores in
    // order, so a reader on another host thread that sees the new `head`
    // sees the slot too. The `asm!` (which may touch memory) keeps the
    // compiler from moving the slot's stores after it.
    // SAFETY: `count` points at the header's `head` or `dropped` (`look`),
    // 8-byte aligned; the VMM writes neither.
    unsafe {
        core::arch::asm!("inc qword ptr [{}]", in(reg) r.count, options(nostack));
    }
    if next == r.stop {
        look(r);
    }
}

/// Write `e` into `slot`, a store per word or less: the TSC in two halves
/// as `rdtsc` gives them, the kind, detail and pid, and the arguments the
/// kind uses (lde-abi `Event`: TSC, then kind, detail and pid in one word, then
/// the six arguments; checked at compile time below).
///
/// # Safety
/// `slot` must be a free slot of the ring.
#[inline(always)]
unsafe fn write_slot(slot: *mut Event, pid: u32, e: Encoded) {
    let (lo, hi): (u32, u32);
    // SAFETY: RDTSC only reads the time stamp counter (CR4.TSD is clear).
    unsafe {
        core::arch::asm!("rdtsc", out("eax") lo, out("edx") hi,
            options(nomem, nostack, preserves_flags));
    }
    let half = slot as *mut u32;
    let word = slot as *mut u64;
    // SAFETY: the slot is 64 bytes (16 halves, 8 words), free, and ours.
    unsafe {
        half.write(lo);
        half.add(1).write(hi);
        // Kind and detail apart: the compiler joins the two stores when
        // both are constants, and need not shift when the detail is not.
        addr_of_mut!((*slot).kind).write(e.kind);
        addr_of_mut!((*slot).detail).write(e.detail);
        half.add(3).write(pid);
        for i in 0..e.len {
            word.add(2 + i).write(e.args[i]);
        }
    }
}

// `write_slot` stores events half word and word; this is the layout it
// relies on.
const _: () = assert!(
    core::mem::offset_of!(Event, kind) == 8
        && core::mem::offset_of!(Event, detail) == 10
        && core::mem::offset_of!(Event, pid) == 12
        && core::mem::offset_of!(Event, args) == 16
        && core::mem::size_of::<Event>() == 64
);

/// Where the next event goes, at `stop`: wrap around at the end of the
/// slots; at `check_at` look at the tail: ring the doorbell when the ring
/// is half full, and when it is full send events to the scratch slot and
/// count them as dropped until the VMM has drained it. Sets the next
/// `check_at` and `stop`.
#[cold]
#[inline(never)]
fn look(r: &mut Ring) {
    let h = r.header;
    // SAFETY: `h` points at the initialised ring header (see `init`), and
    // `slots` at its `capacity` slots; the VMM writes only `tail`.
    unsafe {
        let head = read_volatile(addr_of!((*h).head));
        if head == r.check_at {
            let used = head.wrapping_sub(read_volatile(addr_of!((*h).tail)));
            if used >= r.capacity / 2 {
                doorbell();
            }
            if used >= r.capacity {
                let scratch = SCRATCH.as_ptr() as *mut Event;
                r.next = scratch;
                r.stop = scratch.add(1);
                r.count = addr_of_mut!((*h).dropped);
                return;
            }
            // Look again when the ring could be half full, or full,
            // counting from the tail just read.
            let tail = head - used;
            r.check_at = if used < r.capacity / 2 {
                tail + r.capacity / 2
            } else {
                tail + r.capacity
            };
        }
        // `check_at` is ahead of `head` now: stop there, or at the end of
        // the slots if that comes first.
        let index = head & (r.capacity - 1);
        r.next = r.slots.add(index as usize);
        r.stop = r
            .next
            .add((r.check_at - head).min(r.capacity - index) as usize);
        r.count = addr_of_mut!((*h).head);
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
