//! The debugger's state while gdb is attached, and the one hook the vCPU
//! loop calls after every exit (`after_exit`).
//!
//! How a stop happens depends on where the guest is and on the host
//! (measured on a PVM host and on KVM-SVM nested in QEMU TCG; Intel VMX
//! untested, per KVM's documented behaviour):
//! - Kernel mode (ring 0), every host: `KVM_GUESTDBG_SINGLESTEP` gives one
//!   `KVM_EXIT_DEBUG` per instruction, and hardware breakpoints (DR0-3)
//!   fire as `KVM_EXIT_DEBUG`.
//! - Software breakpoints in the kernel: on PVM an `int3` patched in gives
//!   `KVM_EXIT_INTERNAL_ERROR` (the emulator cannot run `int3` in ring 0)
//!   with RIP on the `0xCC`: we recognise our own breakpoint there.
//!   `debug.arch.dr7` is garbage on PVM and is never read. On VMX/SVM gdb's
//!   software breakpoints in the kernel are served by a debug register
//!   instead (so at most four, with gdb's `hbreak`s): `int3` is not a
//!   reliable exit there. With `KVM_GUESTDBG_USE_SW_BP` KVM intercepts the
//!   #BP exception, but QEMU's emulated SVM treats `int3` as a software
//!   interrupt, which KVM does not intercept, so the guest kernel would
//!   take its own #BP in ring 0.
//! - User mode (ring 3), every host: software breakpoints are `int3`
//!   patched into the process's page (a debug register would match every
//!   process: all are linked at 0x400000). `KVM_GUESTDBG_USE_SW_BP` is
//!   never set, so a user #BP reaches the guest's IDT on every host, as
//!   does a user #DB on PVM (where KVM cannot step or break in ring 3).
//!   The kernel forwards user #DB/#BP to the debug port with its trap
//!   frame (`lde_abi::debug`); we show gdb that frame, and step by setting
//!   TF in it (or in RFLAGS, if the vCPU is stopped in user mode itself).
//!   On VMX/SVM a user #DB is KVM's instead (`KVM_EXIT_DEBUG`) while a
//!   debug register or KVM's single-step is armed.
//! - Resuming from a breakpoint (RF is ignored on PVM): take the breakpoint
//!   out, step one instruction, put it back, go on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use gdbstub::common::Signal;
use gdbstub::stub::SingleThreadStopReason;
use kvm_bindings::{
    kvm_guest_debug, KVM_GUESTDBG_BLOCKIRQ, KVM_GUESTDBG_ENABLE, KVM_GUESTDBG_SINGLESTEP,
    KVM_GUESTDBG_USE_HW_BP,
};
use kvm_ioctls::VcpuFd;
use lde_abi::cpu::vector;
use lde_abi::debug::RFLAGS_TF;
use lde_abi::layout::USER_END;

const VECTOR_DB: u64 = vector::DEBUG as u64;
const VECTOR_BP: u64 = vector::BREAKPOINT as u64;
use lde_abi::trap_frame::TrapFrame;

use super::kick::Kicker;
use super::link::Link;
use super::virtual_memory;
use crate::exits::{Ending, Machine};
use crate::memory::GuestRam;
use crate::trace::record::ExitKind;

pub type StopReason = SingleThreadStopReason<u64>;

/// Why the vCPU loop handed control back to the debugger.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Paused {
    /// The guest stopped: tell gdb.
    Stop(StopReason),
    /// gdb sent something (Ctrl-C) while the guest ran.
    Incoming,
}

/// A software breakpoint: the byte it replaced, at the guest-physical
/// address it was patched (user breakpoints are in one address space).
#[derive(Debug, Clone, Copy)]
struct SwBreakpoint {
    phys: u64,
    orig: u8,
}

/// A breakpoint taken out to step over it.
#[derive(Debug, Clone, Copy)]
struct StepOver {
    addr: u64,
    /// A software breakpoint (else a hardware one).
    sw: bool,
    /// Go on running after the step (a `continue` from the breakpoint).
    then_continue: bool,
}

