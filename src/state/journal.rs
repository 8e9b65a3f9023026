//! The append-only journal beside the state: one JSON line per change, each carrying the
//! SHA-256 of the line before it, so any edit, removal or reordering breaks the chain and
//! `mfa-rollout verify` names the first line that does not fit.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Status;
use super::action::{Action, Actor};
use crate::error::{Error, Result};

/// The `prev` of the first line.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One journal line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    #[serde(flatten)]
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Status>,
    pub action: Action,
    /// SHA-256 (hex) of the previous line's bytes, or [`GENESIS`].
    pub prev: String,
}

/// The journal as read from disk.
#[derive(Debug, Default)]
pub struct Journal {
    pub entries: Vec<Entry>,
    /// SHA-256 of the last line (or [`GENESIS`] when empty).
    pub head: String,
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub line: usize,
    pub reason: String,
}

/// Hex SHA-256 of a line's bytes.
pub fn hash(line: &str) -> String {
    crate::hex::lower(&Sha256::digest(line.as_bytes()))
}

/// Reads and verifies the journal; a missing file is an empty journal.
pub fn read(path: &Path) -> Result<std::result::Result<Journal, Break>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(path, e)),
    };
    Ok(parse(&text))
}

/// Parses and verifies journal text.
pub fn parse(text: &str) -> std::result::Result<Journal, Break> {
    let mut journal = Journal { entries: Vec::new(), head: GENESIS.to_string() };
    let complete = text.ends_with('\n') || text.is_empty();
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let number = i + 1;
        if !complete && number == lines.len() {
            return Err(Break {
                line: number,
                reason: "the last line is cut short (a write was interrupted)".into(),
            });
        }
        let entry: Entry = serde_json::from_str(line)
            .map_err(|e| Break { line: number, reason: format!("not a journal entry: {e}") })?;
        if entry.prev != journal.head {
            // The chain cannot tell which of the two lines was edited: name both.
            let reason = if number == 1 {
                "its `prev` hash is not the start of a chain (this line was changed, or lines before it were removed)".into()
            } else {
                format!(
                    "its `prev` hash does not match line {} (line {} or this line was changed, or a line was removed or inserted between them)",
                    number - 1,
                    number - 1
                )
            };
            return Err(Break { line: number, reason });
        }
        if entry.seq != number as u64 {
            return Err(Break {
                line: number,
                reason: format!("its sequence number is {}, expected {number}", entry.seq),
            });
        }
        journal.head = hash(line);
        journal.entries.push(entry);
    }
    Ok(journal)
}

/// One entry as its journal line (without the newline).
pub fn line(entry: &Entry) -> Result<String> {
    serde_json::to_string(entry).map_err(|e| Error::Invalid(format!("journal entry: {e}")))
}

/// Appends entries in one write and flushes them to disk.
pub fn append_all(path: &Path, entries: &[Entry]) -> Result<()> {
    let mut text = String::new();
    for entry in entries {
        text.push_str(&line(entry)?);
        text.push('\n');
    }
    let mut file =
        OpenOptions::new().create(true).append(true).open(path).map_err(|e| Error::io(path, e))?;
    file.write_all(text.as_bytes()).map_err(|e| Error::io(path, e))?;
    file.sync_all().map_err(|e| Error::io(path, e))
}

/// Appends one entry and flushes it to disk; returns the new head hash.
pub fn append(path: &Path, entry: &Entry) -> Result<String> {
    append_all(path, std::slice::from_ref(entry))?;
    Ok(hash(&line(entry)?))
}

/// Cuts an interrupted, partial last line so appends continue the chain — but only when
/// that line lies beyond the `committed` lines the state file reflects.
pub fn repair_tail(path: &Path, committed: u64) -> Result<bool> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(false) };
    if text.is_empty() || text.ends_with('\n') {
        return Ok(false);
    }
    let complete = text.matches('\n').count() as u64;
    if complete < committed {
        return Ok(false);
    }
    let keep = text.rfind('\n').map_or(0, |i| i + 1);
    super::atomic::write(path, &text.as_bytes()[..keep])?;
    Ok(true)
}

/// Checks the journal holds every change the state file says it reflects; lines cut
/// from the end of a journal leave an intact chain, and only this comparison shows it.
pub fn check_against_state(journal: &Journal, state_seq: u64) -> std::result::Result<(), Break> {
    let held = journal.entries.len() as u64;
    if held < state_seq {
        return Err(Break {
            line: usize::try_from(held + 1).unwrap_or(usize::MAX),
            reason: format!(
                "the state file records {state_seq} change(s) but the journal ends after {held}: lines were removed from its end"
            ),
        });
    }
    Ok(())
}

/// The hash of line `n` (1-based) of a journal file, for matching an exported record.
pub fn hash_of_line(path: &Path, n: usize) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.split_terminator('\n')
        .nth(n.saturating_sub(1))
        .map(hash)
        .ok_or_else(|| Error::Invalid(format!("{}: has no line {n}", path.display())))
}
