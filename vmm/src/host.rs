//! Facts about the host for the trace header: kernel, KVM flavour, CPU.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The host kernel release (`uname -r`).
pub fn kernel_release() -> String {
    fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Which KVM serves /dev/kvm (the trace header's `kvm`).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Kvm {
    /// Nested, page-table based: `int 0x80` from ring 3 arrives as #UD and
    /// every guest kernel-mode instruction is emulated.
    Pvm,
    /// Intel VT-x.
    Vmx,
    /// AMD-V.
    Svm,
    /// None of those modules is loaded.
    Unknown,
}

impl Kvm {
    pub const ALL: [Kvm; 4] = [Kvm::Pvm, Kvm::Vmx, Kvm::Svm, Kvm::Unknown];

    pub fn name(self) -> &'static str {
        match self {
            Kvm::Pvm => "pvm",
            Kvm::Vmx => "vmx",
            Kvm::Svm => "svm",
            Kvm::Unknown => "unknown",
        }
    }
}

crate::trace::record::named_set!(Kvm, "KVM flavour");

/// Which KVM serves /dev/kvm, by the module that is loaded.
pub fn kvm_flavour() -> Kvm {
    let loaded = |m: &str| Path::new("/sys/module").join(m).exists();
    if loaded("kvm_pvm") {
        Kvm::Pvm
    } else if loaded("kvm_intel") {
        Kvm::Vmx
    } else if loaded("kvm_amd") {
        Kvm::Svm
    } else {
        Kvm::Unknown
    }
}

/// The CPU model name from /proc/cpuinfo.
pub fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavours_keep_their_header_strings() {
        for (kvm, name) in [
            (Kvm::Pvm, "pvm"),
            (Kvm::Vmx, "vmx"),
            (Kvm::Svm, "svm"),
            (Kvm::Unknown, "unknown"),
        ] {
            let json = format!("\"{name}\"");
            assert_eq!(serde_json::to_string(&kvm).unwrap(), json);
            assert_eq!(serde_json::from_str::<Kvm>(&json).unwrap(), kvm);
        }
        assert!(serde_json::from_str::<Kvm>("\"tdx\"").is_err());
    }
}
