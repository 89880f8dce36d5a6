//! Link options for the `hearth` binary.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    // Relative relocations packed (DT_RELR, glibc 2.36+; the linker leaves them unpacked on an
    // older glibc): the loader then reads a few kilobytes at start instead of a 1.2 MB table,
    // which otherwise stays resident for the life of the process. The binary stays
    // position-independent (address-space randomisation is kept).
    if target.ends_with("-linux-gnu") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
