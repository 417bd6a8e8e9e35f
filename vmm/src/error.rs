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
