//! lde: a KVM virtual machine monitor that runs the mechanisms of OSTEP's
//! *Limited Direct Execution* on real hardware virtualization and records
//! every VM exit.
//!
//! The `lde` binary (`main.rs`) parses the command line (`cli`) and hands
//! over to `run` (boot a VM) or `trace` (inspect a trace file). A run goes:
//! `vm` (KVM objects) -> `kernel` + `programs` (ELF files into guest RAM) ->
//! `boot` (long mode, boot info) -> `exits` (the vCPU loop, one match on the
//! exit reason) with `devices` serving the ports -> `summary`.

pub mod boot;
pub mod cli;
pub mod devices;
pub mod elf_file;
pub mod embedded;
pub mod error;
pub mod exits;
pub mod gdb;
pub mod host;
pub mod jobs;
pub mod kernel;
pub mod kvm_stats;
pub mod memory;
pub mod paths;
pub mod plausible;
pub mod policy;
pub mod programs;
pub mod run;
pub mod run_report;
pub mod trace;
pub mod vm;
pub mod watchdog;
