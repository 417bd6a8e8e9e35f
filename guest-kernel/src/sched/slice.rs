//! The time slice of the job a policy chose last: lottery and stride
//! decide again only when it is used up or the job leaves the CPU.

use super::policy::Slot;

pub struct Slice {
    current: Option<Slot>,
    left: u64,
    len: u64,
}

impl Slice {
    /// Slices of `len` ticks (at least 1).
    pub const fn new(len: u64) -> Self {
        Slice {
            current: None,
            left: 0,
            len: if len == 0 { 1 } else { len },
        }
    }

    /// The chosen job while its slice lasts: no decision is due.
    pub fn going_on(&self) -> Option<Slot> {
        self.current.filter(|_| self.left > 0)
    }

    /// `slot` was chosen: a fresh slice.
    pub fn start(&mut self, slot: Slot) {
        self.current = Some(slot);
        self.left = self.len;
    }

    /// The running job was charged a tick.
    pub fn charge(&mut self) {
        self.left = self.left.saturating_sub(1);
    }

    /// A quiet tick: `slot`, the chosen job, is charged a tick and its
    /// slice is not used up by it (else nothing changes: false).
    pub fn goes_on(&mut self, slot: Slot) -> bool {
        if self.current != Some(slot) || self.left <= 1 {
            return false;
        }
        self.left -= 1;
        true
    }

    /// It yields: the slice ends now.
    pub fn end(&mut self) {
        self.left = 0;
    }

    /// `slot` is no longer runnable.
    pub fn stop(&mut self, slot: Slot) {
        if self.current == Some(slot) {
            self.current = None;
        }
    }

    pub fn clear(&mut self) {
        self.current = None;
    }
}
