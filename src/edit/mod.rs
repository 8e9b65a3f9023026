//! Format-preserving edits of the files the runbook changes by hand: the User Portal's
//! web.config, the AD FS adapter's config and the adapter's Register script.
//!
//! Each edit is a list of splices: only the bytes of the values that change are replaced
//! (found through roxmltree's byte ranges), so the BOM, line endings, comments, attribute
//! order and quoting, indentation and trailing whitespace stay byte for byte. A value that
//! already holds what it should is left alone, so applying twice changes nothing.
//!
//! The same readers back the `file` check ([`inspect`]). Nothing here prints, asks or
//! writes except [`write_with_backup`]; the password never appears in an error or finding.

pub mod adapter;
pub mod diff;
pub mod script;
pub mod step;
pub mod webconfig;

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Which file an edit or a `file` check concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The User Portal's web.config.
    WebConfig,
    /// `MultiFactorAuthenticationAdfsAdapter.config`.
    Adapter,
    /// `Register-MultiFactorAuthenticationAdfsAdapter.ps1`.
    Script,
}

impl Target {
    /// The target a runbook step edits, if any.
    pub fn of_step(step: &str) -> Option<Self> {
        match step.split('@').next().unwrap_or(step) {
            "portal.web-config" => Some(Self::WebConfig),
            "adfs.adapter-config" => Some(Self::Adapter),
            "adfs.register-script" => Some(Self::Script),
            _ => None,
        }
    }

    /// The name used in the `file` check's `format` parameter.
    pub fn from_format(name: &str) -> Option<Self> {
        match name {
            "web-config" => Some(Self::WebConfig),
            "adapter-config" => Some(Self::Adapter),
            "register-script" => Some(Self::Script),
            _ => None,
        }
    }

    /// The variable naming the file on the server.
    pub fn variable(self) -> &'static str {
        match self {
            Self::WebConfig => "portal_web_config",
            Self::Adapter => "adfs_adapter_config",
            Self::Script => "adfs_register_script",
        }
    }

    /// Whether the edit needs the SDK password.
    pub fn needs_password(self) -> bool {
        !matches!(self, Self::Script)
    }
}

/// What the file should hold, from the rollout's variables and the SDK password.
#[derive(Clone, Default)]
pub struct Wanted {
    /// DOMAIN\user of the SDK account.
    pub account: String,
    /// The Web Service SDK URL.
    pub url: String,
    /// The SDK account's password (never printed).
    pub password: Option<String>,
    /// Optional client certificate thumbprint for the adapter.
    pub thumbprint: Option<String>,
    /// Full path of the adapter config (for the Register script).
    pub config_path: String,
}

impl std::fmt::Debug for Wanted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wanted")
            .field("account", &self.account)
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "********"))
            .field("thumbprint", &self.thumbprint)
            .field("config_path", &self.config_path)
            .finish()
    }
}

/// Why a file cannot be read or edited; `line` is 1-based, 0 when it does not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError {
    pub line: usize,
    pub message: String,
}

impl EditError {
    pub(crate) fn at(line: usize, message: impl Into<String>) -> Self {
        Self { line, message: message.into() }
    }

    /// The message with the file and line, as the operator sees it.
    pub fn describe(&self, path: &Path) -> String {
        if self.line == 0 {
            format!("{}: {}", path.display(), self.message)
        } else {
            format!("{}:{}: {}", path.display(), self.line, self.message)
        }
    }
}

/// The state of one value in a file, as the `file` check reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Holds what it should.
    Set { name: String, value: String },
    /// Holds something else; for the password `found` and `expected` are not shown.
    Wrong { name: String, expected: String, found: String, secret: bool },
    /// The value (or its key) is absent or empty.
    Missing { name: String },
    /// The password is present but could not be compared (no secret available).
    Unchecked { name: String },
    /// A problem with the value itself (an SDK URL on an IP, over http, ...).
    Problem { name: String, reason: String },
}

