//! Rebuilds the data layer when a migration changes: `embed_migrations!` reads the files while
//! compiling, and cargo would not otherwise know they are inputs.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
