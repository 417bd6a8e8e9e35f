//! Judging numbers that come from the guest.
//!
//! The guest is untrusted: a counter it reports (events it dropped, CPU
//! ticks of a process) is shown as it came, but when it cannot be true it
//! is marked so, rather than printed as a fact. The bounds are physical:
//! the guest cannot do anything more often than once per TSC cycle of the
//! run, nor tick more often than its timer period.

/// A TSC rate no CPU reaches (kHz), for when KVM did not give the rate.
const FASTEST_TSC_KHZ: u64 = 10_000_000;

/// The most TSC cycles a run of `wall_ns` can have had.
pub fn max_cycles(wall_ns: u64, tsc_khz: u64) -> u64 {
    let khz = if tsc_khz == 0 {
        FASTEST_TSC_KHZ
    } else {
        tsc_khz
    };
    ((wall_ns as u128 * khz as u128 / 1_000_000) as u64).saturating_add(1)
}

/// A mark for a count of dropped guest events, empty when it can be true:
/// dropping an event takes the kernel at least one instruction, so there
/// cannot be more of them than cycles in the run.
pub fn dropped_mark(dropped: u64, wall_ns: u64, tsc_khz: u64) -> String {
    let most = max_cycles(wall_ns, tsc_khz);
    if dropped > most {
        format!(" [cannot be true: more than the {most} TSC cycles the run lasted]")
    } else {
        String::new()
    }
}

/// The most timer ticks a run of `wall_ns` can have had, `tick_ns` apart
/// (one more for the tick at the start).
pub fn max_ticks(wall_ns: u64, tick_ns: u64) -> u64 {
    (wall_ns / tick_ns.max(1)).saturating_add(1)
}

/// A note on a process's CPU ticks, empty when they can be true.
pub fn cpu_ticks_mark(pid: u32, cpu_ticks: u64, wall_ns: u64, tick_ns: u64) -> String {
    let most = max_ticks(wall_ns, tick_ns);
    if cpu_ticks > most {
        format!(
            "pid {pid}: {cpu_ticks} CPU ticks cannot be true: the run lasted at most {most} ticks"
        )
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_counts_are_marked() {
        // 0.65 s at 2.445 GHz: 1.6e9 cycles.
        let wall = 650_000_000;
        assert_eq!(dropped_mark(0, wall, 2_445_000), "");
        assert_eq!(dropped_mark(1_000_000, wall, 2_445_000), "");
        let m = dropped_mark(281_474_976_710_655, wall, 2_445_000);
        assert!(m.contains("cannot be true"), "{m}");
        assert!(m.contains("1589250001"), "{m}");
        // Unknown rate: the bound still holds at 10 GHz.
        assert!(dropped_mark(281_474_976_710_655, wall, 0).contains("cannot be true"));
        assert_eq!(cpu_ticks_mark(1, 50, wall, 10_000_000), "");
        assert!(cpu_ticks_mark(1, 5000, wall, 10_000_000).contains("at most 66 ticks"));
    }
}
