//! Facts about the host for the trace header: kernel, KVM flavour, CPU.

use std::fs;
use std::path::Path;

/// The host kernel release (`uname -r`).
pub fn kernel_release() -> String {
    fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Which KVM serves /dev/kvm: `pvm` (nested, page-table based), `vmx`
/// (Intel), `svm` (AMD), or `unknown`.
pub fn kvm_flavour() -> &'static str {
    let loaded = |m: &str| Path::new("/sys/module").join(m).exists();
    if loaded("kvm_pvm") {
        "pvm"
    } else if loaded("kvm_intel") {
        "vmx"
    } else if loaded("kvm_amd") {
        "svm"
    } else {
        "unknown"
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
