//! `ldap-account`: the account exists, is enabled, is not forced to change its password at
//! next logon, and is neither locked out nor expired; its password's age and whether it
//! never expires are evidence.

use super::{Dir, attr, filetime_to_unix};
use crate::checks::{CheckResult, Outcome, Planned};

const ACCOUNTDISABLE: i64 = 0x2;
const LOCKOUT: i64 = 0x10;
const DONT_EXPIRE_PASSWORD: i64 = 0x1_0000;
const PASSWORD_EXPIRED: i64 = 0x80_0000;

pub(super) async fn judge(check: &Planned, dir: &mut Dir) -> CheckResult {
    let account = check.params.get("account").map(String::as_str).unwrap_or_default().trim();
    // DOMAIN\user → user
    let name = account.rsplit('\\').next().unwrap_or(account);
    let filter = format!("(&(objectClass=user)(sAMAccountName={}))", ldap3::ldap_escape(name));
    let attrs = [
        "userAccountControl",
        "pwdLastSet",
        "accountExpires",
        "lockoutTime",
        "msDS-User-Account-Control-Computed",
    ];
    let entry = match dir.find(&filter, &attrs).await {
        Ok(Some(e)) => e,
        Ok(None) => {
            return CheckResult::new(check, Outcome::Fail, format!("account `{name}` does not exist in the domain"))
                .with_hint(format!(
                    "New-ADUser -Name '{name}' -AccountPassword (Read-Host -AsSecureString) -Enabled $true -PasswordNeverExpires $true"
                ));
        }
        Err(why) => return CheckResult::error(check, format!("looking for `{name}`: {why}")),
    };
    let num = |a: &str| attr(&entry, a).and_then(|v| v.parse::<i64>().ok());
    let uac = num("userAccountControl").unwrap_or(0);
    let computed = num("msDS-User-Account-Control-Computed").unwrap_or(0);
    let pwd_last_set = num("pwdLastSet").unwrap_or(0);
    let expires = num("accountExpires").unwrap_or(0);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut problems: Vec<(&str, String)> = Vec::new();
    if uac & ACCOUNTDISABLE != 0 {
        problems.push(("disabled", format!("Enable-ADAccount -Identity '{name}'")));
    }
    if pwd_last_set == 0 {
        problems.push((
            "must change its password at next logon",
            format!("Set-ADUser -Identity '{name}' -ChangePasswordAtLogon $false"),
        ));
    }
    let locked =
        computed & LOCKOUT != 0 || (computed == 0 && num("lockoutTime").is_some_and(|t| t > 0));
    if locked {
        problems.push(("locked out", format!("Unlock-ADAccount -Identity '{name}'")));
    }
    if expires > 0 && expires != i64::MAX && filetime_to_unix(expires) < now {
        problems.push(("expired", format!("Clear-ADAccountExpiration -Identity '{name}'")));
    }
    if computed & PASSWORD_EXPIRED != 0 && pwd_last_set != 0 {
        problems.push((
            "its password has expired",
            format!("Set-ADAccountPassword -Identity '{name}' -Reset"),
        ));
    }
    let never = uac & DONT_EXPIRE_PASSWORD != 0;
    let mut r = if problems.is_empty() {
        CheckResult::new(check, Outcome::Pass, format!("account `{name}` is enabled and usable"))
    } else {
        let what: Vec<&str> = problems.iter().map(|(w, _)| *w).collect();
        let fix: Vec<String> = problems.iter().map(|(_, f)| f.clone()).collect();
        CheckResult::new(check, Outcome::Fail, format!("account `{name}` is {}", what.join(", ")))
            .with_hint(fix.join("; "))
    };
    r.put("dn", &entry.dn);
    r.put("userAccountControl", &uac.to_string());
    r.put("password_never_expires", if never { "yes" } else { "no" });
    if pwd_last_set > 0 {
        let age = (now - filetime_to_unix(pwd_last_set)).max(0) / 86_400;
        r.put("password_age_days", &age.to_string());
    }
    if !never && r.outcome == Outcome::Pass {
        r.outcome = Outcome::Warn;
        r.summary.push_str("; its password can expire, which would stop the portal");
        r.hint = format!("Set-ADUser -Identity '{name}' -PasswordNeverExpires $true");
    }
    r
}
