//! The FPU and SSE registers of user processes: saved and restored at every
//! context switch (`fxsave`/`fxrstor`), so no process sees what another left
//! in them. The kernel itself never uses them (the target is soft-float).

use crate::kcell::KernelCell;

/// An `fxsave` area.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct FpuState([u8; 512]);

impl FpuState {
    pub const ZERO: FpuState = FpuState([0; 512]);

    /// The state a new process starts with (after `fninit`).
    pub fn initial() -> FpuState {
        INITIAL.with(|s| *s)
    }
}

static INITIAL: KernelCell<FpuState> = KernelCell::new(FpuState::ZERO);

const CR0_MP: u64 = 1 << 1;
const CR0_EM: u64 = 1 << 2;
const CR0_TS: u64 = 1 << 3;
const CR4_OSFXSR: u64 = 1 << 9;
const CR4_OSXMMEXCPT: u64 = 1 << 10;

/// Turn on x87 and SSE for user code and record the initial state.
pub fn init() {
    // SAFETY: sets the documented CR0/CR4 bits for FPU/SSE use and
    // initialises the x87 unit; no memory is touched.
    unsafe {
        core::arch::asm!(
            "mov {t}, cr0",
            "and {t}, {clear0}",
            "or {t}, {set0}",
            "mov cr0, {t}",
            "mov {t}, cr4",
            "or {t}, {set4}",
            "mov cr4, {t}",
            "fninit",
            t = out(reg) _,
            clear0 = in(reg) !(CR0_EM | CR0_TS),
            set0 = in(reg) CR0_MP,
            set4 = in(reg) CR4_OSFXSR | CR4_OSXMMEXCPT,
            options(nostack, nomem)
        );
    }
    INITIAL.with(save);
}

/// Save the FPU/SSE registers into `state`.
pub fn save(state: &mut FpuState) {
    // SAFETY: `state` is a 512-byte, 16-byte aligned area we own.
    unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) state.0.as_mut_ptr(), options(nostack)) };
}

/// Load the FPU/SSE registers from `state`.
pub fn restore(state: &FpuState) {
    // SAFETY: `state` holds an image written by `fxsave64`, 16-byte aligned.
    unsafe {
        core::arch::asm!("fxrstor64 [{}]", in(reg) state.0.as_ptr(), options(nostack, readonly))
    };
}
