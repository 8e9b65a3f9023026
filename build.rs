//! Embeds the shipped runbook (`screens/`) and profiles (`profiles/`) in the binary.
//!
//! Writes `embedded.rs` into `OUT_DIR`: a list of `(relative path, contents)` pairs built
//! with `include_str!`, so adding a screen or profile needs no code change.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let mut out =
        String::from("/// Embedded runbook files: (path relative to the crate root, contents).\n");
    out.push_str("pub static FILES: &[(&str, &str)] = &[\n");
    for folder in ["screens", "profiles"] {
        let dir = Path::new(&root).join(folder);
        println!("cargo:rerun-if-changed={}", dir.display());
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| Path::new(n).extension().is_some_and(|x| x.eq_ignore_ascii_case("toml")))
            .collect();
        names.sort();
        for name in names {
            let full = dir.join(&name);
            println!("cargo:rerun-if-changed={}", full.display());
            let _ = writeln!(
                out,
                "    ({:?}, include_str!({:?})),",
                format!("{folder}/{name}"),
                full.display().to_string()
            );
        }
    }
    out.push_str("];\n");
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
