//! The run's output files (`--trace`, `--timeline`), checked before the VM
//! is built: each must be writable, and none may be one of the run's own
//! inputs (`--kernel`, a `--program` file) or the other output, under any
//! name: writing it would destroy what the run reads.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::Result;

use crate::error::bad_input;

/// Whether `a` and `b` are the same file (same device and inode), whatever
/// names, links or `.`/`..` lead to them. False if either does not exist.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Refuse output `out` (`what` names it) if it is one of `inputs`
/// (`(description, path)`) or cannot be opened for writing. Opening does
/// not truncate: an error later in the checks leaves an old file alone.
pub fn check_output(out: &Path, what: &str, inputs: &[(&str, &Path)]) -> Result<()> {
    for (input, path) in inputs {
        if same_file(out, path) {
            return Err(bad_input(format!(
                "{what} '{}' is the run's {input}; writing it would destroy it",
                out.display()
            )));
        }
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .map(|_| ())
        .map_err(|e| bad_input(format!("cannot write {what} '{}': {e}", out.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_file_under_another_name_is_found() {
        let dir = std::env::temp_dir().join(format!("lde-paths-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("k");
        std::fs::write(&file, b"kernel").unwrap();
        let link = dir.join("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let dotted = dir.join(".").join("k");
        for name in [&file, &link, &dotted] {
            let err = check_output(name, "trace file", &[("kernel", &file)]).unwrap_err();
            assert_eq!(crate::error::exit_status(&err), 2);
            assert!(err.to_string().contains("is the run's kernel"), "{err}");
        }
        assert_eq!(std::fs::read(&file).unwrap(), b"kernel");
        assert!(check_output(&dir.join("other"), "trace file", &[("kernel", &file)]).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
