//! The `file` check: reads the portal's web.config, the adapter's config or the Register
//! script with the same readers `apply` uses, and reports each value as set, wrong
//! (expected vs found; the password only as match or mismatch) or missing. A file that is
//! not on this machine is `not-run` (the operator is probably on another server).
//!
//! Parameters: `path`, `format` (`web-config`, `adapter-config`, `register-script`), and
//! what the file should hold: `account`, `url`, `config` (the adapter config's path, for
//! the script), `thumbprint` (optional).

use std::path::PathBuf;

use super::{CheckResult, Outcome, Planned};
use crate::edit::{self, Finding, Target, Wanted};

/// Runs a `file` check (file I/O and the keyring are blocking, so off the async threads).
pub async fn run(check: &Planned) -> CheckResult {
    let owned = check.clone();
    match tokio::task::spawn_blocking(move || run_blocking(&owned)).await {
        Ok(r) => r,
        Err(_) => CheckResult::error(check, "the file check stopped unexpectedly"),
    }
}

fn run_blocking(check: &Planned) -> CheckResult {
    let param = |k: &str| check.params.get(k).cloned().unwrap_or_default();
    let format = param("format");
    let Some(target) = Target::from_format(&format) else {
        return CheckResult::error(
            check,
            format!(
                "unknown file format `{format}`; use web-config, adapter-config or register-script"
            ),
        );
    };
    let path = PathBuf::from(param("path"));
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return CheckResult::new(
                check,
                Outcome::NotRun,
                format!("file not found here: {}", path.display()),
            )
            .with_hint("run the check on the server that holds the file");
        }
        Err(e) => {
            return CheckResult::error(check, format!("cannot read {}: {e}", path.display()))
                .with_hint(
                    "run the check as an account that can read the file (an administrator)",
                );
        }
    };
    let mut wanted = Wanted {
        account: param("account"),
        url: param("url"),
        password: None,
        thumbprint: check.params.get("thumbprint").cloned().filter(|t| !t.trim().is_empty()),
        config_path: param("config"),
    };
    if target.needs_password() {
        wanted.password = stored_password(check);
    }
    let findings = match edit::inspect(target, &bytes, &wanted) {
        Ok(f) => f,
        Err(e) => {
            let mut r = CheckResult::new(check, Outcome::Fail, e.describe(&path))
                .with_hint("the file is damaged or not the expected one; restore it from its backup or fix it by hand");
            r.put("file", &path.display().to_string());
            return r;
        }
    };
    judge(check, &path.display().to_string(), target, &findings)
}

/// The stored SDK password, when there is one (never an error: the check then reports
/// the password as not compared).
fn stored_password(check: &Planned) -> Option<String> {
    let name = "sdk_password";
    match &check.domain {
        Some(d) => crate::secrets::get(d, name).ok().flatten(),
        None => std::env::var(crate::secrets::env_var(name)).ok().filter(|v| !v.is_empty()),
    }
}

/// Turns findings into a result.
pub fn judge(check: &Planned, file: &str, target: Target, findings: &[Finding]) -> CheckResult {
    let failures: Vec<&Finding> = findings.iter().filter(|f| f.is_failure()).collect();
    let unchecked = findings.iter().any(|f| matches!(f, Finding::Unchecked { .. }));
    let (outcome, summary) = if let Some(first) = failures.first() {
        let more = if failures.len() > 1 {
            format!(" (+{} more)", failures.len() - 1)
        } else {
            String::new()
        };
        (Outcome::Fail, format!("{}{more}", first.line()))
    } else if unchecked {
        (Outcome::Warn, "values set; the password was not compared (no stored password)".into())
    } else {
        (Outcome::Pass, format!("{} values as expected", findings.len()))
    };
    let hint = match outcome {
        Outcome::Pass => String::new(),
        Outcome::Warn => "store it with `mfa-rollout secret set sdk_password` to compare it".into(),
        _ => {
            let step = match target {
                Target::WebConfig => "portal.web-config",
                Target::Adapter => "adfs.adapter-config",
                Target::Script => "adfs.register-script",
            };
            format!("`mfa-rollout apply {step}` shows and makes the fix")
        }
    };
    let mut result = CheckResult::new(check, outcome, summary).with_hint(hint);
    result.put("file", file);
    for f in findings {
        let (name, text) = match f {
            Finding::Set { name, .. }
            | Finding::Wrong { name, .. }
            | Finding::Missing { name }
            | Finding::Unchecked { name } => (name.clone(), f.line()),
            Finding::Problem { name, .. } => (format!("{name} problem"), f.line()),
        };
        let text = text.split_once(": ").map_or(text.clone(), |(_, rest)| rest.to_string());
        result.put(&name, &text);
    }
    result
}