/// A stop forwarded by the kernel: the user's registers are in the trap
/// frame at `addr` (kernel-virtual).
#[derive(Debug, Clone, Copy)]
pub struct UserStop {
    pub addr: u64,
    pub frame: TrapFrame,
}

pub struct Session {
    pub link: Link,
    pub kicker: Arc<Kicker>,
    /// KVM is PVM here (software breakpoints end in an internal error).
    pub pvm: bool,
    sw: BTreeMap<u64, SwBreakpoint>,
    hw: [Option<u64>; 4],
    /// gdb's software breakpoints kept in a debug register (kernel code on
    /// VMX/SVM); their addresses are also in `hw`.
    sw_in_dr: BTreeSet<u64>,
    /// The current resume is one step (gdb's or a step over a breakpoint).
    stepping: bool,
    /// That step is done by KVM (rather than by TF, in user mode).
    kvm_step: bool,
    /// We set TF in the user's RFLAGS (so we clear it again).
    tf_ours: bool,
    step_over: Option<StepOver>,
    /// A one-shot breakpoint at the user instruction an `iretq` returns to
    /// (how a step over `iretq` lands in user mode on PVM).
    iretq_step: Option<(u64, SwBreakpoint)>,
    pub user_stop: Option<UserStop>,
    pub paused: Option<Paused>,
}

const BREAKPOINT: u8 = 0xcc;

impl Session {
    pub fn new(link: Link, kicker: Arc<Kicker>, pvm: bool) -> Session {
        Session {
            link,
            kicker,
            pvm,
            sw: BTreeMap::new(),
            hw: [None; 4],
            sw_in_dr: BTreeSet::new(),
            stepping: false,
            kvm_step: false,
            tf_ours: false,
            step_over: None,
            iretq_step: None,
            user_stop: None,
            paused: None,
        }
    }

    /// Tell KVM what to trap: hardware breakpoints and single-step (never
    /// `int3`: see above). Done before every resume: SVM needs single-step
    /// re-armed each time.
    pub fn arm(&self, vcpu: &VcpuFd) -> Result<(), String> {
        let mut dbg = kvm_guest_debug {
            control: KVM_GUESTDBG_ENABLE,
            ..Default::default()
        };
        // DR7: G0-G3 (global enable, bits 1, 3, 5, 7), execute breakpoints
        // of length 1 (R/W and LEN bits 0), GE and the always-one bit 10.
        let mut dr7 = 0x600u64;
        for (i, addr) in self.hw.iter().enumerate() {
            if let Some(a) = addr {
                dbg.arch.debugreg[i] = *a;
                dr7 |= 2 << (2 * i);
            }
        }
        if dr7 != 0x600 {
            dbg.control |= KVM_GUESTDBG_USE_HW_BP;
            dbg.arch.debugreg[7] = dr7;
        }
        if self.kvm_step {
            // BLOCKIRQ: a step runs the next instruction, not the timer
            // handler that happens to be pending.
            dbg.control |= KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_BLOCKIRQ;
        }
        vcpu.set_guest_debug(&dbg)
            .map_err(|e| format!("KVM_SET_GUEST_DEBUG: {e}"))
    }

    /// Stop trapping anything (gdb detached).
    pub fn disarm(&mut self, vcpu: &VcpuFd, ram: &GuestRam) {
        if let Some((_, bp)) = self.iretq_step.take() {
            let _ = ram.write(bp.phys, &[bp.orig]);
        }
        // Stopped at a forwarded trap: the kernel returns through the frame
        // as we changed it (RIP back on a breakpoint, no TF of ours).
        if let Some(mut u) = self.user_stop.take() {
            if self.tf_ours {
                u.frame.rflags &= !RFLAGS_TF;
            }
            if let Err(e) = write_frame(vcpu, ram, &u) {
                log::warn!("gdb: detaching: {e}");
            }
        }
        for addr in self.sw.keys().copied().collect::<Vec<_>>() {
            self.remove_sw(ram, addr);
        }
        self.hw = [None; 4];
        self.sw_in_dr.clear();
        let _ = vcpu.set_guest_debug(&kvm_guest_debug::default());
    }

