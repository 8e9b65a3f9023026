//! `ldap-sync`: the sync group exists, differs from the Windows Hello for Business group,
//! and how many of its users (through any nesting) lack every phone attribute the MFA
//! server's directory sync imports. The users are streamed through a paged search: memory
//! stays bounded however big the group.

use super::Dir;
use crate::checks::{CheckResult, Outcome, Planned};

/// The phone attributes the sync imports.
pub const PHONE_ATTRS: [&str; 5] = ["telephoneNumber", "mobile", "homePhone", "ipPhone", "pager"];
/// How many users without a phone the result names.
const NAMED: usize = 5;

pub(super) async fn judge(check: &Planned, dir: &mut Dir) -> CheckResult {
    let get =
        |k: &str| check.params.get(k).map(String::as_str).unwrap_or_default().trim().to_string();
    let (group, whfb) = (get("group"), get("whfb_group"));
    let entry = match dir.find_group(&group).await {
        Ok(Some(e)) => e,
        Ok(None) => {
            return CheckResult::new(
                check,
                Outcome::Fail,
                format!("sync group `{group}` does not exist in the domain"),
            )
            .with_hint(format!(
                "New-ADGroup -Name '{}' -GroupScope Global -GroupCategory Security",
                group.replace('\'', "''")
            ));
        }
        Err(why) => {
            return CheckResult::error(check, format!("looking for group `{group}`: {why}"));
        }
    };
    if !whfb.is_empty() {
        match dir.find_group(&whfb).await {
            Ok(Some(w)) if w.dn.eq_ignore_ascii_case(&entry.dn) => {
                return CheckResult::new(
                    check,
                    Outcome::Fail,
                    format!("the sync group is the Windows Hello for Business group ({})", entry.dn),
                )
                .with_hint("sync a separate group, so users enrol in MFA before they are given Windows Hello");
            }
            Ok(_) => {}
            Err(why) => {
                return CheckResult::error(check, format!("looking for group `{whfb}`: {why}"));
            }
        }
    }
    let members = match dir.members_filter(&entry.dn).await {
        Ok(f) => f,
        Err(why) => {
            return CheckResult::error(check, format!("listing the groups in `{group}`: {why}"));
        }
    };
    let filter = if dir.ad {
        format!("(&(objectCategory=person)(objectClass=user){members})")
    } else {
        format!("(&(objectClass=person){members})")
    };
    let mut attrs = vec!["sAMAccountName", "uid"];
    attrs.extend(PHONE_ATTRS);
    let (mut users, mut lacking, mut named) = (0u64, 0u64, Vec::new());
    let counted = dir
        .each(&filter, &attrs, |e| {
            users += 1;
            let has_phone = e.attrs.iter().any(|(k, v)| {
                PHONE_ATTRS.iter().any(|p| p.eq_ignore_ascii_case(k))
                    && v.iter().any(|s| !s.trim().is_empty())
            });
            if !has_phone {
                lacking += 1;
                if named.len() < NAMED {
                    named.push(
                        super::attr(&e, "sAMAccountName")
                            .or_else(|| super::attr(&e, "uid"))
                            .unwrap_or(&e.dn)
                            .to_string(),
                    );
                }
            }
        })
        .await;
    if let Err(why) = counted {
        return CheckResult::error(check, format!("listing the users of `{group}`: {why}"));
    }
    let mut r = if users == 0 {
        CheckResult::new(check, Outcome::Warn, format!("sync group `{group}` has no users"))
            .with_hint(
                "add the users who will use MFA; sync does nothing until the group has members",
            )
    } else if lacking == 0 {
        CheckResult::new(
            check,
            Outcome::Pass,
            format!("all {users} users of `{group}` have a phone number"),
        )
    } else {
        let more = if lacking > named.len() as u64 { ", …" } else { "" };
        CheckResult::new(
            check,
            Outcome::Warn,
            format!(
                "{lacking} of {users} users of `{group}` have no phone number: {}{more}",
                named.join(", ")
            ),
        )
        .with_hint(format!(
            "fill in one of {} for them, or they cannot be called or texted",
            PHONE_ATTRS.join(", ")
        ))
    };
    r.put("group_dn", &entry.dn);
    r.put("users", &users.to_string());
    r.put("users_without_phone", &lacking.to_string());
    if !named.is_empty() {
        r.put("first_without_phone", &named.join(", "));
    }
    r
}
