//! How times are written for people and for trace viewers.

/// Nanoseconds as milliseconds with microsecond precision: `12.345`.
pub fn ms(ns: u64) -> String {
    format!("{}.{:03}", ns / 1_000_000, ns / 1_000 % 1_000)
}

/// A duration in the unit that suits it: `850 ns`, `12.3 us`, `4.56 ms`,
/// `1.23 s`.
pub fn duration(ns: u64) -> String {
    if ns >= 1_000_000_000 {
        format!("{:.2} s", ns as f64 / 1e9)
    } else if ns >= 1_000_000 {
        format!("{:.2} ms", ns as f64 / 1e6)
    } else if ns >= 1_000 {
        format!("{:.1} us", ns as f64 / 1e3)
    } else {
        format!("{ns} ns")
    }
}

/// Nanoseconds as the microseconds of the Chrome trace-event format (which
/// takes fractions, so nothing is rounded away).
pub fn micros(ns: u64) -> f64 {
    ns as f64 / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_keep_microseconds() {
        assert_eq!(ms(0), "0.000");
        assert_eq!(ms(999), "0.000");
        assert_eq!(ms(12_345_678), "12.345");
        assert_eq!(ms(3_000_000_000), "3000.000");
    }

    #[test]
    fn durations_pick_a_unit() {
        assert_eq!(duration(850), "850 ns");
        assert_eq!(duration(12_345), "12.3 us");
        assert_eq!(duration(4_560_000), "4.56 ms");
        assert_eq!(duration(1_230_000_000), "1.23 s");
    }
}
