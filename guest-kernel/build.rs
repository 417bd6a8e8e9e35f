// Link with our own script: higher-half addresses, physical load addresses,
// and the `.note.lde` section the VMM checks.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rustc-link-arg=-T{dir}/linker.ld");
    println!("cargo:rerun-if-changed=linker.ld");
}
