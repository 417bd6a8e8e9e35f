//! Kernel arguments (`lde run -- ARGS`).
//!
//! | argument       | effect                                              |
//! |----------------|-----------------------------------------------------|
//! | `exit=N`       | end the VM with status N (0..=99) after booting     |
//! | `crash=triple` | load an empty IDT and trap: a triple fault          |
//! | `crash=panic`  | a broken invariant: the kernel panics               |
//! | `crash=fault`  | a page fault in kernel mode: the kernel panics      |
//! | `spin`         | spin forever with interrupts off (for the watchdog) |
//! | `show-idt`     | print the trap table at boot                        |
//! | `exitbench=N`  | time N exits to `NULL_PORT` (exitbench.rs), exit 0  |

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Crash {
    TripleFault,
    Panic,
    Fault,
}

#[derive(Default, Debug)]
pub struct KernelArgs {
    pub exit: Option<u8>,
    pub crash: Option<Crash>,
    pub spin: bool,
    pub show_idt: bool,
    pub exitbench: Option<u64>,
}

/// Parse the command line; `Err` carries the offending word.
pub fn parse(cmdline: &str) -> Result<KernelArgs, &str> {
    let mut args = KernelArgs::default();
    for word in cmdline.split_ascii_whitespace() {
        match word.split_once('=') {
            Some(("exit", n)) => match n.parse::<u8>() {
                Ok(n) if n <= lde_abi::exit::GUEST_MAX => args.exit = Some(n),
                _ => return Err(word),
            },
            Some(("exitbench", n)) => match n.parse::<u64>() {
                Ok(n) if n > 0 => args.exitbench = Some(n),
                _ => return Err(word),
            },
            Some(("crash", "triple")) => args.crash = Some(Crash::TripleFault),
            Some(("crash", "panic")) => args.crash = Some(Crash::Panic),
            Some(("crash", "fault")) => args.crash = Some(Crash::Fault),
            None if word == "spin" => args.spin = true,
            None if word == "show-idt" => args.show_idt = true,
            _ => return Err(word),
        }
    }
    Ok(args)
}
