//! Host unit tests of the guest kernel's pure logic: no VM, no KVM.
//!
//! The kernel is a `no_std` binary for x86_64-unknown-none, so its own
//! `#[test]`s could not run under `cargo test`. Instead the files that hold
//! pure logic (no hardware, no kernel state: only `core`, `lde_abi` and
//! each other) are compiled a second time here with `#[path]`, in the same
//! module layout as in the kernel so that their `super::` paths resolve:
//! the command line (cmdline.rs), the user-range arithmetic
//! (user_range.rs), `KernelCell` (kcell.rs), and the run queue and every
//! scheduling policy (sched/policy.rs and sched/*.rs). A new policy is
//! tested by adding its file to `sched` below.

#[path = "../guest-kernel/src/cmdline.rs"]
mod cmdline;
#[path = "../guest-kernel/src/kcell.rs"]
mod kcell;
#[path = "../guest-kernel/src/user_range.rs"]
mod user_range;

#[path = "../guest-kernel/src/sched"]
mod sched {
    pub mod coop;
    pub mod fifo;
    pub mod policy;
    pub mod rr;

    pub use policy::{Policy, RunQueue, MAX_PROCS};
}

use lde_abi::boot::{sched_name, SCHED_COOP, SCHED_FIFO, SCHED_RR};
use lde_abi::layout::{PAGE_SIZE, USER_END};
use lde_abi::trace::{ring_capacity, EVENT_SIZE, HEADER_SIZE};
use sched::{Policy, RunQueue, MAX_PROCS};

// --- the command line -----------------------------------------------------

#[test]
fn cmdline_empty_is_all_defaults() {
    let a = cmdline::parse("").unwrap();
    assert_eq!(a.exit, None);
    assert_eq!(a.crash, None);
    assert!(!a.spin && !a.show_idt);
    assert_eq!(a.exitbench, None);
}

#[test]
fn cmdline_parses_every_argument() {
    let a = cmdline::parse("exit=7  show-idt\tspin exitbench=20 crash=fault").unwrap();
    assert_eq!(a.exit, Some(7));
    assert!(a.show_idt && a.spin);
    assert_eq!(a.exitbench, Some(20));
    assert_eq!(a.crash, Some(cmdline::Crash::Fault));
    assert_eq!(
        cmdline::parse("crash=triple").unwrap().crash,
        Some(cmdline::Crash::TripleFault)
    );
    assert_eq!(
        cmdline::parse("crash=panic").unwrap().crash,
        Some(cmdline::Crash::Panic)
    );
}

#[test]
fn cmdline_rejects_bad_words_naming_them() {
    for bad in [
        "exit=100",
        "exit=-1",
        "exit=",
        "exitbench=0",
        "crash=boom",
        "frobnicate",
        "spin=1",
    ] {
        assert_eq!(cmdline::parse(&format!("exit=1 {bad}")).unwrap_err(), bad);
    }
    assert_eq!(
        cmdline::parse(&format!("exit={}", lde_abi::exit::GUEST_MAX))
            .unwrap()
            .exit,
        Some(lde_abi::exit::GUEST_MAX)
    );
}

// --- the run queue and the policies ---------------------------------------

fn queue(slots: &[usize]) -> RunQueue {
    let mut q = RunQueue::EMPTY;
    for &s in slots {
        q.push(s);
    }
    q
}

#[test]
fn run_queue_is_first_in_first_out_and_wraps() {
    let mut q = RunQueue::EMPTY;
    assert!(q.is_empty());
    assert_eq!(q.pop(), None);
    // Go round the ring several times, at full capacity.
    for round in 0..3 {
        for s in 0..MAX_PROCS {
            q.push((s + round) % MAX_PROCS);
        }
        assert!(!q.is_empty());
        for s in 0..MAX_PROCS {
            assert_eq!(q.pop(), Some((s + round) % MAX_PROCS));
        }
        assert!(q.is_empty());
    }
    q.push(3);
    q.push(1);
    assert_eq!(q.pop(), Some(3));
    q.push(2);
    assert_eq!(q.pop(), Some(1));
    assert_eq!(q.pop(), Some(2));
    assert_eq!(q.pop(), None);
}

