//! Which pages a user pointer covers: the arithmetic half of the check the
//! kernel makes before it touches memory a user program named (the other
//! half, walking the page tables, is paging.rs's `user_range_ok`).
//!
//! Pure logic: also compiled on the host, where `cargo test` checks it
//! (tests/kernel_logic.rs).

use lde_abi::layout::{PAGE_SIZE, USER_END};

/// The pages `[addr, addr + len)` touches, as (first page, end): `None`
/// when the range wraps around or leaves the user half. An empty range
/// touches no page (and is fine anywhere below `USER_END`).
#[inline]
pub fn pages(addr: u64, len: u64) -> Option<(u64, u64)> {
    if len == 0 {
        return (addr < USER_END).then_some((0, 0));
    }
    let end = addr.checked_add(len)?;
    if end > USER_END {
        return None;
    }
    Some((addr & !(PAGE_SIZE - 1), end))
}
