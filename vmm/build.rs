//! Builds the guest kernel and the user programs for `x86_64-unknown-none`
//! and embeds them in the `lde` binary, so that a plain `cargo run` or
//! `cargo test` needs no other step.
//!
//! The guest builds run a nested cargo with its own target directory under
//! OUT_DIR (sharing the outer one would deadlock on its lock) and without the
//! host build's RUSTFLAGS (they are for the host, not the guest).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const GUEST_TARGET: &str = "x86_64-unknown-none";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let target_dir = out_dir.join("guest-target");

    for dir in ["abi/src", "abi/Cargo.toml", "guest-kernel", "guest-user"] {
        let path = root.join(dir);
        // Watch sources, not the guest crates' own target folders.
        if path.join("src").is_dir() {
            println!("cargo:rerun-if-changed={}", path.join("src").display());
            for f in [
                "Cargo.toml",
                "Cargo.lock",
                "build.rs",
                "linker.ld",
                "user.ld",
            ] {
                if path.join(f).exists() {
                    println!("cargo:rerun-if-changed={}", path.join(f).display());
                }
            }
            println!(
                "cargo:rerun-if-changed={}",
                path.join(".cargo/config.toml").display()
            );
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }

    ensure_guest_target();

    let kernel = build_guest(&root.join("guest-kernel"), &target_dir, &["--bins"]);
    let kernel_elf = kernel.join("lde-kernel");

    let user = build_guest(&root.join("guest-user"), &target_dir, &["--bins"]);
    let mut programs = Vec::new();
    let bin_dir = root.join("guest-user/src/bin");
    let mut entries: Vec<_> = fs::read_dir(&bin_dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", bin_dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    entries.sort();
    for src in entries {
        let name = src.file_stem().unwrap().to_string_lossy().into_owned();
        let about = first_doc_line(&src);
        programs.push((name.clone(), about, user.join(&name)));
    }

    let mut code = String::new();
    writeln!(
        code,
        "/// The default guest kernel, built from guest-kernel/.\n\
         pub static KERNEL: &[u8] = include_bytes!({:?});",
        kernel_elf.display().to_string()
    )
    .unwrap();
    writeln!(
        code,
        "/// The user programs built from guest-user/src/bin: (name, what it does, ELF).\n\
         pub static PROGRAMS: &[(&str, &str, &[u8])] = &["
    )
    .unwrap();
    for (name, about, path) in &programs {
        writeln!(
            code,
            "    ({name:?}, {about:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    writeln!(code, "];").unwrap();
    fs::write(out_dir.join("embedded.rs"), code).unwrap();
}

/// The `//!` first line of a program's source: its one-line description.
fn first_doc_line(src: &Path) -> String {
    let text = fs::read_to_string(src).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("//!"))
        .map(|l| l.trim().to_string())
        .unwrap_or_default()
}

/// Install the guest target with rustup when it is missing, or stop with the
/// command that fixes it.
fn ensure_guest_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let installed = sysroot
        .as_ref()
        .map(|s| Path::new(s).join("lib/rustlib").join(GUEST_TARGET).is_dir())
        .unwrap_or(false);
    if installed {
        return;
    }
    println!("cargo:warning=installing the guest target: rustup target add {GUEST_TARGET}");
    let ok = Command::new("rustup")
        .args(["target", "add", GUEST_TARGET])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        panic!(
            "the guest kernel needs the {GUEST_TARGET} target and it could not be installed; \
             run: rustup target add {GUEST_TARGET}"
        );
    }
}

/// Build one guest crate in release mode; returns its output folder.
fn build_guest(dir: &Path, target_dir: &Path, extra: &[&str]) -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(dir)
        .args(["build", "--release", "--target", GUEST_TARGET])
        .args(extra)
        .arg("--target-dir")
        .arg(target_dir);
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_LLVM_COV",
        "LLVM_PROFILE_FILE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("running cargo for {}: {e}", dir.display()));
    if !status.success() {
        panic!("building the guest crate {} failed", dir.display());
    }
    target_dir.join(GUEST_TARGET).join("release")
}
