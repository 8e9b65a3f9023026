//! Hex encoding of digests and serial numbers.

use std::fmt::Write as _;

/// Lower-case hex, as in journal hashes.
pub fn lower(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Upper-case hex, as Windows shows thumbprints and serial numbers.
pub fn upper(bytes: &[u8]) -> String {
    lower(bytes).to_ascii_uppercase()
}
