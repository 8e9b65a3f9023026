//! The detail of one step instance as plain data — title, status, why, notes,
//! instructions, values, commands, checks, evidence, review — rendered by the TUI (with
//! styles), the plain wizard and `mfa-rollout show` (as text) alike.

use std::fmt::Write as _;

use crate::checks::CheckResult;
use crate::engine::{Instance, Rollout};
use crate::runbook::Proof;
use crate::state::Status;

/// Everything shown about a step instance.
#[derive(Debug, Clone)]
pub struct Detail {
    pub key: String,
    pub title: String,
    pub phase: String,
    pub role: String,
    pub status: Status,
    pub why: String,
    pub notes: Vec<String>,
    pub instructions: String,
    /// (name, value or "not set", origin, description)
    pub values: Vec<(String, String, String, String)>,
    /// (title, code)
    pub commands: Vec<(String, String)>,
    /// (check name, last result if any)
    pub checks: Vec<(String, Option<CheckResult>)>,
    /// (key, label, recorded value)
    pub evidence: Vec<(String, String, Option<String>)>,
    /// (item, how it is proved)
    pub review: Vec<(String, String)>,
    /// who / where / when / note / reason, already worded
    pub record: Vec<String>,
}

impl Detail {
    /// Builds the detail of an instance.
    pub fn of(rollout: &Rollout, inst: &Instance) -> Self {
        let step = rollout.step_of(inst);
        let host = inst.host.as_deref();
        let rec = rollout.record(&inst.key);
        let status = rollout.status(inst);

        let values = step
            .inputs
            .iter()
            .map(|name| {
                let def = rollout.runbook.var(name);
                let value =
                    rollout.value(name).map_or_else(|| "not set".to_string(), |v| v.display());
                let desc = def.map(|d| d.description.clone()).unwrap_or_default();
                (name.clone(), value, rollout.value_origin(name).to_string(), desc)
            })
            .collect();
        let commands = step
            .commands
            .iter()
            .map(|c| (rollout.render(&c.title, host), rollout.render(&c.code, host)))
            .collect();
        let checks = rollout
            .plan_checks(inst)
            .into_iter()
            .map(|p| {
                let last = rec.checks.iter().find(|c| c.name == p.name).cloned();
                (p.name, last)
            })
            .collect();
        let evidence = step
            .evidence
            .iter()
            .map(|e| (e.key.clone(), e.label.clone(), rec.evidence.get(&e.key).cloned()))
            .collect();
        let review = step
            .review
            .iter()
            .map(|r| {
                let how = match &r.proof {
                    Proof::Check => "proved by the live check".to_string(),
                    Proof::Evidence(k) => format!("recorded as evidence `{k}`"),
                    Proof::Attest => "attested by the operator".to_string(),
                };
                (rollout.render(&r.item, host), how)
            })
            .collect();

        let mut record = Vec::new();
        if let Some(by) = &rec.by {
            let mut line = format!("{} by {by}", status.as_str());
            if let Some(h) = &rec.host {
                let _ = write!(line, " on {h}");
            }
            if let Some(at) = &rec.at {
                let _ = write!(line, " at {at}");
            }
            record.push(line);
        }
        if let Some(n) = &rec.note {
            record.push(format!("note: {n}"));
        }
        if let Some(r) = &rec.reason {
            record.push(format!("skipped because: {r}"));
        }
        if status == Status::NotApplicable {
            record.push("does not apply to this rollout's profile or values".into());
        }

        Self {
            key: inst.key.clone(),
            title: rollout.render(&step.title, host),
            phase: rollout.phase_of(inst).title.clone(),
            role: step.role.label().to_string(),
            status,
            why: rollout.render(&step.why, host),
            notes: step.notes.iter().map(|n| rollout.render(n, host)).collect(),
            instructions: rollout.render(&step.instructions, host),
            values,
            commands,
            checks,
            evidence,
            review,
            record,
        }
    }

    /// The detail as plain text (for `show` and the plain wizard).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} — {}", self.key, self.title);
        let _ = writeln!(
            out,
            "Phase: {}   Runs on: {}   Status: {}",
            self.phase, self.role, self.status
        );
        for line in &self.record {
            let _ = writeln!(out, "  {line}");
        }
        let _ = writeln!(out, "\nWhy: {}", self.why);
        for n in &self.notes {
            let (label, text) = split_note(n);
            let _ = writeln!(out, "{label}: {text}");
        }
        let _ = writeln!(out, "\n{}", plain_markdown(self.instructions.trim_end()));
        if !self.values.is_empty() {
            let _ = writeln!(out, "\nValues:");
            for (name, value, origin, _) in &self.values {
                let _ = writeln!(out, "  {name} = {value}  ({origin})");
            }
        }
        for (i, (title, code)) in self.commands.iter().enumerate() {
            let _ = writeln!(out, "\nPowerShell {}: {title}", i + 1);
            for line in code.trim_end().lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        if !self.checks.is_empty() {
            let _ = writeln!(out, "\nChecks:");
            for (name, last) in &self.checks {
                match last {
                    None => {
                        let _ = writeln!(out, "  {name}: not run yet");
                    }
                    Some(r) => {
                        let _ = writeln!(
                            out,
                            "  {name}: {} — {} ({})",
                            r.outcome.as_str(),
                            r.summary,
                            r.at
                        );
                        if !r.hint.is_empty() {
                            let _ = writeln!(out, "    hint: {}", r.hint);
                        }
                        for (k, v) in &r.evidence {
                            let _ = writeln!(out, "    {k}: {v}");
                        }
                    }
                }
            }
        }
        if !self.evidence.is_empty() {
            let _ = writeln!(out, "\nEvidence to record (attest --evidence KEY=VALUE):");
            for (key, label, value) in &self.evidence {
                let _ = writeln!(out, "  {key} ({label}): {}", value.as_deref().unwrap_or("—"));
            }
        }
        if !self.review.is_empty() {
            let _ = writeln!(out, "\nReview:");
            for (item, how) in &self.review {
                let _ = writeln!(out, "  - {item} [{how}]");
            }
        }
        out
    }
}

/// Splits a note into its label ("Correction", "Note", ...) and text; unlabelled notes
/// are labelled "Note".
pub fn split_note(note: &str) -> (&str, &str) {
    match note.split_once(": ") {
        Some((label, text))
            if !label.is_empty() && label.len() <= 12 && label.chars().all(char::is_alphabetic) =>
        {
            (label, text)
        }
        _ => ("Note", note),
    }
}

/// Markdown emphasis and code marks removed, for plain text and screen readers.
pub fn plain_markdown(text: &str) -> String {
    text.lines()
        .map(|line| {
            let body = line.replace("**", "").replace('`', "");
            let mut out = String::with_capacity(body.len());
            let chars: Vec<char> = body.chars().collect();
            for (i, c) in chars.iter().enumerate() {
                let prev = i.checked_sub(1).and_then(|j| chars.get(j)).copied().unwrap_or(' ');
                let next = chars.get(i + 1).copied().unwrap_or(' ');
                // A `*` touching a word is emphasis; a list bullet `* ` is kept.
                if *c == '*'
                    && (!prev.is_whitespace() || !next.is_whitespace())
                    && (i != 0 || next != ' ')
                {
                    continue;
                }
                out.push(*c);
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}
