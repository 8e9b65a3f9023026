//! The rollout's state file (TOML, never a secret), its writer lock, its journal and its
//! schema version. Saves are atomic and keep the previous file as `.bak`; a file that
//! does not parse is never overwritten.
//!
//! This module knows the file formats; what a step *means* lives in the engine.

pub mod action;
pub mod atomic;
pub mod journal;
pub mod lock;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checks::CheckResult;
use crate::error::{Error, Result, line_of};
use crate::runbook::{Policy, Value};

/// The state file format version this build writes.
pub const SCHEMA: u32 = 1;

/// A step instance's status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    #[default]
    #[serde(rename = "pending")]
    Pending,
    #[serde(rename = "in-progress")]
    InProgress,
    #[serde(rename = "done")]
    Done,
    #[serde(rename = "verified")]
    Verified,
    #[serde(rename = "failed")]
    Failed,
    #[serde(rename = "skipped")]
    Skipped,
    #[serde(rename = "n/a")]
    NotApplicable,
}

impl Status {
    /// Every status, in display order.
    pub const ALL: [Self; 7] = [
        Self::Pending,
        Self::InProgress,
        Self::Done,
        Self::Verified,
        Self::Failed,
        Self::Skipped,
        Self::NotApplicable,
    ];

    /// The name used in files, JSON and on screen.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InProgress => "in-progress",
            Self::Done => "done",
            Self::Verified => "verified",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::NotApplicable => "n/a",
        }
    }

    /// True when nothing is left to do on the step.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Done | Self::Verified | Self::Skipped | Self::NotApplicable)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is recorded for one step instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    #[serde(default)]
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub evidence: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckResult>,
}

/// Where the operator was in the wizard (not journaled).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_step: Option<String>,
    #[serde(default)]
    pub welcomed: bool,
}

/// The whole state file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub schema: u32,
    /// A random id naming this rollout (journal, calendar UIDs).
    pub rollout: String,
    pub profile: String,
    pub created: String,
    /// How many journal lines this file reflects.
    #[serde(default)]
    pub journal_seq: u64,
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub values: BTreeMap<String, Value>,
    #[serde(default)]
    pub ui: UiState,
    #[serde(default)]
    pub steps: BTreeMap<String, StepRecord>,
}

/// The files that belong to one rollout.
#[derive(Debug, Clone)]
pub struct Paths {
    pub state: PathBuf,
    pub backup: PathBuf,
    pub journal: PathBuf,
    pub log: PathBuf,
}

impl Paths {
    /// Derives every sibling path from the state file's path.
    pub fn new(state: &Path) -> Self {
        let stem = state
            .file_stem()
            .map_or_else(|| "mfa-rollout".into(), |s| s.to_string_lossy().into_owned());
        Self {
            state: state.to_path_buf(),
            backup: lock::sibling(state, ".bak"),
            journal: state.with_file_name(format!("{stem}.journal.jsonl")),
            log: state.with_file_name(format!("{stem}.log")),
        }
    }
}

impl State {
    /// Reads and parses the state file; a missing file is [`Error::NoState`].
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NoState(path.to_path_buf()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(Error::StateCorrupt {
                    path: path.to_path_buf(),
                    line: 1,
                    message: "the file is not UTF-8 text".into(),
                });
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        Self::parse(path, &text)
    }

    /// Parses state text; errors name the line.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let corrupt = |line: usize, message: String| Error::StateCorrupt {
            path: path.to_path_buf(),
            line,
            message,
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            corrupt(e.span().map_or(1, |s| line_of(text, s.start)), e.message().to_string())
        })?;
        let schema = table.get("schema").and_then(toml::Value::as_integer);
        match schema {
            Some(v) if v == i64::from(SCHEMA) => {}
            Some(v) if v > i64::from(SCHEMA) => {
                return Err(corrupt(
                    line_of(text, text.find("schema").unwrap_or(0)),
                    format!(
                        "schema {v} was written by a newer mfa-rollout (this one reads schema {SCHEMA}); upgrade mfa-rollout"
                    ),
                ));
            }
            Some(v) => {
                return Err(corrupt(1, format!("schema {v} is not one this build can migrate")));
            }
            None => {
                return Err(corrupt(
                    1,
                    "no `schema = N` line; this is not an mfa-rollout state file".into(),
                ));
            }
        }
        toml::from_str(text).map_err(|e| {
            let message = if e.message().contains("untagged enum Value") {
                "a value must be text in quotes, or a list of texts like [\"a\", \"b\"]".to_string()
            } else {
                e.message().to_string()
            };
            corrupt(e.span().map_or(1, |s| line_of(text, s.start)), message)
        })
    }

    /// Serializes the state.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).unwrap_or_default();
        format!(
            "# mfa-rollout state. Written by the tool; edit by hand only with care (the journal records\n# every change the tool makes). Secrets are never stored here.\n{body}"
        )
    }

    /// Saves atomically, keeping the previous file as `.bak`.
    pub fn save(&self, paths: &Paths) -> Result<()> {
        atomic::backup(&paths.state, &paths.backup)?;
        atomic::write(&paths.state, self.to_toml().as_bytes())
    }
}
