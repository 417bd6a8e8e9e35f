//! `KernelCell`: kernel state shared by trap handlers and the scheduler.
//!
//! The kernel runs on one CPU and always with interrupts off (every IDT gate
//! is an interrupt gate; the idle loop enables them only around `hlt`, and
//! a long `write` between two chunks, where it holds no borrow: syscall.rs),
//! so no two pieces of kernel code ever run at the same time. That is the whole
//! locking story, and this type is where it is written down once.

use core::cell::UnsafeCell;

pub struct KernelCell<T>(UnsafeCell<T>);

// SAFETY: one CPU, interrupts off whenever kernel code runs (see above):
// accesses never overlap.
unsafe impl<T> Sync for KernelCell<T> {}

impl<T> KernelCell<T> {
    pub const fn new(value: T) -> Self {
        KernelCell(UnsafeCell::new(value))
    }

    /// The value. Callers must not hold two results of `get` on the same cell
    /// at once (keep borrows short: take, use, drop).
    #[allow(clippy::mut_from_ref)]
    pub fn get(&self) -> &mut T {
        // SAFETY: see the type's documentation; callers keep borrows short
        // and never nest them.
        unsafe { &mut *self.0.get() }
    }
}
