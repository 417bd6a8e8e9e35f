//! The event ring: the kernel's side of lde-abi `trace`.
//!
//! Events are written into guest RAM that the VMM reads, so recording one
//! costs a few stores, not a VM exit; each slot publishes itself with its
//! mark, stored last. When the ring is half full the kernel
//! rings the doorbell port so the VMM drains it; when it is full the event is
//! counted as dropped, never written over an unread one.

use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};
use core::sync::atomic::{AtomicU32, Ordering};
use lde_abi::trace::{
    ring_capacity, Encoded, Event, KernelEvent, RingHeader, HEADER_SIZE, MARK_OFFSET, RING_MAGIC,
    RING_VERSION,
};
use x86_64::instructions::port::Port;

use crate::kcell::KernelCell;

struct Ring {
    /// The slot the next event goes to (once there is a ring): a free
    /// slot of the ring, or [`SCRATCH`] while the ring is full.
    next: *mut Event,
    /// After an event into this slot, [`look`] before the next: the slots
    /// end there, or the ring may be half full there (ring the doorbell)
    /// or full (unless the VMM drained it meanwhile). Until then every slot
    /// is known to be free, so an event is its stores and nothing else.
    last: *mut Event,
    /// Null: there is no ring (tracing is off).
    header: *mut RingHeader,
    slots: *mut Event,
    capacity: u64,
    /// The event number of `first`: events written before the current
    /// run of slots.
    head: u64,
    /// Where the current run of slots began (or [`SCRATCH`]).
    first: *mut Event,
    /// The event number (`head`) at which to look at the ring's tail again.
    check_at: u64,
}

static RING: KernelCell<Ring> = KernelCell::new(Ring {
    next: core::ptr::null_mut(),
    last: core::ptr::null_mut(),
    header: core::ptr::null_mut(),
    slots: core::ptr::null_mut(),
    capacity: 0,
    head: 0,
    first: core::ptr::null_mut(),
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
        tail: 0,
        dropped: 0,
        _reserved: [0; 3],
    };
    // SAFETY: the VMM reserved `size` bytes at `addr` for the ring (the
    // memory map marks them so no allocator hands them out) and the direct
    // map covers them. The slots are zero (guest RAM comes zeroed): every
    // mark says "empty".
    unsafe { write_volatile(header, h) };
    RING.with(|r| {
        r.header = header;
        r.slots = (header as u64 + HEADER_SIZE) as *mut Event;
        r.capacity = capacity;
        r.head = 0;
        r.first = r.slots;
        r.next = r.slots;
        r.check_at = 0;
        look(r);
    });
}

/// Record one event (a no-op when tracing is off). Kernel code runs with
/// interrupts off (kcell.rs), so nothing can record in between. Every
/// kernel instruction counts on PVM hosts, so this is: a test for "no
/// ring", the TSC, the words the event uses, the mark last (which
/// publishes the slot), the next slot, and a compare with `last` (after
/// the event, so that the usual path calls nothing and needs no stack
/// frame).
#[inline(always)]
pub fn record(pid: u32, event: KernelEvent) {
    // The closure too is inlined into each caller: shared, it would be one
    // out-of-line function for every kind, called with the event in memory
    // and matching on its kind (measured on the quiet tick: 48 more
    // instructions than inlined).
    RING.with(
        #[inline(always)]
        |r| record_in(r, pid, event, event.encode().mark(), None),
    )
}

/// [`record`] with the event's mark given, as the caller has it in a
/// register (the `getpid` mark of the path a system call arrived by,
/// syscall.rs `Arrival`): it must be `event`'s.
#[inline(always)]
pub fn record_marked(pid: u32, event: KernelEvent, mark: u32) {
    debug_assert_eq!(mark, event.encode().mark());
    RING.with(
        #[inline(always)]
        |r| record_in(r, pid, event, mark, None),
    )
}

/// [`record`] stamped with `tsc`, a time stamp the caller read already
/// (the tick's start, timer.rs): no second `rdtsc`, one 8-byte store.
#[inline(always)]
pub fn record_at(pid: u32, event: KernelEvent, tsc: u64) {
    RING.with(
        #[inline(always)]
        |r| record_in(r, pid, event, event.encode().mark(), Some(tsc)),
    )
}

