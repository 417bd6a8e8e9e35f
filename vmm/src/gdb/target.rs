//! What gdb can ask of the guest (gdbstub's `Target`): registers, memory,
//! breakpoints, continue and step, `monitor` commands.
//!
//! Registers come from the vCPU, except at a stop the kernel forwarded from
//! user mode: then the user's registers are those in the trap frame
//! (session.rs) and gdb reads and writes the frame.

use gdbstub::arch::Arch;
use gdbstub::common::Signal;
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, SwBreakpoint, SwBreakpointOps,
};
use gdbstub::target::ext::monitor_cmd::{ConsoleOutput, MonitorCmd, MonitorCmdOps};
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbstub_arch::x86::reg::X86_64CoreRegs;
use gdbstub_arch::x86::X86_64_SSE;

use super::session::Session;
use super::{monitor, virtual_memory};
use crate::exits::Machine;

/// EFAULT: gdb shows "Cannot access memory at address ...".
const EFAULT: u8 = 14;

pub struct GdbTarget<'m> {
    pub m: &'m mut Machine,
}

impl GdbTarget<'_> {
    pub fn session(&mut self) -> &mut Session {
        self.m
            .debug
            .as_mut()
            .expect("a gdb target exists only with a session")
    }
}

fn fatal<T>(what: &str, e: impl std::fmt::Display) -> Result<T, TargetError<String>> {
    log::warn!("gdb: {what}: {e}");
    Err(TargetError::NonFatal)
}

impl Target for GdbTarget<'_> {
    type Arch = X86_64_SSE;
    type Error = String;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::SingleThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadBase for GdbTarget<'_> {
    fn read_registers(&mut self, regs: &mut X86_64CoreRegs) -> TargetResult<(), Self> {
        let vcpu = &self.m.vcpu;
        let (r, s) = match (vcpu.get_regs(), vcpu.get_sregs()) {
            (Ok(r), Ok(s)) => (r, s),
            (Err(e), _) | (_, Err(e)) => return fatal("reading registers", e),
        };
        regs.regs = [
            r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11,
            r.r12, r.r13, r.r14, r.r15,
        ];
        regs.rip = r.rip;
        regs.eflags = r.rflags as u32;
        regs.segments.cs = s.cs.selector.into();
        regs.segments.ss = s.ss.selector.into();
        regs.segments.ds = s.ds.selector.into();
        regs.segments.es = s.es.selector.into();
        regs.segments.fs = s.fs.selector.into();
        regs.segments.gs = s.gs.selector.into();
        if let Ok(fpu) = vcpu.get_fpu() {
            for (st, fpr) in regs.st.iter_mut().zip(fpu.fpr.iter()) {
                st.copy_from_slice(&fpr[..10]);
            }
            regs.fpu.fctrl = fpu.fcw.into();
            regs.fpu.fstat = fpu.fsw.into();
            regs.fpu.fop = fpu.last_opcode.into();
            for (x, b) in regs.xmm.iter_mut().zip(fpu.xmm.iter()) {
                *x = u128::from_le_bytes(*b);
            }
            regs.mxcsr = fpu.mxcsr;
        }
        if let Some(u) = &self.session().user_stop {
            let f = u.frame;
            regs.regs = [
                f.rax, f.rbx, f.rcx, f.rdx, f.rsi, f.rdi, f.rbp, f.rsp, f.r8, f.r9, f.r10, f.r11,
                f.r12, f.r13, f.r14, f.r15,
            ];
            regs.rip = f.rip;
            regs.eflags = f.rflags as u32;
            regs.segments.cs = f.cs as u32;
            regs.segments.ss = f.ss as u32;
        }
        Ok(())
    }

    fn write_registers(&mut self, regs: &X86_64CoreRegs) -> TargetResult<(), Self> {
        let g = regs.regs;
        if let Some(u) = self.session().user_stop.as_mut() {
            let f = &mut u.frame;
            [
                f.rax, f.rbx, f.rcx, f.rdx, f.rsi, f.rdi, f.rbp, f.rsp, f.r8, f.r9, f.r10, f.r11,
                f.r12, f.r13, f.r14, f.r15,
            ] = g;
            f.rip = regs.rip;
            // Only the flags user code may have: the kernel returns through
            // this frame with iretq.
            f.rflags = (f.rflags & !0xcd5) | (u64::from(regs.eflags) & 0xcd5);
            return Ok(());
        }
        let vcpu = &self.m.vcpu;
        let mut r = match vcpu.get_regs() {
            Ok(r) => r,
            Err(e) => return fatal("reading registers", e),
        };
        [
            r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11,
            r.r12, r.r13, r.r14, r.r15,
        ] = g;
        r.rip = regs.rip;
        r.rflags = (r.rflags & !0xffff_ffff) | u64::from(regs.eflags) | 2;
        vcpu.set_regs(&r).or_else(|e| fatal("writing registers", e))
    }

    fn read_addrs(&mut self, start: u64, data: &mut [u8]) -> TargetResult<usize, Self> {
        match virtual_memory::read(&self.m.vcpu, &self.m.ram, start, data) {
            0 if !data.is_empty() => Err(TargetError::Errno(EFAULT)),
            n => Ok(n),
        }
    }

    fn write_addrs(&mut self, start: u64, data: &[u8]) -> TargetResult<(), Self> {
        if virtual_memory::write(&self.m.vcpu, &self.m.ram, start, data) {
            Ok(())
        } else {
            Err(TargetError::Errno(EFAULT))
        }
    }

    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl GdbTarget<'_> {
    fn go(&mut self, step: bool) -> Result<(), String> {
        let Machine {
            vcpu, ram, debug, ..
        } = &mut *self.m;
        let s = debug.as_mut().expect("a session");
        s.paused = None;
        s.resume(vcpu, ram, step)
    }
}

impl SingleThreadResume for GdbTarget<'_> {
    fn resume(&mut self, signal: Option<Signal>) -> Result<(), Self::Error> {
        if signal.is_some() {
            log::info!("gdb: signals are not delivered to the guest; continuing without");
        }
        self.go(false)
    }

    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadSingleStep for GdbTarget<'_> {
    fn step(&mut self, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.go(true)
    }
}

impl Breakpoints for GdbTarget<'_> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }
}

type Kind = <X86_64_SSE as Arch>::BreakpointKind;

impl SwBreakpoint for GdbTarget<'_> {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: Kind) -> TargetResult<bool, Self> {
        let Machine {
            vcpu, ram, debug, ..
        } = &mut *self.m;
        Ok(debug.as_mut().expect("a session").add_sw(vcpu, ram, addr))
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: Kind) -> TargetResult<bool, Self> {
        let Machine { ram, debug, .. } = &mut *self.m;
        Ok(debug.as_mut().expect("a session").remove_sw(ram, addr))
    }
}

impl HwBreakpoint for GdbTarget<'_> {
    fn add_hw_breakpoint(&mut self, addr: u64, _kind: Kind) -> TargetResult<bool, Self> {
        Ok(self.session().add_hw(addr))
    }

    fn remove_hw_breakpoint(&mut self, addr: u64, _kind: Kind) -> TargetResult<bool, Self> {
        Ok(self.session().remove_hw(addr))
    }
}

impl MonitorCmd for GdbTarget<'_> {
    fn handle_monitor_cmd(&mut self, cmd: &[u8], mut out: ConsoleOutput<'_>) -> Result<(), String> {
        let text = monitor::run(self, &String::from_utf8_lossy(cmd));
        gdbstub::outputln!(out, "{}", text.trim_end());
        Ok(())
    }
}
