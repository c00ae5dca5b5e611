//! Embeds the NL Design System CSS that `scripts/fetch-data.sh` fetched from the npm
//! registry; without it the dashboard still works, with our own styles only.

use std::path::Path;

const VENDOR_FILES: &[&str] = &["utrecht-components.css"];

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let vendor = Path::new(&manifest).join("vendor");
    println!("cargo:rerun-if-changed={}", vendor.display());
    for name in VENDOR_FILES {
        let source = vendor.join(name);
        println!("cargo:rerun-if-changed={}", source.display());
        let text = std::fs::read_to_string(&source).unwrap_or_else(|_| {
            println!(
                "cargo:warning={} is missing: run scripts/fetch-data.sh for the NL Design System styles",
                source.display()
            );
            String::new()
        });
        std::fs::write(Path::new(&out).join(name), text).expect("OUT_DIR is writable");
    }
}