impl Finding {
    /// True for findings that make the check fail.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Wrong { .. } | Self::Missing { .. } | Self::Problem { .. })
    }

    /// One line for the operator (never a password).
    pub fn line(&self) -> String {
        match self {
            Self::Set { name, value } => format!("{name}: set ({value})"),
            Self::Wrong { name, secret: true, .. } => {
                format!("{name}: wrong (does not match the stored password)")
            }
            Self::Wrong { name, expected, found, .. } => {
                format!("{name}: wrong (expected `{expected}`, found `{found}`)")
            }
            Self::Missing { name } => format!("{name}: missing"),
            Self::Unchecked { name } => {
                format!("{name}: set (not compared: no stored password)")
            }
            Self::Problem { name, reason } => format!("{name}: {reason}"),
        }
    }
}

/// A planned edit: the file before and after, and a readable list of what changes.
#[derive(Clone, PartialEq, Eq)]
pub struct Plan {
    pub path: PathBuf,
    pub before: Vec<u8>,
    pub after: Vec<u8>,
    /// Names of the values that change.
    pub changed: Vec<String>,
    /// Text to mask wherever the file is shown (passwords, old and new, in every form).
    pub secrets: Vec<String>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bytes hold the password: show only what the operator may see.
        f.debug_struct("Plan")
            .field("path", &self.path)
            .field("changed", &self.changed)
            .finish_non_exhaustive()
    }
}

impl Plan {
    /// The unified diff of the edit, passwords masked.
    pub fn diff(&self) -> String {
        diff::unified(&self.path.display().to_string(), &self.before, &self.after, &self.secrets)
    }

    /// True when the file already holds every value.
    pub fn is_noop(&self) -> bool {
        self.before == self.after
    }
}

/// Computes the edit of `bytes` for `target`.
pub fn compute(target: Target, bytes: &[u8], wanted: &Wanted) -> Result<Edited, EditError> {
    match target {
        Target::WebConfig => webconfig::edit(bytes, wanted),
        Target::Adapter => adapter::edit(bytes, wanted),
        Target::Script => script::edit(bytes, wanted),
    }
}

/// Reads the values of `bytes` for `target` and judges them against `wanted`.
pub fn inspect(target: Target, bytes: &[u8], wanted: &Wanted) -> Result<Vec<Finding>, EditError> {
    match target {
        Target::WebConfig => webconfig::inspect(bytes, wanted),
        Target::Adapter => adapter::inspect(bytes, wanted),
        Target::Script => script::inspect(bytes, wanted),
    }
}

/// The result of [`compute`]: the new bytes and the names of the values that changed.
#[derive(Debug, Clone)]
pub struct Edited {
    pub bytes: Vec<u8>,
    pub changed: Vec<String>,
    /// Text to mask wherever the file is shown.
    pub secrets: Vec<String>,
}

/// Reads the file and plans the edit; a file that cannot be parsed names its line.
pub fn plan(target: Target, path: &Path, wanted: &Wanted) -> Result<Plan> {
    let before = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let edited = compute(target, &before, wanted)
        .map_err(|e| Error::Invalid(format!("{}\n  nothing was written", e.describe(path))))?;
    Ok(Plan {
        path: path.to_path_buf(),
        before,
        after: edited.bytes,
        changed: edited.changed,
        secrets: edited.secrets,
    })
}

/// Backs the file up beside itself (`NAME.YYYYMMDDHHMMSS.bak`) and writes the new bytes
/// atomically. Refuses when the file changed since it was planned. Returns the backup.
pub fn write_with_backup(plan: &Plan) -> Result<PathBuf> {
    let now = std::fs::read(&plan.path).map_err(|e| Error::io(&plan.path, e))?;
    if now != plan.before {
        return Err(Error::Invalid(format!(
            "{} changed while the edit was being confirmed; nothing was written\n  run apply again",
            plan.path.display()
        )));
    }
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!("[year][month][day][hour][minute][second]"))
        .unwrap_or_default();
    let name = plan.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut backup = plan.path.with_file_name(format!("{name}.{stamp}.bak"));
    let mut n = 1;
    while backup.exists() {
        backup = plan.path.with_file_name(format!("{name}.{stamp}-{n}.bak"));
        n += 1;
    }
    crate::state::atomic::write(&backup, &plan.before)?;
    crate::state::atomic::write(&plan.path, &plan.after)?;
    tracing::info!(file = %plan.path.display(), backup = %backup.display(), changed = ?plan.changed, "file edited");
    Ok(backup)
}

// ---------------------------------------------------------------------------------------
// Shared helpers for the readers and editors.

