//! Read-only views of an open rollout for front ends and reports: step instances in
//! runbook order, their effective status, and progress per phase.

use super::Rollout;
use crate::error::{Error, Result};
use crate::runbook::{Applies, Phase, Step};
use crate::state::{Status, StepRecord};

/// One step as the operator works it: a step, or one repetition of it for one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// `step.id` or `step.id@host`.
    pub key: String,
    pub phase: usize,
    pub step: usize,
    pub host: Option<String>,
}

/// Counts for one phase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhaseProgress {
    pub total: usize,
    /// Closed: done, verified, skipped or n/a.
    pub closed: usize,
    pub failed: usize,
    pub in_progress: usize,
}

impl Rollout {
    /// Every step instance, in runbook order.
    pub fn instances(&self) -> Vec<Instance> {
        let mut out = Vec::new();
        for (pi, phase) in self.runbook.phases.iter().enumerate() {
            for (si, step) in phase.steps.iter().enumerate() {
                let hosts = step
                    .repeat
                    .as_ref()
                    .map(|v| self.value(v).map(|x| x.items()).unwrap_or_default());
                match hosts {
                    Some(hosts) if !hosts.is_empty() => {
                        out.extend(hosts.into_iter().map(|h| Instance {
                            key: format!("{}@{h}", step.id),
                            phase: pi,
                            step: si,
                            host: Some(h),
                        }));
                    }
                    _ => {
                        out.push(Instance {
                            key: step.id.clone(),
                            phase: pi,
                            step: si,
                            host: None,
                        });
                    }
                }
            }
        }
        out
    }

    /// Resolves what the operator typed (`id`, `id@host` or `id@shortname`) to one instance.
    pub fn find(&self, key: &str) -> Result<Instance> {
        let all = self.instances();
        if let Some(i) = all.iter().find(|i| i.key == key) {
            return Ok(i.clone());
        }
        let (id, host) = key.split_once('@').map_or((key, None), |(a, b)| (a, Some(b)));
        let matching: Vec<&Instance> = all
            .iter()
            .filter(|i| self.step_of(i).id == id)
            .filter(|i| match (host, &i.host) {
                (Some(h), Some(ih)) => {
                    ih.eq_ignore_ascii_case(h)
                        || ih.split('.').next().is_some_and(|s| s.eq_ignore_ascii_case(h))
                }
                (Some(_), None) => false,
                (None, _) => true,
            })
            .collect();
        match matching.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Error::UnknownStep(key.to_string())),
            many => Err(Error::Invalid(format!(
                "step `{id}` repeats per server; name one: {}",
                many.iter().map(|i| i.key.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// The runbook step behind an instance.
    pub fn step_of(&self, inst: &Instance) -> &Step {
        &self.runbook.phases[inst.phase].steps[inst.step]
    }

    /// The phase behind an instance.
    pub fn phase_of(&self, inst: &Instance) -> &Phase {
        &self.runbook.phases[inst.phase]
    }

    /// What is recorded for an instance (empty when nothing yet).
    pub fn record(&self, key: &str) -> StepRecord {
        self.state.steps.get(key).cloned().unwrap_or_default()
    }

    /// Whether the profile and values make a step apply.
    pub fn applies(&self, inst: &Instance) -> bool {
        let step = self.step_of(inst);
        if step.repeat.is_some() && inst.host.is_none() {
            return false;
        }
        match &step.applies {
            None => true,
            Some(Applies::Flag(f)) => self.state.policy.flag(f).unwrap_or(true),
            Some(Applies::NonEmpty(v)) => self.value(v).is_some_and(|x| !x.is_empty()),
        }
    }

    /// The status shown for an instance: what is recorded, or n/a when it does not apply.
    pub fn status(&self, inst: &Instance) -> Status {
        let recorded = self.state.steps.get(&inst.key).map_or(Status::Pending, |r| r.status);
        if recorded == Status::Pending && !self.applies(inst) {
            Status::NotApplicable
        } else {
            recorded
        }
    }

    /// Status by key (pending for unknown keys).
    pub(super) fn status_key(&self, key: &str) -> Status {
        self.find(key).map_or(Status::Pending, |i| self.status(&i))
    }

    /// Progress per phase, in runbook order.
    pub fn progress(&self) -> Vec<PhaseProgress> {
        let mut out = vec![PhaseProgress::default(); self.runbook.phases.len()];
        for inst in self.instances() {
            let p = &mut out[inst.phase];
            let s = self.status(&inst);
            p.total += 1;
            if s.is_closed() {
                p.closed += 1;
            }
            if s == Status::Failed {
                p.failed += 1;
            }
            if s == Status::InProgress {
                p.in_progress += 1;
            }
        }
        out
    }

    /// The first instance still open, for "continue where you are".
    pub fn next_open(&self) -> Option<Instance> {
        self.instances().into_iter().find(|i| !self.status(i).is_closed())
    }

    /// Where the wizard should open: the last step viewed, else the first open one.
    pub fn resume_point(&self) -> Option<Instance> {
        self.state
            .ui
            .last_step
            .as_deref()
            .and_then(|k| self.find(k).ok())
            .or_else(|| self.next_open())
            .or_else(|| self.instances().into_iter().next())
    }

    /// Record keys in the state that match no step of this runbook.
    pub fn orphan_records(&self) -> Vec<String> {
        let keys: std::collections::HashSet<String> =
            self.instances().into_iter().map(|i| i.key).collect();
        self.state.steps.keys().filter(|k| !keys.contains(*k)).cloned().collect()
    }
}
