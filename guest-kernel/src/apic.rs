//! The timer interrupt: the local APIC timer in x2APIC mode.
//!
//! This is how the OS gets the CPU back from a process that never traps:
//! the APIC counts down and raises vector 0x20 every quantum, through the
//! trap table, whatever the process is doing. x2APIC is programmed through
//! MSRs (kvm-host.md: xAPIC MMIO is unreliable on PVM hosts); with KVM's
//! in-kernel LAPIC, none of this reaches the VMM.

use x86_64::registers::model_specific::Msr;

use crate::idt::{SPURIOUS_VECTOR, TIMER_VECTOR};
use crate::trace::rdtsc;

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_BASE_X2APIC: u64 = 1 << 10;
const APIC_BASE_ENABLE: u64 = 1 << 11;
const SVR: u32 = 0x80f;
const EOI: u32 = 0x80b;
const LVT_TIMER: u32 = 0x832;
const INITIAL_COUNT: u32 = 0x838;
const CURRENT_COUNT: u32 = 0x839;
const DIVIDE: u32 = 0x83e;
const SVR_ENABLE: u64 = 1 << 8;
const LVT_MASKED: u64 = 1 << 16;
const LVT_PERIODIC: u64 = 1 << 17;
const DIVIDE_BY_1: u64 = 0b1011;

fn wrmsr(msr: u32, value: u64) {
    // SAFETY: only the x2APIC MSRs above are written, in ways the SDM allows.
    unsafe { Msr::new(msr).write(value) }
}

fn rdmsr(msr: u32) -> u64 {
    // SAFETY: reading the x2APIC MSRs above has no side effects.
    unsafe { Msr::new(msr).read() }
}

/// Switch the local APIC to x2APIC mode and enable it (timer still off).
pub fn init() {
    let base = rdmsr(IA32_APIC_BASE);
    wrmsr(IA32_APIC_BASE, base | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
    wrmsr(SVR, SVR_ENABLE | SPURIOUS_VECTOR as u64);
    wrmsr(LVT_TIMER, LVT_MASKED | TIMER_VECTOR as u64);
}

/// APIC timer counts per microsecond, measured against the TSC over about
/// half a millisecond (KVM's APIC bus runs at 1 GHz by default; we measure
/// rather than assume).
fn counts_per_us(tsc_khz: u64) -> u64 {
    if tsc_khz == 0 {
        return 1000;
    }
    wrmsr(DIVIDE, DIVIDE_BY_1);
    wrmsr(LVT_TIMER, LVT_MASKED | TIMER_VECTOR as u64);
    let window = tsc_khz / 2; // 0.5 ms of TSC
    wrmsr(INITIAL_COUNT, u32::MAX as u64);
    let t0 = rdtsc();
    while rdtsc() - t0 < window {
        core::hint::spin_loop();
    }
    let counted = u32::MAX as u64 - rdmsr(CURRENT_COUNT);
    let elapsed = rdtsc() - t0;
    wrmsr(INITIAL_COUNT, 0);
    // counts / us = counted / (elapsed / tsc_per_us)
    (counted * tsc_khz / 1000 / elapsed.max(1)).max(1)
}

/// Start the periodic timer: one interrupt every `quantum_us`.
pub fn start_periodic(quantum_us: u64, tsc_khz: u64) -> u64 {
    let rate = counts_per_us(tsc_khz);
    let count = (rate * quantum_us).min(u32::MAX as u64);
    wrmsr(DIVIDE, DIVIDE_BY_1);
    wrmsr(LVT_TIMER, LVT_PERIODIC | TIMER_VECTOR as u64);
    wrmsr(INITIAL_COUNT, count);
    rate
}

/// Acknowledge the interrupt being handled.
pub fn eoi() {
    wrmsr(EOI, 0);
}

/// Mask the legacy 8259 PICs: every interrupt we want comes from the APIC.
pub fn mask_pic() {
    use x86_64::instructions::port::Port;
    // SAFETY: writing the PIC mask registers only masks IRQ lines.
    unsafe {
        Port::<u8>::new(0x21).write(0xff);
        Port::<u8>::new(0xa1).write(0xff);
    }
}