/// A file's text with its UTF-8 BOM split off (offsets in the text are shifted by `bom`).
pub(crate) struct Decoded<'a> {
    pub bom: usize,
    pub text: &'a str,
}

/// Splits the BOM off and insists on UTF-8.
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded<'_>, EditError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(EditError::at(
            0,
            "the file is UTF-16; this tool edits UTF-8 files only (edit it by hand, or save it as UTF-8 first)",
        ));
    }
    let bom = if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) { 3 } else { 0 };
    let text = std::str::from_utf8(&bytes[bom..]).map_err(|e| {
        let line = crate::error::line_of(&String::from_utf8_lossy(&bytes[bom..]), e.valid_up_to());
        EditError::at(line, "the file is not valid UTF-8")
    })?;
    Ok(Decoded { bom, text })
}

/// Parses XML, turning a parse error into one that names the line.
pub(crate) fn parse_xml(text: &str) -> Result<roxmltree::Document<'_>, EditError> {
    let opts =
        roxmltree::ParsingOptions { allow_dtd: false, ..roxmltree::ParsingOptions::default() };
    roxmltree::Document::parse_with_options(text, opts).map_err(|e| {
        let row = usize::try_from(e.pos().row).unwrap_or(0);
        // The parser's message can quote a piece of the line; on a password's line that
        // piece could be part of the password, so it is left out there.
        let line = text.lines().nth(row.saturating_sub(1)).unwrap_or_default();
        let detail = if line.to_ascii_lowercase().contains("password") {
            "on the password's line".to_string()
        } else {
            format!("({e})")
        };
        EditError::at(
            row,
            format!("not well-formed XML {detail}; fix the file by hand, then try again"),
        )
    })
}

/// The 1-based line of a node.
pub(crate) fn line_of_node(doc: &roxmltree::Document<'_>, node: roxmltree::Node<'_, '_>) -> usize {
    usize::try_from(doc.text_pos_at(node.range().start).row).unwrap_or(0)
}

/// One replacement of a byte range of the text.
#[derive(Debug, Clone)]
pub(crate) struct Splice {
    pub range: Range<usize>,
    pub with: String,
}

/// Applies splices (non-overlapping, any order) and puts the BOM back.
pub(crate) fn splice(bytes: &[u8], dec: &Decoded<'_>, mut splices: Vec<Splice>) -> Vec<u8> {
    splices.sort_by_key(|s| s.range.start);
    let mut out = Vec::with_capacity(bytes.len() + 64);
    out.extend_from_slice(&bytes[..dec.bom]);
    let mut at = 0;
    for s in splices {
        out.extend_from_slice(&dec.text.as_bytes()[at..s.range.start]);
        out.extend_from_slice(s.with.as_bytes());
        at = s.range.end;
    }
    out.extend_from_slice(&dec.text.as_bytes()[at..]);
    out
}

/// Escapes text for an attribute value quoted with `quote`.
pub(crate) fn escape_attr(value: &str, quote: char) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quote == '"' => out.push_str("&quot;"),
            '\'' if quote == '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// A secret in every form it can take in a file (raw, and escaped for attributes and text).
pub(crate) fn secret_forms(value: &str) -> Vec<String> {
    if value.is_empty() {
        return Vec::new();
    }
    let mut out = vec![
        value.to_string(),
        escape_attr(value, '"'),
        escape_attr(value, '\''),
        escape_text(value),
    ];
    out.sort();
    out.dedup();
    out
}