/// Record `event` with `mark`, stamped with `tsc`, or with the TSC now.
#[inline(always)]
fn record_in(r: &mut Ring, pid: u32, event: KernelEvent, mark: u32, tsc: Option<u64>) {
    // One compare with memory when there is no ring (`next` is loaded
    // only when there is one).
    if r.header.is_null() {
        return;
    }
    let slot = r.next;
    // SAFETY: `next` is a free slot of the initialised ring, or the
    // scratch slot (`look` sets it so), and the kernel is the only
    // writer of both.
    unsafe { write_slot(slot, pid, event.encode(), mark, tsc) };
    // SAFETY: one past a slot is inside the ring or its end (or one
    // past the scratch slot): `last` catches it before any write.
    // `r.next` again, not `slot`: the mark's release store makes the
    // compiler load it anew, so this is one `add` to memory.
    r.next = unsafe { r.next.add(1) };
    // The slot just written, not the new `next`: the compare needs no
    // register of its own.
    if slot == r.last {
        look(r);
    }
}

/// Write `e` into `slot`, a store per word or less: the TSC (`tsc`, or
/// now's in two halves as `rdtsc` gives them), the pid, the arguments this event uses, and last
/// the mark (flags, kind, detail: lde-abi `Event`; layout checked at
/// compile time below) `mark`, which publishes the slot.
///
/// # Safety
/// `slot` must be a free slot of the ring (its mark 0) or the scratch slot.
#[inline(always)]
unsafe fn write_slot(slot: *mut Event, pid: u32, e: Encoded, mark: u32, tsc: Option<u64>) {
    let half = slot as *mut u32;
    let word = slot as *mut u64;
    // SAFETY: the slot is 64 bytes (16 halves, 8 words), free, and ours;
    // the mark is a 4-byte aligned word of it. RDTSC only reads the time
    // stamp counter (CR4.TSD is clear).
    unsafe {
        if let Some(tsc) = tsc {
            // Little-endian: the same two halves, low first.
            word.write(tsc);
        } else {
            let (lo, hi): (u32, u32);
            core::arch::asm!("rdtsc", out("eax") lo, out("edx") hi,
                options(nomem, nostack, preserves_flags));
            half.write(lo);
            half.add(1).write(hi);
        }
        half.add(3).write(pid);
        for i in 0..e.len {
            word.add(2 + i).write(e.args[i]);
        }
        // Release: every store above is ordered before it, for the
        // compiler too (on x86 it is a plain `mov`, and x86 keeps stores
        // in order), so a VMM that sees the mark sees the whole event.
        AtomicU32::from_ptr(half.add(2)).store(mark, Ordering::Release);
    }
}

// `write_slot` stores events half word and word; this is the layout it
// relies on.
const _: () = assert!(
    MARK_OFFSET == 8
        && core::mem::offset_of!(Event, pid) == 12
        && core::mem::offset_of!(Event, args) == 16
        && core::mem::size_of::<Event>() == 64
);

/// Where the next event goes, after an event into `last`: count it if it
/// was dropped, wrap around at the end of the slots; at `check_at` look at
/// the tail: ring the doorbell when the ring is half full, and when it is
/// full send events to the scratch slot and count them as dropped until
/// the VMM has drained it. Sets `first`, `next`, `last`, and the next
/// `check_at`.
#[cold]
#[inline(never)]
fn look(r: &mut Ring) {
    let h = r.header;
    let scratch = SCRATCH.as_ptr() as *mut Event;
    // SAFETY: `h` points at the initialised ring header (see `init`), and
    // `slots` at its `capacity` slots; the VMM writes only `tail` (and the
    // marks of slots it consumed).
    unsafe {
        if r.first == scratch {
            let dropped = addr_of_mut!((*h).dropped);
            write_volatile(dropped, read_volatile(dropped) + 1);
        } else {
            r.head += r.next.offset_from(r.first) as u64;
        }
        let head = r.head;
        if head == r.check_at {
            let used = head.wrapping_sub(read_volatile(addr_of!((*h).tail)));
            if used >= r.capacity / 2 {
                doorbell();
            }
            if used >= r.capacity {
                r.first = scratch;
                r.next = scratch;
                r.last = scratch;
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
        r.first = r.slots.add(index as usize);
        r.next = r.first;
        r.last = r
            .first
            .add((r.check_at - head).min(r.capacity - index) as usize - 1);
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
