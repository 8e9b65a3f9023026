//! What a check reports: an outcome, a one-line summary, a remediation hint and
//! key/value evidence. Plain data, stored in the state file and exported as is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Pass,
    Warn,
    Skip,
    NotRun,
    Fail,
    Error,
}

impl Outcome {
    /// Lower-case name as used in files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Skip => "skip",
            Self::NotRun => "not-run",
            Self::Fail => "fail",
            Self::Error => "error",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check's name from the runbook, values filled in.
    pub name: String,
    pub kind: String,
    pub outcome: Outcome,
    /// One line: what was found (or, for skip/not-run/error, why not).
    pub summary: String,
    /// What to do, for anything short of pass.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hint: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub evidence: BTreeMap<String, String>,
    /// When it ran (UTC, RFC 3339).
    pub at: String,
    #[serde(default)]
    pub duration_ms: u64,
}
