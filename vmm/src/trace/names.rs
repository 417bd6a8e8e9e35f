//! Process names as a trace reveals them: the header's programs first, then
//! `proc_create` events and `process` records (the kernel's word wins).

use std::collections::BTreeMap;

use super::record::{GuestEvent, Header, Record};

#[derive(Debug, Default, Clone)]
pub struct ProcessNames {
    names: BTreeMap<u32, String>,
}

impl ProcessNames {
    pub fn new(header: &Header) -> ProcessNames {
        ProcessNames {
            names: header
                .programs
                .iter()
                .map(|p| (p.pid, p.name.clone()))
                .collect(),
        }
    }

    /// Learn a name from a record, if it carries one; returns the pid
    /// whose name this changed.
    pub fn observe(&mut self, record: &Record) -> Option<u32> {
        let (pid, name) = match record {
            Record::Event(e) => match &e.event {
                GuestEvent::ProcCreate { name, .. } => (e.pid, name),
                _ => return None,
            },
            Record::Process(p) => (p.pid, &p.name),
            _ => return None,
        };
        if pid == 0 || name.is_empty() || self.names.get(&pid) == Some(name) {
            return None;
        }
        self.names.insert(pid, name.clone());
        Some(pid)
    }

    /// The name of `pid`, if known; pid 0 is the kernel (or idle).
    pub fn get(&self, pid: u32) -> Option<&str> {
        match pid {
            0 => Some("kernel"),
            _ => self.names.get(&pid).map(String::as_str),
        }
    }

    /// `pid name`, or just the pid when the name is unknown.
    pub fn label(&self, pid: u32) -> String {
        match self.get(pid) {
            Some(name) => format!("{pid} {name}"),
            None => pid.to_string(),
        }
    }
}
