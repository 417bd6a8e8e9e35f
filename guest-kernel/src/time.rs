//! Time in ticks: the unit of every scheduling figure.
//!
//! Under `rr` and `fifo` a tick is one APIC timer interrupt, one quantum
//! long. Under `coop` there is no timer; ticks are then read off the TSC
//! (elapsed time divided by the quantum) so the figures stay comparable.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Read the TSC.
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects; CR4.TSD is clear so it works.
    unsafe { core::arch::x86_64::_rdtsc() }
}

static TICKS: AtomicU64 = AtomicU64::new(0);
static TIMER: AtomicBool = AtomicBool::new(false);
static TSC_START: AtomicU64 = AtomicU64::new(0);
static TSC_PER_TICK: AtomicU64 = AtomicU64::new(1);
static TICK_NS: AtomicU64 = AtomicU64::new(10_000_000);
static TSC_KHZ: AtomicU64 = AtomicU64::new(0);
/// When the last timer tick was taken.
static LAST_TICK_TSC: AtomicU64 = AtomicU64::new(0);

/// Start the clock at tick 0, now.
pub fn start(tsc_khz: u64, quantum_us: u64, timer: bool) {
    TSC_KHZ.store(tsc_khz, Ordering::Relaxed);
    TICK_NS.store(quantum_us * 1000, Ordering::Relaxed);
    TSC_PER_TICK.store((tsc_khz * quantum_us / 1000).max(1), Ordering::Relaxed);
    TIMER.store(timer, Ordering::Relaxed);
    TSC_START.store(rdtsc(), Ordering::Relaxed);
    LAST_TICK_TSC.store(rdtsc(), Ordering::Relaxed);
}

/// One timer interrupt, taken at TSC `tsc`; returns the new tick count.
#[inline]
pub fn tick(tsc: u64) -> u64 {
    LAST_TICK_TSC.store(tsc, Ordering::Relaxed);
    let t: u64;
    // An increment in memory and a load (one CPU, interrupts off: nothing
    // else counts in between), one instruction less than `fetch_add`'s
    // `lock xadd` and the `+ 1` after it, on every tick.
    // SAFETY: TICKS is a static u64 (an AtomicU64 has u64's layout), only
    // ever read and written whole.
    unsafe {
        core::arch::asm!(
            "inc qword ptr [rip + {ticks}]",
            "mov {t}, qword ptr [rip + {ticks}]",
            ticks = sym TICKS,
            t = out(reg) t,
            options(nostack),
        );
    }
    t
}

/// Is the timer's next interrupt due (a whole tick since the last one was
/// taken)? Always false without a timer.
pub fn tick_due() -> bool {
    timer_on()
        && rdtsc().saturating_sub(LAST_TICK_TSC.load(Ordering::Relaxed))
            >= TSC_PER_TICK.load(Ordering::Relaxed)
}

/// Ticks since the scheduler started.
#[inline]
pub fn now() -> u64 {
    if TIMER.load(Ordering::Relaxed) {
        TICKS.load(Ordering::Relaxed)
    } else {
        tsc_to_ticks(rdtsc().saturating_sub(TSC_START.load(Ordering::Relaxed)))
    }
}

#[inline]
pub fn timer_on() -> bool {
    TIMER.load(Ordering::Relaxed)
}

#[inline]
pub fn tsc_to_ticks(tsc: u64) -> u64 {
    tsc / TSC_PER_TICK.load(Ordering::Relaxed)
}

#[inline]
/// The TSC at which tick `t` is due (the clock starts at tick 0).
pub fn due_tsc(t: u64) -> u64 {
    TSC_START.load(Ordering::Relaxed) + t * TSC_PER_TICK.load(Ordering::Relaxed)
}

pub fn tsc_per_tick() -> u64 {
    TSC_PER_TICK.load(Ordering::Relaxed)
}

pub fn tick_ns() -> u64 {
    TICK_NS.load(Ordering::Relaxed)
}

pub fn tsc_khz() -> u64 {
    TSC_KHZ.load(Ordering::Relaxed)
}