fn policies() -> [(&'static dyn Policy, u32); 3] {
    [
        (&sched::rr::RoundRobin, SCHED_RR),
        (&sched::fifo::Fifo, SCHED_FIFO),
        (&sched::coop::Cooperative, SCHED_COOP),
    ]
}

#[test]
fn every_policy_is_named_as_the_cli_and_trace_name_it() {
    for (p, id) in policies() {
        assert_eq!(Some(p.name()), sched_name(id));
    }
}

#[test]
fn every_current_policy_picks_in_queue_order() {
    for (p, _) in policies() {
        let mut q = queue(&[4, 0, 2]);
        assert_eq!(p.pick(&mut q), Some(4), "{}", p.name());
        q.push(4);
        assert_eq!(p.pick(&mut q), Some(0), "{}", p.name());
        assert_eq!(p.pick(&mut q), Some(2), "{}", p.name());
        assert_eq!(p.pick(&mut q), Some(4), "{}", p.name());
        assert_eq!(p.pick(&mut q), None, "{}", p.name());
    }
}

#[test]
fn round_robin_preempts_after_one_tick_of_slice() {
    let rr = sched::rr::RoundRobin;
    assert!(rr.uses_timer());
    assert!(!rr.preempts(0));
    assert!(rr.preempts(1));
    assert!(rr.preempts(7));
}

#[test]
fn fifo_ticks_but_never_preempts() {
    let f = sched::fifo::Fifo;
    assert!(f.uses_timer());
    assert!((0..100).all(|t| !f.preempts(t)));
}

#[test]
fn coop_has_no_timer_and_never_preempts() {
    let c = sched::coop::Cooperative;
    assert!(!c.uses_timer());
    assert!((0..100).all(|t| !c.preempts(t)));
}

// --- user ranges ----------------------------------------------------------

#[test]
fn user_range_pages_cover_the_range() {
    assert_eq!(user_range::pages(0x1234, 1), Some((0x1000, 0x1235)));
    assert_eq!(
        user_range::pages(0x1ff8, 16),
        Some((0x1000, 0x2008)),
        "a range across a page boundary starts at its first page"
    );
    assert_eq!(
        user_range::pages(USER_END - PAGE_SIZE, PAGE_SIZE),
        Some((USER_END - PAGE_SIZE, USER_END)),
        "the last user page is user memory"
    );
}

#[test]
fn user_range_refuses_the_kernel_half_and_wraparound() {
    assert_eq!(user_range::pages(USER_END, 1), None);
    assert_eq!(user_range::pages(USER_END - 1, 2), None);
    assert_eq!(user_range::pages(0x1000, u64::MAX), None);
    assert_eq!(user_range::pages(u64::MAX, 1), None);
    assert_eq!(user_range::pages(0xffff_ffff_8010_0000, 8), None);
}

#[test]
fn empty_user_range_touches_no_page() {
    let (first, end) = user_range::pages(0x1234, 0).unwrap();
    assert!(first >= end, "no page to check");
    assert_eq!(
        user_range::pages(USER_END - 1, 0).map(|(a, b)| a >= b),
        Some(true)
    );
    assert_eq!(user_range::pages(USER_END, 0), None);
}

// --- the event ring's capacity --------------------------------------------

#[test]
fn ring_capacity_is_the_largest_power_of_two_that_fits() {
    assert_eq!(ring_capacity(0), 0);
    assert_eq!(ring_capacity(HEADER_SIZE + EVENT_SIZE - 1), 0);
    assert_eq!(ring_capacity(HEADER_SIZE + EVENT_SIZE), 1);
    assert_eq!(ring_capacity(HEADER_SIZE + 3 * EVENT_SIZE), 2);
    assert_eq!(ring_capacity(HEADER_SIZE + 4 * EVENT_SIZE), 4);
    assert_eq!(ring_capacity(1 << 20), 8192, "the default 1 MiB ring");
    for size in [128, 1000, 4096, 1 << 20, 64 << 20] {
        let c = ring_capacity(size);
        assert!(c.is_power_of_two() && HEADER_SIZE + c * EVENT_SIZE <= size);
        assert!(HEADER_SIZE + 2 * c * EVENT_SIZE > size);
    }
}

// --- KernelCell -----------------------------------------------------------

#[test]
fn kernel_cell_lends_its_value_for_a_scope() {
    let cell = kcell::KernelCell::new(1u32);
    cell.with(|v| *v += 1);
    assert_eq!(cell.with(|v| *v), 2);
    // SAFETY: no borrow of `cell` is live; the pointer is read at once.
    assert_eq!(unsafe { *cell.as_ptr() }, 2);
    // Two different cells may be borrowed at once.
    let other = kcell::KernelCell::new(10u32);
    assert_eq!(cell.with(|a| other.with(|b| *a + *b)), 12);
}

#[test]
#[should_panic(expected = "already borrowed")]
fn kernel_cell_refuses_a_nested_borrow() {
    let cell = kcell::KernelCell::new(0u32);
    cell.with(|_| cell.with(|v| *v));
}
