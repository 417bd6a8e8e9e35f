//! The local APIC in x2APIC mode: enable it, acknowledge interrupts, and
//! its registers (the timer that uses them is timer.rs).
//!
//! x2APIC is programmed through MSRs. The xAPIC's MMIO page is not an
//! option on PVM hosts (KVM without VMX/SVM): mapped with a 1 GiB page it
//! faults with a reserved-bit #PF. With KVM's in-kernel LAPIC none of this
//! reaches the VMM.

use lde_abi::cpu::vector;
use x86_64::registers::model_specific::Msr;

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_BASE_X2APIC: u64 = 1 << 10;
const APIC_BASE_ENABLE: u64 = 1 << 11;
const SVR: u32 = 0x80f;
const EOI: u32 = 0x80b;
pub const LVT_TIMER: u32 = 0x832;
pub const INITIAL_COUNT: u32 = 0x838;
pub const CURRENT_COUNT: u32 = 0x839;
pub const DIVIDE: u32 = 0x83e;
const SVR_ENABLE: u64 = 1 << 8;
pub const LVT_MASKED: u64 = 1 << 16;
pub const LVT_PERIODIC: u64 = 1 << 17;
pub const DIVIDE_BY_1: u64 = 0b1011;

pub fn wrmsr(msr: u32, value: u64) {
    // SAFETY: only the x2APIC MSRs above are written, in ways the SDM allows.
    unsafe { Msr::new(msr).write(value) }
}

pub fn rdmsr(msr: u32) -> u64 {
    // SAFETY: reading the x2APIC MSRs above has no side effects.
    unsafe { Msr::new(msr).read() }
}

/// Switch the local APIC to x2APIC mode and enable it (timer still off).
pub fn init() {
    let base = rdmsr(IA32_APIC_BASE);
    wrmsr(IA32_APIC_BASE, base | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
    wrmsr(SVR, SVR_ENABLE | vector::SPURIOUS as u64);
    wrmsr(LVT_TIMER, LVT_MASKED | vector::TIMER as u64);
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