/// Escapes text for element content.
pub(crate) fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// The newline the file uses (CRLF when any line ends so, else LF).
pub(crate) fn newline_of(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// The whitespace before a node on its line, when only whitespace precedes it there.
pub(crate) fn indent_before(text: &str, at: usize) -> Option<&str> {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let lead = &text[line_start..at];
    lead.chars().all(|c| c == ' ' || c == '\t').then_some(lead)
}

/// A splice that sets an element's text content (the element may be empty or self-closing).
/// `None` when it already holds `value`.
pub(crate) fn set_element_text(
    doc: &roxmltree::Document<'_>,
    text: &str,
    node: roxmltree::Node<'_, '_>,
    name: &str,
    value: &str,
) -> Result<Option<Splice>, EditError> {
    let current = element_text(doc, node, name)?;
    if current == value {
        return Ok(None);
    }
    let children: Vec<_> = node.children().collect();
    if let [child] = children.as_slice() {
        return Ok(Some(Splice { range: child.range(), with: escape_text(value) }));
    }
    let range = node.range();
    let raw = &text[range.clone()];
    if let Some(open) = raw.strip_suffix("/>") {
        // <Name /> or <Name/>: write the element out in full, keeping its start-tag bytes.
        let open = open.trim_end();
        let qname = raw[1..]
            .split(|c: char| c.is_whitespace() || c == '/' || c == '>')
            .next()
            .unwrap_or(name);
        return Ok(Some(Splice {
            range,
            with: format!("{open}>{}</{qname}>", escape_text(value)),
        }));
    }
    // <Name></Name>: insert before the end tag.
    let at = range.start + raw.rfind("</").unwrap_or(raw.len());
    Ok(Some(Splice { range: at..at, with: escape_text(value) }))
}

/// An element's text content; refuses mixed content (comments or elements inside).
pub(crate) fn element_text(
    doc: &roxmltree::Document<'_>,
    node: roxmltree::Node<'_, '_>,
    name: &str,
) -> Result<String, EditError> {
    let mut out = String::new();
    for child in node.children() {
        match child.text() {
            Some(t) if child.is_text() => out.push_str(t),
            _ => {
                return Err(EditError::at(
                    line_of_node(doc, child),
                    format!("`{name}` holds more than text; edit it by hand"),
                ));
            }
        }
    }
    Ok(out)
}

/// Judges an SDK URL found in a file: an IP address, plain http, a placeholder or an
/// endpoint other than `PfWsSdk.asmx` is a problem.
pub fn url_problem(url: &str) -> Option<String> {
    let lower = url.trim().to_ascii_lowercase();
    if lower.contains("localhost:4898") || lower.contains("www.contoso.com") {
        return Some("holds the shipped placeholder, so it is not set".into());
    }
    if lower.starts_with("http://") {
        return Some("uses http; the SDK must be called over https".into());
    }
    let Some(rest) = lower.strip_prefix("https://") else {
        return Some("is not an https URL".into());
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if authority.starts_with('[') {
        authority.trim_start_matches('[').split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Some(format!(
            "names the server by IP address ({host}); use the name on its certificate"
        ));
    }
    if !lower.split(['?', '#']).next().unwrap_or_default().ends_with("/pfwssdk.asmx") {
        return Some("does not end in PfWsSdk.asmx (AD FS answers HTTP 405)".into());
    }
    None
}

/// Findings for a plain value: set, wrong or missing.
pub(crate) fn judge_value(name: &str, found: Option<&str>, expected: &str) -> Finding {
    match found {
        None => Finding::Missing { name: name.into() },
        Some(f) if f.trim().is_empty() => Finding::Missing { name: name.into() },
        Some(f) if f == expected => Finding::Set { name: name.into(), value: f.into() },
        Some(f) => Finding::Wrong {
            name: name.into(),
            expected: expected.into(),
            found: f.into(),
            secret: false,
        },
    }
}

/// Findings for a password: compared with the stored one, never shown.
pub(crate) fn judge_password(name: &str, found: Option<&str>, stored: Option<&str>) -> Finding {
    match (found, stored) {
        (None | Some(""), _) => Finding::Missing { name: name.into() },
        (Some(_), None) => Finding::Unchecked { name: name.into() },
        (Some(f), Some(s)) if f == s => {
            Finding::Set { name: name.into(), value: "matches the stored password".into() }
        }
        (Some(_), Some(_)) => Finding::Wrong {
            name: name.into(),
            expected: String::new(),
            found: String::new(),
            secret: true,
        },
    }
}

/// The URL findings: the comparison with the expected URL, plus any problem with it.
pub(crate) fn judge_url(name: &str, found: Option<&str>, expected: &str) -> Vec<Finding> {
    let mut out = vec![judge_value(name, found, expected)];
    if let Some(f) = found.filter(|f| !f.trim().is_empty())
        && let Some(reason) = url_problem(f)
    {
        out.push(Finding::Problem { name: name.into(), reason });
    }
    out
}

#[cfg(test)]
mod tests;
