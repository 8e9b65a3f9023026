//! Front ends. They render snapshots of the engine and send it operations; none of them
//! changes the state any other way.

pub mod detail;
pub mod plain;
pub mod tui;

/// The glyph shown for a status (ASCII-safe alternatives are in brackets in the help).
pub fn glyph(status: crate::state::Status) -> &'static str {
    use crate::state::Status;
    match status {
        Status::Pending => "○",
        Status::InProgress => "◐",
        Status::Done => "●",
        Status::Verified => "✔",
        Status::Failed => "✘",
        Status::Skipped => "↷",
        Status::NotApplicable => "–",
    }
}
