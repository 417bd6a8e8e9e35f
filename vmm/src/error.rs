//! Errors that decide `lde`'s exit status.
//!
//! Everything that goes wrong comes back as an `anyhow::Error`. Those caused
//! by what the user gave us (arguments, files) carry a [`BadInput`] and end
//! with status 2; anything else is a host error (status 1). Either way `lde`
//! prints one line, never a backtrace.

use std::fmt;

/// A problem with the user's input: printed as is, exit status 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Shorthand: an `anyhow::Error` that is bad input.
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

/// The exit status for an error.
pub fn exit_status(err: &anyhow::Error) -> i32 {
    if err.chain().any(|e| e.is::<BadInput>()) {
        lde_abi::exit::status::BAD_INPUT
    } else {
        lde_abi::exit::status::HOST_ERROR
    }
}

/// The error as one line: the causes joined by ": ".
pub fn one_line(err: &anyhow::Error) -> String {
    format!("{err:#}").replace('\n', " ")
}

/// Write `text` to stderr, ignoring failure: a closed or broken stderr
/// (`lde run 2>&1 | head -1`) must not stop the run or lose its files, and
/// `eprint!` would panic on it.
pub fn to_stderr(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// The same for stdout.
pub fn to_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

/// Report I/O problems that came after the run itself ended (writing the
/// trace or the timeline): each is printed, and they turn the status into
/// a host error (1) only when the run ended with 0, so they never hide how
/// the guest ended.
pub fn with_io_problems(status: i32, problems: &[anyhow::Error]) -> i32 {
    for p in problems {
        to_stderr(&format!("lde: error: {}\n", one_line(p)));
    }
    if problems.is_empty() || status != 0 {
        status
    } else {
        lde_abi::exit::status::HOST_ERROR
    }
}
