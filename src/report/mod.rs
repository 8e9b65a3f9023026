//! The completed-checklist record: one [`Record`] built from a rollout, written as
//! Markdown, HTML, JSON (stable, versioned), `JUnit` or iCalendar renewal reminders. Built
//! from the state only, so secrets are never in it. Every format carries the journal's
//! final hash as `journal entries=N head=HEX`, which `verify --record` matches.

mod html;
mod ics;
mod junit;
mod markdown;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::checks::CheckResult;
use crate::engine::{Rollout, now};
use crate::runbook::Value;
use crate::state::journal;

pub use ics::{Certificate, certificates};
pub use markdown::to_markdown;

/// Version of the JSON record's layout; bumped on any incompatible change.
pub const RECORD_SCHEMA: u32 = 1;

/// Export formats this build writes.
pub const FORMATS: &[&str] = &["md", "html", "json", "junit", "ics"];

/// The file extension of a format.
pub fn extension(format: &str) -> &'static str {
    match format {
        "html" => "html",
        "json" => "json",
        "junit" => "xml",
        "ics" => "ics",
        _ => "md",
    }
}

/// The record.
#[derive(Debug, Serialize)]
pub struct Record {
    pub record_schema: u32,
    pub tool: String,
    pub exported_at: String,
    pub rollout: String,
    pub profile: String,
    pub created: String,
    pub state_file: String,
    pub domain: String,
    /// Servers by role, as the rollout's values name them.
    pub servers: Vec<(String, Vec<String>)>,
    /// Everyone who recorded a change, with where.
    pub operators: Vec<String>,
    pub renewal_lead_days: i64,
    pub values: BTreeMap<String, Value>,
    pub totals: Totals,
    pub phases: Vec<PhaseRecord>,
    pub journal: JournalRecord,
}

/// Counts over every step instance.
#[derive(Debug, Serialize, Default)]
pub struct Totals {
    pub steps: usize,
    pub closed: usize,
    pub open: usize,
    pub by_status: BTreeMap<String, usize>,
}

/// One phase.
#[derive(Debug, Serialize)]
pub struct PhaseRecord {
    pub id: String,
    pub title: String,
    pub role: String,
    pub total: usize,
    pub closed: usize,
    pub steps: Vec<StepRecord>,
}

/// One step instance.
#[derive(Debug, Serialize)]
pub struct StepRecord {
    pub key: String,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    pub title: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub evidence: BTreeMap<String, String>,
    pub checks: Vec<CheckResult>,
}

/// The journal's extent and final hash, so the record can be matched to it.
#[derive(Debug, Serialize)]
pub struct JournalRecord {
    pub entries: usize,
    pub head: String,
    pub intact: bool,
    /// `journal entries=N head=HEX`, the line `verify --record` looks for.
    pub marker: String,
}

/// The marker every format carries.
pub fn marker(entries: usize, head: &str) -> String {
    format!("journal entries={entries} head={head}")
}