    pub fn add_sw(&mut self, vcpu: &VcpuFd, ram: &GuestRam, addr: u64) -> bool {
        if self.sw.contains_key(&addr) || self.sw_in_dr.contains(&addr) {
            return true;
        }
        if !self.pvm && addr >= USER_END {
            // Kernel code on VMX/SVM: a debug register (none free: gdb
            // says it cannot insert the breakpoint).
            let ok = self.add_hw(addr);
            if ok {
                self.sw_in_dr.insert(addr);
            }
            return ok;
        }
        match patch(vcpu, ram, addr) {
            Some(bp) => {
                self.sw.insert(addr, bp);
                true
            }
            None => false,
        }
    }

    pub fn remove_sw(&mut self, ram: &GuestRam, addr: u64) -> bool {
        if self.sw_in_dr.remove(&addr) {
            return self.remove_hw(addr);
        }
        match self.sw.remove(&addr) {
            Some(bp) => ram.write(bp.phys, &[bp.orig]).is_ok(),
            None => false,
        }
    }

    pub fn add_hw(&mut self, addr: u64) -> bool {
        if self.hw.contains(&Some(addr)) {
            return true;
        }
        match self.hw.iter_mut().find(|s| s.is_none()) {
            Some(slot) => {
                *slot = Some(addr);
                true
            }
            None => false,
        }
    }

    pub fn remove_hw(&mut self, addr: u64) -> bool {
        match self.hw.iter_mut().find(|s| **s == Some(addr)) {
            Some(slot) => {
                *slot = None;
                true
            }
            None => false,
        }
    }

    fn own_sw_at(&self, ram: &GuestRam, addr: u64) -> bool {
        let mut b = [0u8];
        self.sw
            .get(&addr)
            .is_some_and(|bp| ram.read(bp.phys, &mut b).is_ok() && b[0] == BREAKPOINT)
    }

    /// Prepare to run again: `step` one instruction, or continue. From a
    /// breakpoint, first step over it with it taken out.
    pub fn resume(&mut self, vcpu: &VcpuFd, ram: &GuestRam, step: bool) -> Result<(), String> {
        let (rip, user) = match &self.user_stop {
            Some(u) => (u.frame.rip, true),
            None => {
                let regs = vcpu.get_regs().map_err(|e| e.to_string())?;
                let sregs = vcpu.get_sregs().map_err(|e| e.to_string())?;
                (regs.rip, sregs.cs.selector & 3 == 3)
            }
        };
        let mut need_step = step;
        if self.sw.contains_key(&rip) || self.hw.contains(&Some(rip)) {
            if self.sw.contains_key(&rip) {
                let bp = self.sw[&rip];
                let _ = ram.write(bp.phys, &[bp.orig]);
            } else {
                self.remove_hw(rip);
            }
            self.step_over = Some(StepOver {
                addr: rip,
                sw: self.sw.contains_key(&rip),
                then_continue: !step,
            });
            need_step = true;
        }
        self.stepping = need_step;
        if need_step && self.pvm && self.user_stop.is_none() && !user {
            // KVM's single-step does not stop in user mode here: over an
            // iretq to ring 3 it would run on to the next kernel entry.
            // A one-shot int3 at the return address stops there instead.
            if let Some(target) = iretq_to_user(vcpu, ram, rip) {
                if let Some(bp) = patch(vcpu, ram, target) {
                    self.iretq_step = Some((target, bp));
                    self.kvm_step = false;
                    return self.arm(vcpu);
                }
            }
        }
        // In user mode on PVM only TF steps; elsewhere KVM does.
        let tf_step = need_step && (self.user_stop.is_some() || (user && self.pvm));
        self.kvm_step = need_step && !tf_step;
        if tf_step || self.tf_ours {
            self.set_user_tf(vcpu, tf_step)?;
            self.tf_ours = tf_step;
        }
        if let Some(u) = self.user_stop.take() {
            write_frame(vcpu, ram, &u)?;
        }
        self.arm(vcpu)
    }

