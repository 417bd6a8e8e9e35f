//! A queue of process slots with a fixed capacity (no heap in the kernel):
//! the run queue of FIFO and round robin, and each level of MLFQ.

use super::policy::{Slot, CAPACITY};

pub struct SlotQueue {
    slots: [u16; CAPACITY],
    head: usize,
    len: usize,
}

impl SlotQueue {
    pub const EMPTY: SlotQueue = SlotQueue {
        slots: [0; CAPACITY],
        head: 0,
        len: 0,
    };

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn front(&self) -> Option<Slot> {
        (self.len > 0).then(|| self.slots[self.head] as Slot)
    }

    /// The `i`-th slot from the front.
    pub fn get(&self, i: usize) -> Slot {
        debug_assert!(i < self.len);
        self.slots[(self.head + i) % CAPACITY] as Slot
    }

    pub fn push_back(&mut self, slot: Slot) {
        assert!(self.len < CAPACITY, "run queue overflow");
        self.slots[(self.head + self.len) % CAPACITY] = slot as u16;
        self.len += 1;
    }

    pub fn push_front(&mut self, slot: Slot) {
        assert!(self.len < CAPACITY, "run queue overflow");
        self.head = (self.head + CAPACITY - 1) % CAPACITY;
        self.slots[self.head] = slot as u16;
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<Slot> {
        let slot = self.front()?;
        self.head = (self.head + 1) % CAPACITY;
        self.len -= 1;
        Some(slot)
    }

    /// Take `slot` out wherever it is; false when it is not queued.
    pub fn remove(&mut self, slot: Slot) -> bool {
        let Some(at) = (0..self.len).find(|&i| self.get(i) == slot) else {
            return false;
        };
        for i in at..self.len - 1 {
            self.slots[(self.head + i) % CAPACITY] = self.slots[(self.head + i + 1) % CAPACITY];
        }
        self.len -= 1;
        true
    }

    /// Move the front to the back (round robin's rotation).
    pub fn rotate(&mut self) {
        if let Some(slot) = self.pop_front() {
            self.push_back(slot);
        }
    }

    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = Slot> + '_ {
        (0..self.len).map(|i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_order_front_pushes_and_removal_in_the_middle() {
        let mut q = SlotQueue::EMPTY;
        q.push_back(1);
        q.push_back(2);
        q.push_back(3);
        q.push_front(0);
        assert!(q.remove(2));
        assert!(!q.remove(7));
        q.rotate();
        assert_eq!(q.iter().collect::<Vec<_>>(), [1, 3, 0]);
        assert_eq!(q.pop_front(), Some(1));
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn wraps_around_at_capacity() {
        let mut q = SlotQueue::EMPTY;
        for round in 0..3 {
            for s in 0..CAPACITY {
                q.push_back(s);
            }
            for s in 0..CAPACITY {
                assert_eq!(q.pop_front(), Some(s), "round {round}");
            }
            assert!(q.is_empty());
        }
    }
}