/// Finds the marker in an exported record: (entries, head).
pub fn find_marker(text: &str) -> Option<(usize, String)> {
    // iCalendar folds long lines ("\r\n" + one space); unfold before looking.
    let text = text.replace("\r\n ", "").replace("\n ", "");
    let at = text.find("journal entries=")?;
    let rest = &text[at + "journal entries=".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let rest = rest[digits.len()..].strip_prefix(" head=")?;
    let head: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    (head.len() == 64).then_some(())?;
    Some((digits.parse().ok()?, head))
}

/// Builds the record of a rollout.
pub fn build(rollout: &Rollout) -> Record {
    let progress = rollout.progress();
    let mut phases: Vec<PhaseRecord> = rollout
        .runbook
        .phases
        .iter()
        .zip(&progress)
        .map(|(p, pr)| PhaseRecord {
            id: p.id.clone(),
            title: p.title.clone(),
            role: p.role.label().to_string(),
            total: pr.total,
            closed: pr.closed,
            steps: Vec::new(),
        })
        .collect();
    let mut totals = Totals::default();
    for inst in rollout.instances() {
        let rec = rollout.record(&inst.key);
        let status = rollout.status(&inst);
        totals.steps += 1;
        if status.is_closed() {
            totals.closed += 1;
        }
        *totals.by_status.entry(status.as_str().to_string()).or_default() += 1;
        phases[inst.phase].steps.push(StepRecord {
            key: inst.key.clone(),
            id: rollout.step_of(&inst).id.clone(),
            server: inst.host.clone(),
            title: rollout.render(&rollout.step_of(&inst).title, inst.host.as_deref()),
            status: status.as_str().to_string(),
            by: rec.by,
            on_host: rec.host,
            at: rec.at,
            note: rec.note,
            reason: rec.reason,
            evidence: rec.evidence,
            checks: rec.checks,
        });
    }
    totals.open = totals.steps - totals.closed;
    let journal = match journal::read(&rollout.paths.journal) {
        Ok(Ok(j)) if rollout.paths.journal.exists() => {
            let intact = journal::check_against_state(&j, rollout.state.journal_seq).is_ok();
            let marker = marker(j.entries.len(), &j.head);
            JournalRecord { entries: j.entries.len(), head: j.head, intact, marker }
        }
        _ => {
            JournalRecord { entries: 0, head: String::new(), intact: false, marker: String::new() }
        }
    };
    let get = |name: &str| rollout.value(name).map(|v| v.items()).unwrap_or_default();
    let servers: Vec<(String, Vec<String>)> = [
        ("Primary MFA server", get("mfa_fqdn")),
        ("Secondary MFA servers", get("mfa_secondaries")),
        ("User Portal server", get("portal_host_fqdn")),
        ("User Portal name", get("portal_fqdn")),
        ("AD FS servers", get("adfs_servers")),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut operators: Vec<String> = rollout
        .state
        .steps
        .values()
        .filter_map(|r| {
            r.by.as_ref().map(|by| format!("{by}@{}", r.host.as_deref().unwrap_or("?")))
        })
        .collect();
    operators.sort();
    operators.dedup();
    let values = rollout
        .runbook
        .variables
        .iter()
        .filter_map(|v| rollout.value(&v.name).map(|x| (v.name.clone(), x)))
        .collect();
    Record {
        record_schema: RECORD_SCHEMA,
        tool: format!("mfa-rollout {}", env!("CARGO_PKG_VERSION")),
        exported_at: now(),
        rollout: rollout.state.rollout.clone(),
        profile: rollout.state.profile.clone(),
        created: rollout.state.created.clone(),
        state_file: rollout.paths.state.display().to_string(),
        domain: rollout.value("domain").map(|v| v.display()).unwrap_or_default(),
        servers,
        operators,
        renewal_lead_days: rollout.renewal_lead_days(),
        values,
        totals,
        phases,
        journal,
    }
}

/// Renders the record in a format (one of [`FORMATS`]).
pub fn render(record: &Record, format: &str) -> Option<String> {
    match format {
        "json" => serde_json::to_string_pretty(record).ok().map(|s| s + "\n"),
        "md" => Some(to_markdown(record)),
        "html" => Some(html::to_html(record)),
        "junit" => Some(junit::to_junit(record)),
        "ics" => Some(ics::to_ics(record)),
        _ => None,
    }
}

/// Steps with open items first, then the rest, in runbook order (for md and html).
pub fn open_first(record: &Record) -> Vec<&StepRecord> {
    let all: Vec<&StepRecord> = record.phases.iter().flat_map(|p| &p.steps).collect();
    let (open, closed): (Vec<&StepRecord>, Vec<&StepRecord>) =
        all.into_iter().partition(|s| !is_closed(&s.status));
    open.into_iter().chain(closed).collect()
}

/// True for statuses with nothing left to do.
pub fn is_closed(status: &str) -> bool {
    matches!(status, "done" | "verified" | "skipped" | "n/a")
}

/// Writes an export to `path`, refusing to overwrite an existing file without `force`
/// and refusing, always, the rollout's own files (state, backup, journal, lock, log).
pub fn write_file(
    rollout: &Rollout,
    path: &std::path::Path,
    text: &str,
    force: bool,
) -> crate::Result<()> {
    let p = &rollout.paths;
    let own = [
        p.state.clone(),
        p.backup.clone(),
        p.journal.clone(),
        p.log.clone(),
        crate::state::lock::sibling(&p.state, ".lock"),
        crate::state::lock::sibling(&p.state, ".lock.who"),
    ];
    if own.iter().any(|o| same_file(o, path)) {
        return Err(crate::Error::Invalid(format!(
            "{} is one of this rollout's own files; export to another name, like mfa-rollout-record.md",
            path.display()
        )));
    }
    if path.exists() && !force {
        return Err(crate::Error::Exists(format!(
            "{} exists; pass --force to overwrite it",
            path.display()
        )));
    }
    crate::state::atomic::write(path, text.as_bytes())
}

/// Whether two paths name the same file. Windows (like macOS by default) names files
/// without regard to case and also knows them by 8.3 short names, so `MFA-ROLLOUT.TOML`
/// is the state file there: an existing file is compared by its canonical path, and on
/// Windows names are also compared ignoring case.
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    let (ra, rb) = (resolved(a), resolved(b));
    if ra == rb {
        return true;
    }
    if let (Ok(ca), Ok(cb)) = (std::fs::canonicalize(a), std::fs::canonicalize(b))
        && ca == cb
    {
        return true;
    }
    cfg!(windows) && ra.to_string_lossy().to_lowercase() == rb.to_string_lossy().to_lowercase()
}

/// An absolute form of a path that may not exist yet (its folder resolved).
fn resolved(path: &std::path::Path) -> std::path::PathBuf {
    let name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::canonicalize(&parent).unwrap_or(parent).join(name)
}
