//! The kernel's end-of-run totals (lde-abi `totals`): read at the exit and
//! printed as the end-of-run lines on the guest's console, where the kernel
//! used to print them itself.

use lde_abi::boot::MAX_MODULES;
use lde_abi::layout::RUN_TOTALS;
use lde_abi::totals::{RunTotals, MAGIC};

use crate::memory::GuestRam;

/// The totals the kernel left, if it left any (`Ok(None)`: no magic, as
/// after `-- exit=N` or a run without programs). The guest is untrusted:
/// figures that cannot be are a broken contract, described in the error.
pub fn read(ram: &GuestRam) -> Result<Option<RunTotals>, String> {
    let t: RunTotals = ram
        .read_pod(RUN_TOTALS)
        .map_err(|e| format!("end-of-run totals: {e}"))?;
    if t.magic != MAGIC {
        return Ok(None);
    }
    if t.processes > MAX_MODULES as u64 || t.killed > t.processes {
        return Err(format!(
            "the kernel's end-of-run totals say {} of {} processes were killed (at most {MAX_MODULES} run)",
            t.killed, t.processes
        ));
    }
    Ok(Some(t))
}

/// The end-of-run lines, as the guest's console shows them.
pub fn lines(t: &RunTotals) -> String {
    let mean = |sum: u64, n: u64| sum.checked_div(n).unwrap_or(0);
    format!(
        "lde kernel: all {} processes have ended ({} killed); {} context switches, {} ticks\n\
         lde kernel: costs: timer tick {} cycles (mean of {}), context switch {} cycles (mean of {})\n\
         lde kernel: costs: pick-next {} cycles (mean of {} decisions), {} cycles (mean of {} that kept the one running or found none)\n",
        t.processes,
        t.killed,
        t.switches,
        t.ticks,
        mean(t.tick_cycles, t.ticks_measured),
        t.ticks_measured,
        mean(t.switch_cycles, t.switches_measured),
        t.switches_measured,
        mean(t.pick_cycles[1], t.picks[1]),
        t.picks[1],
        mean(t.pick_cycles[0], t.picks[0]),
        t.picks[0],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ram_with(t: &RunTotals) -> GuestRam {
        let ram = GuestRam::new(2 << 20).unwrap();
        ram.write_pod(RUN_TOTALS, t).unwrap();
        ram
    }

    #[test]
    fn the_lines_read_as_the_kernel_printed_them() {
        let t = RunTotals {
            magic: MAGIC,
            processes: 5,
            killed: 2,
            switches: 20,
            ticks: 62,
            tick_cycles: 62 * 493_657 + 7,
            ticks_measured: 62,
            switch_cycles: 19 * 2_100_280,
            switches_measured: 19,
            pick_cycles: [48 * 120_348, 20 * 151_875],
            picks: [48, 20],
        };
        let got = read(&ram_with(&t)).unwrap().unwrap();
        assert_eq!(
            lines(&got),
            "lde kernel: all 5 processes have ended (2 killed); 20 context switches, 62 ticks\n\
             lde kernel: costs: timer tick 493657 cycles (mean of 62), context switch 2100280 cycles (mean of 19)\n\
             lde kernel: costs: pick-next 151875 cycles (mean of 20 decisions), 120348 cycles (mean of 48 that kept the one running or found none)\n"
        );
        // Nothing measured: means of 0, not a division by zero.
        let none = RunTotals {
            magic: MAGIC,
            processes: 1,
            ..RunTotals::default()
        };
        assert!(lines(&none).contains("timer tick 0 cycles (mean of 0)"));
    }

    #[test]
    fn no_magic_no_lines_and_impossible_figures_are_refused() {
        assert_eq!(read(&ram_with(&RunTotals::default())), Ok(None));
        let more_killed = RunTotals {
            magic: MAGIC,
            processes: 1,
            killed: 2,
            ..RunTotals::default()
        };
        assert!(read(&ram_with(&more_killed))
            .unwrap_err()
            .contains("2 of 1"));
        let too_many = RunTotals {
            magic: MAGIC,
            processes: u64::MAX,
            ..RunTotals::default()
        };
        assert!(read(&ram_with(&too_many)).is_err());
    }
}
