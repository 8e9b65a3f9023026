//! The one way the state changes: an [`Action`] applied by [`State::apply`]. Each applied
//! action is also one journal line, so the journal can replay what a crash interrupted.
//!
//! Actions are validated by the engine before they get here; `apply` itself cannot fail.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{State, Status, StepRecord};
use crate::checks::{CheckResult, Outcome};
use crate::runbook::{Policy, Value};

/// A change to the rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Action {
    /// The rollout was created from a profile.
    Init { profile: String, policy: Policy, values: BTreeMap<String, Value> },
    /// Variables set (an empty string clears one).
    Set { values: BTreeMap<String, Value> },
    /// The operator attests a step is done.
    Attest {
        step: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        evidence: BTreeMap<String, String>,
    },
    /// The operator starts working on a step.
    Start { step: String },
    /// The operator skips a step, with a reason.
    Skip { step: String, reason: String },
    /// A step goes back to pending; its evidence and check results are kept.
    Reset { step: String },
    /// Check results for a step (and what they make of its status).
    Checked { step: String, results: Vec<CheckResult> },
}

/// Who did it, where and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: String,
    pub host: String,
    pub at: String,
}

impl Action {
    /// The step instance the action concerns, if any.
    pub fn step(&self) -> Option<&str> {
        match self {
            Self::Attest { step, .. }
            | Self::Start { step }
            | Self::Skip { step, .. }
            | Self::Reset { step }
            | Self::Checked { step, .. } => Some(step),
            Self::Init { .. } | Self::Set { .. } => None,
        }
    }

    /// The status a step would get from this action, given its current one.
    pub fn new_status(&self, current: Status) -> Option<Status> {
        match self {
            Self::Attest { .. } => Some(Status::Done),
            Self::Start { .. } => Some(Status::InProgress),
            Self::Skip { .. } => Some(Status::Skipped),
            Self::Reset { .. } => Some(Status::Pending),
            Self::Checked { results, .. } => {
                if matches!(current, Status::Skipped | Status::NotApplicable) {
                    return Some(current);
                }
                if results.is_empty() {
                    return None;
                }
                let has = |o: Outcome| results.iter().any(|r| r.outcome == o);
                // A failure is decisive; a check that could not tell leaves the step as it
                // was; otherwise one pass or warn verifies it (skip and not-run, such as a
                // Windows probe run elsewhere, neither help nor hurt).
                Some(if has(Outcome::Fail) {
                    Status::Failed
                } else if has(Outcome::Error) {
                    current
                } else if has(Outcome::Pass) || has(Outcome::Warn) {
                    Status::Verified
                } else {
                    current
                })
            }
            Self::Init { .. } | Self::Set { .. } => None,
        }
    }
}

impl State {
    /// Applies one action; `actor` is recorded on the step it touches.
    pub fn apply(&mut self, action: &Action, actor: &Actor) {
        match action {
            Action::Init { profile, policy, values } => {
                self.profile.clone_from(profile);
                self.policy = policy.clone();
                self.values.clone_from(values);
            }
            Action::Set { values } => {
                for (k, v) in values {
                    if v.is_empty() {
                        self.values.remove(k);
                    } else {
                        self.values.insert(k.clone(), v.clone());
                    }
                }
            }
            Action::Attest { step, note, evidence } => {
                let rec = self.record_mut(step);
                rec.status = Status::Done;
                rec.note.clone_from(note);
                rec.reason = None;
                rec.evidence.extend(evidence.iter().map(|(k, v)| (k.clone(), v.clone())));
                stamp(rec, actor);
            }
            Action::Start { step } => {
                let rec = self.record_mut(step);
                rec.status = Status::InProgress;
                stamp(rec, actor);
            }
            Action::Skip { step, reason } => {
                let rec = self.record_mut(step);
                rec.status = Status::Skipped;
                rec.reason = Some(reason.clone());
                stamp(rec, actor);
            }
            Action::Reset { step } => {
                let rec = self.record_mut(step);
                rec.status = Status::Pending;
                rec.reason = None;
                rec.note = None;
                stamp(rec, actor);
            }
            Action::Checked { step, results } => {
                let current = self.steps.get(step).map_or(Status::Pending, |r| r.status);
                let next = action.new_status(current).unwrap_or(current);
                let rec = self.record_mut(step);
                for r in results {
                    rec.checks.retain(|old| old.name != r.name);
                    rec.checks.push(r.clone());
                }
                if next != current {
                    rec.status = next;
                    stamp(rec, actor);
                }
            }
        }
    }

    /// Applies one journal line. The line's `from` is the status the operator saw; a step
    /// that did not apply (n/a, recorded as pending) keeps it when checks are recorded, as
    /// the line's `to` says, so the state and the journal never disagree.
    pub fn apply_entry(&mut self, entry: &super::journal::Entry) {
        if let (Action::Checked { step, results }, Some(Status::NotApplicable)) =
            (&entry.action, entry.from)
        {
            let rec = self.record_mut(step);
            for r in results {
                rec.checks.retain(|old| old.name != r.name);
                rec.checks.push(r.clone());
            }
            return;
        }
        self.apply(&entry.action, &entry.actor);
    }

    fn record_mut(&mut self, step: &str) -> &mut StepRecord {
        self.steps.entry(step.to_string()).or_default()
    }
}

fn stamp(rec: &mut StepRecord, actor: &Actor) {
    rec.by = Some(actor.user.clone());
    rec.host = Some(actor.host.clone());
    rec.at = Some(actor.at.clone());
}
