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
///
/// By hand over bytes rather than with `str` splitting and `parse`: on PVM
/// hosts every kernel instruction is emulated, and this runs on every boot.
pub fn parse(cmdline: &[u8]) -> Result<KernelArgs, &[u8]> {
    let mut args = KernelArgs::default();
    for word in cmdline
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        let (key, value) = match word.iter().position(|&b| b == b'=') {
            Some(i) => (&word[..i], Some(&word[i + 1..])),
            None => (word, None),
        };
        match (key, value) {
            (b"exit", Some(n)) => match number(n) {
                Some(n) if n <= lde_abi::exit::GUEST_MAX as u64 => args.exit = Some(n as u8),
                _ => return Err(word),
            },
            (b"exitbench", Some(n)) => match number(n) {
                Some(n) if n > 0 => args.exitbench = Some(n),
                _ => return Err(word),
            },
            (b"crash", Some(b"triple")) => args.crash = Some(Crash::TripleFault),
            (b"crash", Some(b"panic")) => args.crash = Some(Crash::Panic),
            (b"crash", Some(b"fault")) => args.crash = Some(Crash::Fault),
            (b"spin", None) => args.spin = true,
            (b"show-idt", None) => args.show_idt = true,
            _ => return Err(word),
        }
    }
    Ok(args)
}

/// A decimal number of one or more digits that fits in a u64.
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if d.is_ascii_digit() {
            n.checked_mul(10)?.checked_add((d - b'0') as u64)
        } else {
            None
        }
    })
}
