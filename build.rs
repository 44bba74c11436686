//! Rebuilds scimd when a migration or a console file is added: `sqlx::migrate!` and rust-embed
//! read those folders at compile time, and cargo would otherwise notice only edits of files it
//! already knew.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=console");
}
