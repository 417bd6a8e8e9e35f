//! `KernelCell`: kernel state shared by trap handlers and the scheduler.
//!
//! The kernel runs on one CPU and always with interrupts off (every IDT gate
//! is an interrupt gate; the idle loop enables them only around `hlt`, and
//! a long `write` between two chunks, where it holds no borrow: syscall.rs),
//! so no two pieces of kernel code ever run at the same time. That is the whole
//! locking story, and this type is where it is written down once.
//!
//! What remains is aliasing within one thread of kernel code: two `&mut` to
//! the same value at once is undefined behaviour. So the value is only ever
//! lent for the length of a closure ([`KernelCell::with`]): a borrow cannot
//! outlive its scope, in particular it cannot be held across a context
//! switch (`swtch` is never called inside `with`). A nested `with` on the
//! same cell would still alias; debug builds (and the host unit tests) check
//! a borrow flag and panic, as rCore's `UPSafeCell` does with a `RefCell`.
//! Release builds skip the flag: on PVM hosts every kernel instruction is
//! emulated and counted.

use core::cell::UnsafeCell;

pub struct KernelCell<T> {
    value: UnsafeCell<T>,
    #[cfg(debug_assertions)]
    borrowed: core::cell::Cell<bool>,
}

// SAFETY: one CPU, interrupts off whenever kernel code runs (see above):
// accesses never overlap in time.
unsafe impl<T> Sync for KernelCell<T> {}

impl<T> KernelCell<T> {
    pub const fn new(value: T) -> Self {
        KernelCell {
            value: UnsafeCell::new(value),
            #[cfg(debug_assertions)]
            borrowed: core::cell::Cell::new(false),
        }
    }

    /// Lend the value to `f`. Must not be called again on the same cell
    /// from inside `f` (debug builds panic if it is).
    #[inline(always)]
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        #[cfg(debug_assertions)]
        assert!(
            !self.borrowed.replace(true),
            "KernelCell borrowed while already borrowed"
        );
        // SAFETY: the only reference to the value is the one lent to `f`
        // for this call: no other code runs meanwhile (see the module
        // documentation) and `f` does not re-enter this cell (checked in
        // debug builds).
        let result = f(unsafe { &mut *self.value.get() });
        #[cfg(debug_assertions)]
        self.borrowed.set(false);
        result
    }

    /// A raw pointer to the value, for memory the CPU uses by address (a
    /// kernel stack); creating it does not borrow.
    pub const fn as_ptr(&self) -> *mut T {
        self.value.get()
    }
}
