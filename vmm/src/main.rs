//! `lde`: see the crate docs (lib.rs) and README.md.

use clap::Parser;
use lde::cli::{Cli, Command};
use lde::error;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(
                e.kind(),
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                std::process::exit(if e.kind() == DisplayHelpOnMissingArgumentOrSubcommand {
                    2
                } else {
                    0
                });
            }
            // One line: clap's first line, without the usage block.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            error::to_stderr(&format!("lde: {first} (see lde --help)\n"));
            std::process::exit(lde_abi::exit::status::BAD_INPUT);
        }
    };
    let command = cli.command_or_default();
    let verbose = match &command {
        Command::Run(a) => a.verbose,
        _ => 0,
    };
    let level = match verbose {
        0 => "warn",
        _ => "debug",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .format_timestamp_micros()
        .init();

    // Paths need not be UTF-8: the header records them as best it can.
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let result = match command {
        Command::Run(args) => lde::run::run(&args, argv),
        Command::Trace(cmd) => lde::trace::inspect::run(cmd),
        Command::Kernel(args) => lde::gdb::symbols::extract(&args.extract, args.program.as_deref()),
    };
    match result {
        Ok(status) => std::process::exit(status),
        Err(e) => {
            error::to_stderr(&format!("lde: error: {}\n", error::one_line(&e)));
            std::process::exit(error::exit_status(&e));
        }
    }
}
