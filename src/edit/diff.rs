//! The unified diff shown before an edit is written, with every password masked. Line
//! endings and the BOM are left out of the display only; the file keeps them.

/// What a masked secret looks like in a diff.
pub const MASK: &str = "********";

/// A unified diff of `before` → `after` for `name`, every text in `secrets` masked.
pub fn unified(name: &str, before: &[u8], after: &[u8], secrets: &[String]) -> String {
    let a = mask(&display(before), secrets);
    let b = mask(&display(after), secrets);
    if a == b && before != after {
        // A password-only change: both sides are masked alike, so say so instead.
        return format!("--- {name}\n    only the password changes ({MASK}); it is not shown\n");
    }
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} (now)"), &format!("{name} (after apply)"))
        .to_string()
}

fn display(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.trim_start_matches('\u{feff}').replace("\r\n", "\n")
}

/// Replaces every secret (longest first, so a secret inside another is not left half).
pub fn mask(text: &str, secrets: &[String]) -> String {
    let mut list: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
    list.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in list {
        out = out.replace(s.as_str(), MASK);
    }
    out
}
