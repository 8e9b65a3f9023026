//! `ldap-group`: the group exists (found anywhere in the domain, name compared
//! case-insensitively) and holds every required member, through any nesting (the in-chain
//! matching rule), computer accounts (`NAME$`) included. A missing member is named, with
//! the PowerShell that adds it.

use super::{Dir, attr};
use crate::checks::{CheckResult, Outcome, Planned};

/// Splits a comma-separated parameter.
pub fn list(text: Option<&String>) -> Vec<String> {
    text.map(String::as_str)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Quotes a value for a PowerShell single-quoted string.
pub fn ps(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

pub(super) async fn judge(check: &Planned, dir: &mut Dir) -> CheckResult {
    let group =
        check.params.get("group").map(String::as_str).unwrap_or_default().trim().to_string();
    let found = match dir.find_group(&group).await {
        Ok(f) => f,
        Err(why) => {
            return CheckResult::error(check, format!("looking for group `{group}`: {why}"));
        }
    };
    let Some(entry) = found else {
        return CheckResult::new(
            check,
            Outcome::Fail,
            format!("group `{group}` does not exist in the domain"),
        )
        .with_hint(format!(
            "New-ADGroup -Name {} -GroupScope Global -GroupCategory Security",
            ps(&group)
        ));
    };
    let group_dn = entry.dn.clone();
    let mut required: Vec<(String, String)> =
        list(check.params.get("members")).into_iter().map(|m| (m.clone(), m)).collect();
    for fqdn in list(check.params.get("computers")) {
        let short = fqdn.split('.').next().unwrap_or_default().to_ascii_uppercase();
        required.push((format!("{short}$"), format!("{short}$")));
    }
    let mut missing = Vec::new();
    let mut absent = Vec::new();
    let mut present = Vec::new();
    for (shown, name) in &required {
        let n = ldap3::ldap_escape(name.as_str());
        let filter = format!("(|(sAMAccountName={n})(cn={n}))");
        let member = match dir.find(&filter, &["1.1"]).await {
            Ok(m) => m,
            Err(why) => return CheckResult::error(check, format!("looking for `{shown}`: {why}")),
        };
        let Some(member) = member else {
            absent.push(shown.clone());
            continue;
        };
        match dir.in_chain(&member.dn, &group_dn).await {
            Ok(true) => present.push(shown.clone()),
            Ok(false) => missing.push(shown.clone()),
            Err(why) => return CheckResult::error(check, format!("checking `{shown}`: {why}")),
        }
    }
    let shown_group = attr(&entry, "cn").unwrap_or(&group).to_string();
    let mut r = if required.is_empty() {
        CheckResult::new(check, Outcome::Pass, format!("group `{shown_group}` exists"))
    } else if missing.is_empty() && absent.is_empty() {
        CheckResult::new(
            check,
            Outcome::Pass,
            format!("group `{shown_group}` holds all {} required members", required.len()),
        )
    } else {
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!("not in `{shown_group}`: {}", missing.join(", ")));
        }
        if !absent.is_empty() {
            parts.push(format!("no such account in the domain: {}", absent.join(", ")));
        }
        let mut hint = String::new();
        if !missing.is_empty() {
            hint = format!(
                "Add-ADGroupMember -Identity {} -Members {}",
                ps(&shown_group),
                missing.iter().map(|m| ps(m)).collect::<Vec<_>>().join(", ")
            );
        }
        if !absent.is_empty() {
            if !hint.is_empty() {
                hint.push_str("; ");
            }
            hint.push_str(
                "create the missing accounts first (the step that makes them), then add them",
            );
        }
        CheckResult::new(check, Outcome::Fail, parts.join("; ")).with_hint(hint)
    };
    r.put("group_dn", &group_dn);
    if !present.is_empty() {
        r.put("members_present", &present.join(", "));
    }
    if !missing.is_empty() {
        r.put("members_missing", &missing.join(", "));
    }
    if !absent.is_empty() {
        r.put("accounts_not_found", &absent.join(", "));
    }
    r
}
