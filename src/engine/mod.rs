//! The engine: a runbook plus a rollout's state, and every operation a front end can ask
//! for (attest, skip, reset, set, record checks), validated here and applied through one
//! [`Action`]. It holds no terminal code; the TUI, the plain wizard and the CLI all call
//! the same methods and render what [`Rollout`] reports.

mod values;
mod view;

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::runbook::{Runbook, Value};
use crate::state::action::{Action, Actor};
use crate::state::journal::{self, Entry};
use crate::state::lock::{Holder, Lock};
use crate::state::{Paths, SCHEMA, State, atomic};

pub use view::{Instance, PhaseProgress};

/// Whether this process may change the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// An open rollout.
#[derive(Debug)]
pub struct Rollout {
    pub runbook: Runbook,
    pub state: State,
    pub paths: Paths,
    lock: Option<Lock>,
    /// Messages a front end shows once (a stale lock taken over, a save finished).
    pub notices: Vec<String>,
    user: String,
    host: String,
}

/// The current time, UTC, RFC 3339 to the second.
pub fn now() -> String {
    let t = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// The logged-on user's name (from the OS account, not the environment, which a service
/// or a `su` session may not set).
pub fn current_user() -> String {
    whoami::fallible::username()
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            ["USER", "USERNAME"]
                .iter()
                .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// This computer's name.
pub fn current_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

impl Rollout {
    /// Opens an existing rollout.
    pub fn open(runbook: Runbook, path: &Path, access: Access) -> Result<Self> {
        let paths = Paths::new(path);
        let mut rollout = Self::bare(runbook, paths, State::default());
        if access == Access::Write {
            rollout.take_lock()?;
            let p = &rollout.paths;
            let stale: usize = [&p.state, &p.backup, &p.journal]
                .iter()
                .map(|f| atomic::remove_stale_temps(f))
                .sum();
            if stale > 0 {
                tracing::info!(
                    files = stale,
                    "removed temporary files of saves that were cut short"
                );
            }
        }
        rollout.state = State::load(&rollout.paths.state)?;
        // A cut-short last line is a change whose save never finished, so it may go; a
        // line the state says it reflects is evidence and is never removed.
        if access == Access::Write
            && journal::repair_tail(&rollout.paths.journal, rollout.state.journal_seq)?
        {
            rollout.notices.push(
                "cut an unfinished last line from the journal (that change was never saved)".into(),
            );
        }
        rollout.check_loaded_values()?;
        rollout.catch_up(access)?;
        Ok(rollout)
    }

    /// Creates a rollout from a profile, with `--set` values on top.
    pub fn create(
        runbook: Runbook,
        path: &Path,
        profile: &str,
        sets: &[(String, String)],
        force: bool,
    ) -> Result<Self> {
        let paths = Paths::new(path);
        let Some(prof) = runbook.profile(profile).cloned() else {
            let names: Vec<&str> = runbook.profiles.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::Invalid(format!(
                "unknown profile `{profile}`; choose one of: {}",
                names.join(", ")
            )));
        };
        let mut rollout = Self::bare(runbook, paths, State::default());
        rollout.take_lock()?;

        if rollout.paths.state.exists() && !force {
            return Err(Error::Exists(format!(
                "{} already holds a rollout\n  open it with `mfa-rollout`, or pass --force to replace it (the old file is kept as .bak)",
                rollout.paths.state.display()
            )));
        }
        if rollout.paths.journal.exists() {
            let stamp = now().replace(':', "");
            // Two forced inits in the same second must not overwrite the first set-aside journal.
            let aside = (0..1000)
                .map(|n| {
                    let suffix = if n == 0 { stamp.clone() } else { format!("{stamp}.{n}") };
                    rollout.paths.journal.with_extension(format!("jsonl.{suffix}"))
                })
                .find(|p| !p.exists())
                .unwrap_or_else(|| rollout.paths.journal.with_extension("jsonl.old"));
            std::fs::rename(&rollout.paths.journal, &aside)
                .map_err(|e| Error::io(&rollout.paths.journal, e))?;
            rollout.notices.push(format!("kept the previous journal as {}", aside.display()));
        }

        let mut values = prof.values.clone();
        for (k, v) in sets {
            let value = rollout.runbook.parse_value(k, v).map_err(Error::Invalid)?;
            values.insert(k.clone(), value);
        }
        values.retain(|_, v| !v.is_empty());
        rollout.state = State {
            schema: SCHEMA,
            rollout: new_id(),
            profile: prof.name.clone(),
            created: now(),
            policy: prof.policy.clone(),
            ..State::default()
        };
        rollout.check_values(&values)?;
        rollout.commit(Action::Init { profile: prof.name, policy: prof.policy, values })?;
        Ok(rollout)
    }

    fn bare(runbook: Runbook, paths: Paths, state: State) -> Self {
        Self {
            runbook,
            state,
            paths,
            lock: None,
            notices: Vec::new(),
            user: current_user(),
            host: current_host(),
        }
    }

    fn take_lock(&mut self) -> Result<()> {
        let me = Holder {
            user: self.user.clone(),
            host: self.host.clone(),
            pid: std::process::id(),
            since: now(),
        };
        let lock = Lock::acquire(&self.paths.state, &me)?;
        if let Some(dead) = &lock.took_over {
            self.notices.push(format!(
                "took over a lock left by {dead}: the operating system no longer holds it for them, so that session ended without closing"
            ));
        }
        self.lock = Some(lock);
        Ok(())
    }

    /// True when this process holds the writer lock.
    pub fn writable(&self) -> bool {
        self.lock.is_some()
    }

    /// Applies changes the journal holds but the state file does not (a save cut short).
    fn catch_up(&mut self, access: Access) -> Result<()> {
        let read = journal::read(&self.paths.journal)?;
        let log = match read {
            Ok(log) => log,
            Err(brk) if access == Access::Write => {
                return Err(Error::Invalid(format!(
                    "{}:{}: {}\n  the journal's chain is broken, so no change can be recorded; run `mfa-rollout verify` and restore the journal from a backup",
                    self.paths.journal.display(),
                    brk.line,
                    brk.reason
                )));
            }
            Err(brk) => {
                self.notices
                    .push(format!("the journal is damaged at line {}: {}", brk.line, brk.reason));
                return Ok(());
            }
        };
        let have = self.state.journal_seq;
        let total = log.entries.len() as u64;
        if total < have {
            let aside = self.set_aside_journals();
            let hint = match aside.last() {
                Some(last) => format!(
                    "\n  if an `init --force` was interrupted, its old journal is {}: rename it back to {}",
                    last.display(),
                    self.paths.journal.display()
                ),
                None => {
                    "\n  restore the journal from a backup before recording more changes".into()
                }
            };
            let msg = format!(
                "{} records {have} changes but the journal {} holds {total}{hint}",
                self.paths.state.display(),
                self.paths.journal.display()
            );
            return if access == Access::Write {
                Err(Error::Invalid(msg))
            } else {
                self.notices.push(msg);
                Ok(())
            };
        }
        let missing: Vec<&Entry> =
            log.entries.iter().skip(usize::try_from(have).unwrap_or(usize::MAX)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        for entry in &missing {
            self.state.apply_entry(entry);
        }
        self.state.journal_seq = total;
        if access == Access::Write {
            self.state.save(&self.paths)?;
            self.notices.push(format!(
                "finished an interrupted save: {} change(s) replayed from the journal",
                missing.len()
            ));
        }
        Ok(())
    }

    /// Journals set aside by `init --force`, oldest first.
    fn set_aside_journals(&self) -> Vec<std::path::PathBuf> {
        let name = self.paths.journal.file_name().map(|n| n.to_string_lossy().into_owned());
        let folder = match self.paths.journal.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let (Some(name), Ok(entries)) = (name, std::fs::read_dir(&folder)) else {
            return Vec::new();
        };
        let mut found: Vec<std::path::PathBuf> = entries
            .filter_map(std::result::Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("{name}.")))
            .map(|e| e.path())
            .collect();
        found.sort();
        found
    }

    /// Journals and applies one action, then saves. When this returns Ok the change is on disk.
    pub fn commit(&mut self, action: Action) -> Result<()> {
        self.commit_all(vec![action])
    }

    /// Journals and applies several actions with one journal write and one save (a sweep
    /// of checks records many steps at once). When this returns Ok they are all on disk.
    pub fn commit_all(&mut self, actions: Vec<Action>) -> Result<()> {
        if self.lock.is_none() {
            return Err(Error::Invalid("this rollout was opened read-only".into()));
        }
        if actions.is_empty() {
            return Ok(());
        }
        let log = journal::read(&self.paths.journal)?.map_err(|b| {
            Error::Invalid(format!("{}:{}: {}", self.paths.journal.display(), b.line, b.reason))
        })?;
        let at = now();
        let mut seq = log.entries.len() as u64;
        let mut head = log.head;
        let mut entries = Vec::with_capacity(actions.len());
        for action in actions {
            let actor = Actor { user: self.user.clone(), host: self.host.clone(), at: at.clone() };
            let step = action.step().map(str::to_string);
            let from = step.as_deref().map(|s| self.status_key(s));
            let to = from.and_then(|f| action.new_status(f));
            seq += 1;
            let entry = Entry { seq, actor, step, from, to, action, prev: head };
            head = journal::hash(&journal::line(&entry)?);
            entries.push(entry);
        }
        journal::append_all(&self.paths.journal, &entries)?;

        let mut next = self.state.clone();
        for entry in &entries {
            next.apply_entry(entry);
            tracing::info!(
                seq = entry.seq,
                step = entry.step.as_deref().unwrap_or("-"),
                from = ?entry.from,
                to = ?entry.to,
                "change recorded"
            );
        }
        next.journal_seq = seq;
        next.save(&self.paths)?;
        self.state = next;
        Ok(())
    }

    /// Saves where the operator is, without journaling (best effort).
    pub fn remember_position(&mut self, key: &str) {
        if self.lock.is_none() || self.state.ui.last_step.as_deref() == Some(key) {
            return;
        }
        self.state.ui.last_step = Some(key.to_string());
        self.state.ui.welcomed = true;
        if let Err(e) = self.state.save(&self.paths) {
            tracing::warn!("could not save the wizard position: {e}");
        }
    }

    /// Marks the start screen as seen.
    pub fn mark_welcomed(&mut self) {
        if self.lock.is_some() && !self.state.ui.welcomed {
            self.state.ui.welcomed = true;
            if let Err(e) = self.state.save(&self.paths) {
                tracing::warn!("could not save the wizard position: {e}");
            }
        }
    }

    /// Finds a step the operator can act on: a repeated step needs one of its servers.
    fn find_actionable(&self, key: &str) -> Result<crate::engine::Instance> {
        let inst = self.find(key)?;
        let step = self.step_of(&inst);
        if let (Some(list), None) = (&step.repeat, &inst.host) {
            return Err(Error::Invalid(format!(
                "step `{}` repeats for each server in `{list}`, which lists none\n  set it first: `mfa-rollout set {list}=SERVER[,SERVER...]`",
                step.id
            )));
        }
        Ok(inst)
    }

    /// The operator attests a step.
    pub fn attest(
        &mut self,
        key: &str,
        note: Option<String>,
        evidence: BTreeMap<String, String>,
    ) -> Result<()> {
        let inst = self.find_actionable(key)?;
        let step = &self.runbook.phases[inst.phase].steps[inst.step];
        for k in evidence.keys() {
            if !step.evidence.iter().any(|e| &e.key == k) {
                let keys: Vec<&str> = step.evidence.iter().map(|e| e.key.as_str()).collect();
                return Err(Error::Invalid(format!(
                    "step `{}` records no evidence `{k}`; its evidence keys are: {}",
                    inst.key,
                    if keys.is_empty() { "(none)".to_string() } else { keys.join(", ") }
                )));
            }
        }
        let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        self.commit(Action::Attest { step: inst.key, note, evidence })
    }

    /// The operator marks a step in progress.
    pub fn start(&mut self, key: &str) -> Result<()> {
        let inst = self.find_actionable(key)?;
        self.commit(Action::Start { step: inst.key })
    }

    /// The operator skips a step; a reason is required.
    pub fn skip(&mut self, key: &str, reason: &str) -> Result<()> {
        let inst = self.find_actionable(key)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::Invalid(
                "a skip needs a reason: --reason \"why this step is not needed\"".into(),
            ));
        }
        self.commit(Action::Skip { step: inst.key, reason: reason.to_string() })
    }

    /// A step goes back to pending.
    pub fn reset(&mut self, key: &str) -> Result<()> {
        let inst = self.find(key)?;
        self.commit(Action::Reset { step: inst.key })
    }

    /// Sets variables from `name=value` text.
    pub fn set(&mut self, pairs: &[(String, String)]) -> Result<()> {
        let mut values = BTreeMap::new();
        for (k, v) in pairs {
            let def = self.runbook.var(k).ok_or_else(|| {
                Error::Invalid(format!(
                    "`{k}` is not a variable of this runbook; list them with `mfa-rollout vars`"
                ))
            })?;
            let value = if v.trim().is_empty() && def.optional {
                if def.list { Value::List(Vec::new()) } else { Value::Str(String::new()) }
            } else {
                self.runbook.parse_value(k, v).map_err(Error::Invalid)?
            };
            values.insert(k.clone(), value);
        }
        let mut merged = self.state.values.clone();
        for (k, v) in &values {
            if v.is_empty() {
                merged.remove(k);
            } else {
                merged.insert(k.clone(), v.clone());
            }
        }
        self.check_values(&merged)?;
        self.commit(Action::Set { values })
    }

    /// Records the results of a sweep, step by step, in one save.
    pub fn record_check_batch(
        &mut self,
        batch: Vec<(String, Vec<crate::checks::CheckResult>)>,
    ) -> Result<()> {
        let mut actions = Vec::new();
        for (key, results) in batch {
            let inst = self.find(&key)?;
            if !results.is_empty() {
                actions.push(Action::Checked { step: inst.key, results });
            }
        }
        self.commit_all(actions)
    }

    /// Records check results for a step.
    pub fn record_checks(
        &mut self,
        key: &str,
        results: Vec<crate::checks::CheckResult>,
    ) -> Result<()> {
        let inst = self.find(key)?;
        if results.is_empty() {
            return Ok(());
        }
        self.commit(Action::Checked { step: inst.key, results })
    }
}

fn new_id() -> String {
    use sha2::Digest as _;
    let seed = format!("{}-{}-{:?}", now(), std::process::id(), std::time::Instant::now());
    let digest = sha2::Sha256::digest(seed.as_bytes());
    crate::hex::lower(&digest[..8])
}

#[cfg(test)]
mod tests;