    /// Set or clear TF where the user's RFLAGS are: the forwarded frame, or
    /// the vCPU (stopped in user mode).
    fn set_user_tf(&mut self, vcpu: &VcpuFd, on: bool) -> Result<(), String> {
        let apply = |f: u64| if on { f | RFLAGS_TF } else { f & !RFLAGS_TF };
        if let Some(u) = self.user_stop.as_mut() {
            u.frame.rflags = apply(u.frame.rflags);
            return Ok(());
        }
        let mut regs = vcpu.get_regs().map_err(|e| e.to_string())?;
        regs.rflags = apply(regs.rflags);
        vcpu.set_regs(&regs).map_err(|e| e.to_string())
    }

    /// A step finished. Returns the stop for gdb, or `None` when it was
    /// only the step over a breakpoint before continuing.
    fn step_done(&mut self, vcpu: &VcpuFd, ram: &GuestRam) -> Option<StopReason> {
        self.stepping = false;
        self.kvm_step = false;
        let Some(over) = self.step_over.take() else {
            return Some(StopReason::DoneStep);
        };
        // Put the breakpoint back (unless gdb removed it meanwhile).
        if over.sw {
            if let Some(bp) = self.sw.get(&over.addr) {
                let _ = ram.write(bp.phys, &[BREAKPOINT]);
            }
        } else {
            self.add_hw(over.addr);
        }
        if !over.then_continue {
            return Some(StopReason::DoneStep);
        }
        // Continue: clear our TF, give the frame back, re-arm without step.
        let resumed = self
            .resume(vcpu, ram, false)
            .map_err(|e| log::warn!("gdb: resuming after a breakpoint: {e}"));
        if resumed.is_err() {
            return Some(StopReason::Signal(Signal::SIGTRAP));
        }
        None
    }

    fn on_debug_exit(
        &mut self,
        vcpu: &VcpuFd,
        ram: &GuestRam,
        exception: u32,
    ) -> Option<StopReason> {
        if self.stepping && exception == VECTOR_DB as u32 {
            return self.step_done(vcpu, ram);
        }
        let rip = vcpu.get_regs().map(|r| r.rip).unwrap_or(0);
        if self.sw.contains_key(&rip) {
            return Some(StopReason::SwBreak(()));
        }
        if self.sw_in_dr.contains(&rip) {
            return Some(StopReason::SwBreak(()));
        }
        if self.hw.contains(&Some(rip)) {
            return Some(StopReason::HwBreak(()));
        }
        Some(StopReason::Signal(Signal::SIGTRAP))
    }

    /// The kernel forwarded a user #DB/#BP (debug port, RDI = the frame).
    fn on_forwarded(&mut self, vcpu: &VcpuFd, ram: &GuestRam, vector: u64) -> Option<StopReason> {
        let addr = vcpu.get_regs().ok()?.rdi;
        let mut bytes = [0u8; std::mem::size_of::<TrapFrame>()];
        if virtual_memory::read(vcpu, ram, addr, &mut bytes) != bytes.len() {
            log::warn!("gdb: the kernel forwarded a trap frame at {addr:#x}, which is not mapped");
            return Some(StopReason::Signal(Signal::SIGTRAP));
        }
        let mut frame = frame_from_bytes(&bytes);
        if let Some((at, bp)) = self
            .iretq_step
            .filter(|(at, _)| *at == frame.rip.wrapping_sub(1))
        {
            if vector == VECTOR_BP {
                let _ = ram.write(bp.phys, &[bp.orig]);
                self.iretq_step = None;
                frame.rip = at;
                self.user_stop = Some(UserStop { addr, frame });
                return self.step_done(vcpu, ram);
            }
        }
        if vector == VECTOR_BP && self.own_sw_at(ram, frame.rip.wrapping_sub(1)) {
            // int3 traps after itself: put RIP back on the breakpoint.
            frame.rip -= 1;
            self.user_stop = Some(UserStop { addr, frame });
            return Some(StopReason::SwBreak(()));
        }
        self.user_stop = Some(UserStop { addr, frame });
        if vector == VECTOR_DB && self.stepping {
            return self.step_done(vcpu, ram);
        }
        Some(StopReason::Signal(Signal::SIGTRAP))
    }
}

