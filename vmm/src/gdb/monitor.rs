//! `monitor` commands: what gdb's x86-64 register set does not show.

use super::target::GdbTarget;
use super::virtual_memory;

const HELP: &str = "\
lde monitor commands:
  cpl    privilege level of the stopped context (0 kernel, 3 user)
  cr3    page-table root of the current address space
  idt    the trap table: present gates with handler, selector, type, DPL
  sregs  control registers, EFER, segment bases (fs_base, gs_base), GDT/IDT/TR
  help   this list";

/// Run one monitor command; returns what gdb prints.
pub fn run(t: &mut GdbTarget<'_>, cmd: &str) -> String {
    let user_cs = t.session().user_stop.map(|u| u.frame.cs);
    let vcpu = &t.m.vcpu;
    let Ok(s) = vcpu.get_sregs() else {
        return "cannot read the vCPU's special registers".into();
    };
    match cmd.trim() {
        "cpl" => {
            let cpl = user_cs
                .map(|cs| cs & 3)
                .unwrap_or((s.cs.selector & 3).into());
            let at = if user_cs.is_some() {
                " (the user context the kernel forwarded)"
            } else {
                ""
            };
            format!("cpl {cpl}{at}")
        }
        "cr3" => format!("cr3 {:#x}", s.cr3),
        "sregs" => format!(
            "cr0 {:#x} cr2 {:#x} cr3 {:#x} cr4 {:#x} efer {:#x}\n\
             cs {:#x} ss {:#x} ds {:#x} es {:#x} fs {:#x} gs {:#x}\n\
             fs_base {:#x} gs_base {:#x}\n\
             gdt {:#x} limit {:#x}, idt {:#x} limit {:#x}, tr {:#x} base {:#x}",
            s.cr0,
            s.cr2,
            s.cr3,
            s.cr4,
            s.efer,
            s.cs.selector,
            s.ss.selector,
            s.ds.selector,
            s.es.selector,
            s.fs.selector,
            s.gs.selector,
            s.fs.base,
            s.gs.base,
            s.gdt.base,
            s.gdt.limit,
            s.idt.base,
            s.idt.limit,
            s.tr.selector,
            s.tr.base,
        ),
        "idt" => {
            // At most 256 gates of 16 bytes, read through the page tables.
            let len = (usize::from(s.idt.limit) + 1).min(256 * 16);
            let mut table = vec![0u8; len];
            let got = virtual_memory::read(vcpu, &t.m.ram, s.idt.base, &mut table);
            let mut out = format!("idt at {:#x}, limit {:#x}\n", s.idt.base, s.idt.limit);
            for (vector, gate) in table[..got].chunks_exact(16).enumerate() {
                if let Some(line) = describe_gate(vector, gate) {
                    out.push_str(&line);
                    out.push('\n');
                }
            }
            out
        }
        "" | "help" => HELP.into(),
        other => format!("unknown monitor command '{other}'\n{HELP}"),
    }
}

/// One present 64-bit IDT gate as a line.
fn describe_gate(vector: usize, g: &[u8]) -> Option<String> {
    let attr = g[5];
    if attr & 0x80 == 0 {
        return None;
    }
    let offset = u64::from(u16::from_le_bytes([g[0], g[1]]))
        | u64::from(u16::from_le_bytes([g[6], g[7]])) << 16
        | u64::from(u32::from_le_bytes([g[8], g[9], g[10], g[11]])) << 32;
    let selector = u16::from_le_bytes([g[2], g[3]]);
    let kind = match attr & 0xf {
        0xe => "interrupt",
        0xf => "trap",
        _ => "other",
    };
    let name = lde_abi::trace::vector_name(vector as u64);
    Some(format!(
        "{vector:3} {name:<24} handler {offset:#018x} cs {selector:#x} {kind} dpl {} ist {}",
        (attr >> 5) & 3,
        g[4] & 7
    ))
}

#[cfg(test)]
mod tests {
    use super::describe_gate;

    #[test]
    fn gates() {
        // 0x8e: present, DPL 0, interrupt gate; 0xee: DPL 3.
        let mut g = [0u8; 16];
        g[0..2].copy_from_slice(&0x1234u16.to_le_bytes());
        g[2..4].copy_from_slice(&0x10u16.to_le_bytes());
        g[5] = 0xee;
        g[6..8].copy_from_slice(&0x8010u16.to_le_bytes());
        g[8..12].copy_from_slice(&0xffff_ffffu32.to_le_bytes());
        let line = describe_gate(128, &g).unwrap();
        assert!(line.contains("handler 0xffffffff80101234"), "{line}");
        assert!(line.contains("interrupt dpl 3"), "{line}");
        g[5] = 0x0e;
        assert!(describe_gate(3, &g).is_none());
    }
}