/// Put an int3 at `addr` (current address space); what it replaced.
fn patch(vcpu: &VcpuFd, ram: &GuestRam, addr: u64) -> Option<SwBreakpoint> {
    let phys = virtual_memory::translate(vcpu, ram, addr)?;
    let mut orig = [0u8];
    ram.read(phys, &mut orig).ok()?;
    ram.write(phys, &[BREAKPOINT]).ok()?;
    Some(SwBreakpoint {
        phys,
        orig: orig[0],
    })
}

/// If the vCPU is on an `iretq` that returns to user mode, where to.
fn iretq_to_user(vcpu: &VcpuFd, ram: &GuestRam, rip: u64) -> Option<u64> {
    const IRETQ: [u8; 2] = [0x48, 0xcf];
    let mut insn = [0u8; 2];
    if virtual_memory::read(vcpu, ram, rip, &mut insn) != 2 || insn != IRETQ {
        return None;
    }
    // The frame iretq pops: RIP, CS, RFLAGS, RSP, SS.
    let rsp = vcpu.get_regs().ok()?.rsp;
    let mut frame = [0u8; 16];
    if virtual_memory::read(vcpu, ram, rsp, &mut frame) != 16 {
        return None;
    }
    let target = u64::from_le_bytes(frame[..8].try_into().ok()?);
    let cs = u64::from_le_bytes(frame[8..].try_into().ok()?);
    (cs & 3 == 3).then_some(target)
}

fn frame_from_bytes(bytes: &[u8]) -> TrapFrame {
    let q: Vec<u64> = bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    TrapFrame {
        rax: q[0],
        rbx: q[1],
        rcx: q[2],
        rdx: q[3],
        rsi: q[4],
        rdi: q[5],
        rbp: q[6],
        r8: q[7],
        r9: q[8],
        r10: q[9],
        r11: q[10],
        r12: q[11],
        r13: q[12],
        r14: q[13],
        r15: q[14],
        vector: q[15],
        error: q[16],
        rip: q[17],
        cs: q[18],
        rflags: q[19],
        rsp: q[20],
        ss: q[21],
    }
}

fn frame_to_bytes(f: &TrapFrame) -> Vec<u8> {
    [
        f.rax, f.rbx, f.rcx, f.rdx, f.rsi, f.rdi, f.rbp, f.r8, f.r9, f.r10, f.r11, f.r12, f.r13,
        f.r14, f.r15, f.vector, f.error, f.rip, f.cs, f.rflags, f.rsp, f.ss,
    ]
    .iter()
    .flat_map(|v| v.to_le_bytes())
    .collect()
}

/// Write a (changed) forwarded frame back for the kernel to return through.
pub fn write_frame(vcpu: &VcpuFd, ram: &GuestRam, u: &UserStop) -> Result<(), String> {
    if virtual_memory::write(vcpu, ram, u.addr, &frame_to_bytes(&u.frame)) {
        Ok(())
    } else {
        Err(format!(
            "the trap frame at {:#x} is no longer mapped",
            u.addr
        ))
    }
}

/// Called by the vCPU loop after every exit while gdb is attached: does
/// the debugger take over now? May turn an internal error at one of our
/// breakpoints into a stop (clearing `ending`).
pub fn after_exit(m: &mut Machine, exit: &ExitKind, ending: &mut Option<Ending>) -> bool {
    let Machine {
        vcpu, ram, debug, ..
    } = m;
    let Some(s) = debug.as_mut() else {
        return false;
    };
    vcpu.set_kvm_immediate_exit(0);
    let stop = match exit {
        ExitKind::Debug { exception, .. } => {
            *ending = None;
            s.on_debug_exit(vcpu, ram, *exception)
        }
        ExitKind::InternalError { .. } => {
            let rip = vcpu.get_regs().map(|r| r.rip).unwrap_or(0);
            if s.own_sw_at(ram, rip) {
                *ending = None;
                Some(StopReason::SwBreak(()))
            } else {
                None
            }
        }
        ExitKind::IoOut { port, value, .. } if *port == lde_abi::ports::DEBUG => {
            s.on_forwarded(vcpu, ram, *value & 0xff)
        }
        _ => None,
    };
    if let Some(reason) = stop {
        s.paused = Some(Paused::Stop(reason));
        return true;
    }
    if s.link.poll() {
        s.paused = Some(Paused::Incoming);
        return true;
    }
    false
}
