//! Directory and DNS checks (`ldap-group`, `ldap-account`, `ldap-sync`, `dns-a`) against a
//! real Samba AD DC started by tests/lab/samba.rs on 127.0.0.2. Every scenario creates its
//! own objects (names carry the scenario's tag), so they do not depend on each other.
//! The bind password travels in `MFA_ROLLOUT_SECRET_LDAP_PASSWORD`; no output may hold it.
#![cfg(target_os = "linux")]

#[path = "lab/mod.rs"]
mod lab;

use std::path::Path;
use std::process::Command;

use lab::samba::{ADMIN_PASSWORD, BASE, BIND, SambaLab};
use serde_json::Value;

const WRONG_PASSWORD: &str = "Not-The.Passw0rd!93";

struct Run {
    code: i32,
    json: Value,
    text: String,
}

impl Run {
    fn result(&self, kind: &str) -> &Value {
        self.json["results"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["kind"] == kind))
            .unwrap_or_else(|| panic!("no {kind} result: {}", self.text))
    }
}

fn bin(dir: &Path, args: &[&str], password: &str) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_mfa-rollout"))
        .current_dir(dir)
        .args(args)
        .env_remove("MFA_ROLLOUT_STATE")
        .env("MFA_ROLLOUT_SECRET_LDAP_PASSWORD", password)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &stdout;
    // No secret in any message, whatever the outcome.
    for secret in [ADMIN_PASSWORD, WRONG_PASSWORD] {
        assert!(!text.contains(secret), "a password leaked into the output:\n{text}");
    }
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        text,
    }
}

/// A rollout from the demo profile pointed at the lab; `sets` override values.
fn rollout(sets: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![
        ("ldap_url", "ldaps://dc1.corp.contoso.com"),
        ("ldap_bind", BIND),
        ("dns_server", "127.0.0.2"),
        ("mfa_secondaries", ""),
    ];
    all.extend_from_slice(sets);
    let mut args = vec!["init".to_string(), "--profile".into(), "demo".into()];
    for (k, v) in all {
        args.push("--set".into());
        args.push(format!("{k}={v}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = bin(dir.path(), &args, ADMIN_PASSWORD);
    assert_eq!(r.code, 0, "init: {}", r.text);
    // Never let a test's state file be found elsewhere.
    dir
}

fn check(lab: &SambaLab, dir: &Path, step: &str, trust: bool, password: &str) -> Run {
    let connect = lab.connect_arg();
    let ca = lab.ca_file().display().to_string();
    let mut args =
        vec!["check", step, "--format", "json", "--connect", &connect, "--timeout", "10"];
    if trust {
        args.extend(["--ca-file", &ca]);
    }
    let r = bin(dir, &args, password);
    assert!(r.json.is_object(), "not JSON: {}", r.text);
    r
}

fn outcome(r: &Value) -> &str {
    r["outcome"].as_str().unwrap_or_default()
}

fn summary(r: &Value) -> &str {
    r["summary"].as_str().unwrap_or_default()
}

#[test]
fn directory_and_dns_checks_against_samba() {
    let lab = SambaLab::start();
    members_present_missing_nested(&lab);
    group_names_case_and_escaped(&lab);
    sdk_account_states(&lab);
    phone_coverage(&lab);
    dns_findings(&lab);
    transports_and_credentials(&lab);
    discovery_and_keyring(&lab);
    replicating_directory_changes(&lab);
}

fn computer(lab: &SambaLab, short: &str) -> String {
    let dn = format!("CN={short},CN=Computers,{BASE}");
    lab.modify(&format!(
        "dn: {dn}\nchangetype: add\nobjectClass: computer\nsAMAccountName: {short}$\nuserAccountControl: 4096\n\n"
    ));
    dn
}

fn members_present_missing_nested(lab: &SambaLab) {
    let pf = lab.group("PhoneFactor Admins A1");
    let nested = lab.group("Nested A1");
    let admins = lab.group("Portal Admins A1");
    let mfa = computer(lab, "MFAA1");
    let outsider = lab.user("Outsider A1", "");
    // The MFA server's computer account is a member only through Nested A1.
    lab.add_member(&pf, &nested);
    lab.add_member(&nested, &mfa);
    lab.add_member(&pf, &admins);
    let _ = outsider;

    let dir = rollout(&[
        ("phonefactor_group", "PhoneFactor Admins A1"),
        ("mfa_fqdn", "mfaa1.corp.contoso.com"),
        ("portal_admins", "Portal Admins A1"),
    ]);
    let run = check(lab, dir.path(), "primary.phonefactor-members", true, ADMIN_PASSWORD);
    let r = run.result("ldap-group");
    assert_eq!((run.code, outcome(r)), (0, "pass"), "{r:#}");
    assert!(r["evidence"]["members_present"].as_str().unwrap().contains("MFAA1$"), "{r:#}");
    assert_eq!(r["evidence"]["transport"], "ldaps", "{r:#}");

    // A member that is missing is named, with the PowerShell that adds it.
    let dir = rollout(&[
        ("phonefactor_group", "PhoneFactor Admins A1"),
        ("mfa_fqdn", "mfaa1.corp.contoso.com"),
        ("portal_admins", "Portal Admins A1,Outsider A1"),
    ]);
    let run = check(lab, dir.path(), "primary.phonefactor-members", true, ADMIN_PASSWORD);
    let r = run.result("ldap-group");
    assert_eq!((run.code, outcome(r)), (1, "fail"), "{r:#}");
    assert!(summary(r).contains("Outsider A1"), "{r:#}");
    let hint = r["hint"].as_str().unwrap();
    assert!(
        hint.contains("Add-ADGroupMember -Identity 'PhoneFactor Admins A1' -Members 'Outsider A1'"),
        "{r:#}"
    );

    // Every MFA server (primary and secondaries) as NAME$: MFAA2 does not exist.
    let dir = rollout(&[
        ("phonefactor_group", "PhoneFactor Admins A1"),
        ("mfa_fqdn", "mfaa1.corp.contoso.com"),
        ("mfa_secondaries", "mfaa2.corp.contoso.com"),
    ]);
    let run = check(lab, dir.path(), "secondary.replication", true, ADMIN_PASSWORD);
    let r = run.result("ldap-group");
    assert_eq!(outcome(r), "fail", "{r:#}");
    assert!(summary(r).contains("MFAA2$") && !summary(r).contains("MFAA1$"), "{r:#}");
}

fn group_names_case_and_escaped(lab: &SambaLab) {
    lab.group("PhoneFactor Admins B1");
    // Found whatever the case.
    let dir = rollout(&[("phonefactor_group", "phonefactor admins b1")]);
    let run = check(lab, dir.path(), "primary.phonefactor-group", true, ADMIN_PASSWORD);
    assert_eq!(outcome(run.result("ldap-group")), "pass", "{}", run.text);
    // Unknown group: a named finding.
    let dir = rollout(&[("phonefactor_group", "No Such Group B1")]);
    let run = check(lab, dir.path(), "primary.phonefactor-group", true, ADMIN_PASSWORD);
    let r = run.result("ldap-group");
    assert_eq!((run.code, outcome(r)), (1, "fail"), "{r:#}");
    assert!(summary(r).contains("does not exist"), "{r:#}");
    // A name with a comma, quotes, a parenthesis and non-ASCII letters, nested member too.
    let odd = "Admins, \"Zürich\" (B2)";
    let g = lab.group(odd);
    let inner = lab.group("Ölgruppe B2");
    let sdk = lab.user("PFWSDK_B2", "");
    lab.add_member(&g, &inner);
    lab.add_member(&inner, &sdk);
    let dir = rollout(&[
        ("phonefactor_group", odd),
        ("sdk_account", "PFWSDK_B2"),
        ("portal_admins", "Ölgruppe B2"),
    ]);
    let run = check(lab, dir.path(), "portal.sdk-membership", true, ADMIN_PASSWORD);
    let r = run.result("ldap-group");
    assert_eq!(outcome(r), "pass", "{r:#}");
}

fn sdk_account_states(lab: &SambaLab) {
    lab.tool(&["user", "create", "PFWSDK_C1", "Sdk-C1.Passw0rd!x"]);
    lab.tool(&["user", "setexpiry", "PFWSDK_C1", "--noexpiry"]);
    let dir = rollout(&[("sdk_account", "PFWSDK_C1")]);
    let run = check(lab, dir.path(), "portal.sdk-account", true, ADMIN_PASSWORD);
    let r = run.result("ldap-account");
    assert_eq!((run.code, outcome(r)), (0, "pass"), "{r:#}");
    assert_eq!(r["evidence"]["password_never_expires"], "yes", "{r:#}");
    assert_eq!(r["evidence"]["password_age_days"], "0", "{r:#}");

    lab.tool(&["user", "create", "PFWSDK_C2", "Sdk-C2.Passw0rd!x"]);
    lab.tool(&["user", "setexpiry", "PFWSDK_C2", "--noexpiry"]);
    lab.tool(&["user", "disable", "PFWSDK_C2"]);
    let dir = rollout(&[("sdk_account", "PFWSDK_C2")]);
    let run = check(lab, dir.path(), "portal.sdk-account", true, ADMIN_PASSWORD);
    let r = run.result("ldap-account");
    assert_eq!((run.code, outcome(r)), (1, "fail"), "{r:#}");
    assert!(summary(r).contains("disabled"), "{r:#}");
    assert!(r["hint"].as_str().unwrap().contains("Enable-ADAccount"), "{r:#}");

    // Created without a password: pwdLastSet 0, must change at next logon.
    lab.user("PFWSDK_C3", "");
    let dir = rollout(&[("sdk_account", "PFWSDK_C3")]);
    let run = check(lab, dir.path(), "portal.sdk-account", true, ADMIN_PASSWORD);
    let r = run.result("ldap-account");
    assert_eq!(outcome(r), "fail", "{r:#}");
    assert!(summary(r).contains("must change its password"), "{r:#}");

    let dir = rollout(&[("sdk_account", "PFWSDK_NONE")]);
    let run = check(lab, dir.path(), "portal.sdk-account", true, ADMIN_PASSWORD);
    assert!(summary(run.result("ldap-account")).contains("does not exist"), "{}", run.text);
}

fn phone_coverage(lab: &SambaLab) {
    let g = lab.group("MFA Users D1");
    let nested = lab.group("MFA Nested D1");
    lab.add_member(&g, &nested);
    for (name, extra) in [
        ("d1-tel", "telephoneNumber: +1 555 0100\n"),
        ("d1-mobile", "mobile: +1 555 0101\n"),
        ("d1-none-1", ""),
        ("d1-none-2", ""),
    ] {
        let u = lab.user(name, extra);
        lab.add_member(&g, &u);
    }
    let deep = lab.user("d1-none-nested", "");
    lab.add_member(&nested, &deep);
    let dir = rollout(&[("sync_group", "MFA Users D1")]);
    let run = check(lab, dir.path(), "mfa.sync-items", true, ADMIN_PASSWORD);
    let r = run.result("ldap-sync");
    assert_eq!(outcome(r), "warn", "{r:#}");
    assert_eq!(r["evidence"]["users"], "5", "{r:#}");
    assert_eq!(r["evidence"]["users_without_phone"], "3", "{r:#}");
    let named = r["evidence"]["first_without_phone"].as_str().unwrap();
    assert!(named.contains("d1-none-nested") && named.contains("d1-none-1"), "{r:#}");

    // The sync group must not be the Windows Hello for Business group, whatever the case.
    lab.group("Hello Users D2");
    let dir =
        rollout(&[("sync_group", "Hello Users D2"), ("whfb_group", "Windows Hello Users D2")]);
    let _ = dir;
    let dir = rollout(&[("sync_group", "MFA Users D1"), ("whfb_group", "Hello Users D2")]);
    let run = check(lab, dir.path(), "mfa.sync-items", true, ADMIN_PASSWORD);
    assert_eq!(outcome(run.result("ldap-sync")), "warn", "{}", run.text);
}

fn dns_findings(lab: &SambaLab) {
    lab.tool(&["dns", "add", "127.0.0.2", "corp.contoso.com", "mfaweb-e1", "A", "127.0.0.50"]);
    let cases = [
        ("mfaweb-e1.corp.contoso.com", "127.0.0.50", "127.0.0.2", "pass", "resolves to 127.0.0.50"),
        ("mfaweb-e1.corp.contoso.com", "127.0.0.51", "127.0.0.2", "fail", "expected 127.0.0.51"),
        ("nothere-e1.corp.contoso.com", "127.0.0.50", "127.0.0.2", "fail", "no A record"),
        ("mfaweb-e1.corp.contoso.com", "127.0.0.50", "127.0.0.3", "fail", "did not answer"),
    ];
    for (fqdn, addr, server, want, says) in cases {
        let dir =
            rollout(&[("portal_fqdn", fqdn), ("portal_address", addr), ("dns_server", server)]);
        let run = check(lab, dir.path(), "portal.dns", true, ADMIN_PASSWORD);
        let r = run.result("dns-a");
        assert_eq!(outcome(r), want, "{fqdn} {addr} @{server}: {r:#}");
        assert!(summary(r).contains(says), "{fqdn} {addr} @{server}: {r:#}");
    }
}

fn transports_and_credentials(lab: &SambaLab) {
    lab.group("PhoneFactor Admins F1");
    // StartTLS on 389.
    let dir = rollout(&[
        ("phonefactor_group", "PhoneFactor Admins F1"),
        ("ldap_url", "ldap://dc1.corp.contoso.com"),
    ]);
    let run = check(lab, dir.path(), "primary.phonefactor-group", true, ADMIN_PASSWORD);
    let r = run.result("ldap-group");
    assert_eq!(
        (outcome(r), r["evidence"]["transport"].as_str()),
        ("pass", Some("starttls")),
        "{r:#}"
    );

    // LDAPS without the lab CA: an untrusted certificate is a named finding.
    let dir = rollout(&[("phonefactor_group", "PhoneFactor Admins F1")]);
    let run = check(lab, dir.path(), "primary.phonefactor-group", false, ADMIN_PASSWORD);
    let r = run.result("ldap-group");
    assert_eq!((run.code, outcome(r)), (1, "fail"), "{r:#}");
    assert!(summary(r).contains("not trusted"), "{r:#}");

    // Wrong password: named, and the password appears nowhere (checked in `bin`).
    let run = check(lab, dir.path(), "primary.phonefactor-group", true, WRONG_PASSWORD);
    let r = run.result("ldap-group");
    assert_eq!((run.code, outcome(r)), (1, "fail"), "{r:#}");
    assert!(summary(r).contains("wrong password"), "{r:#}");
    let state = std::fs::read_to_string(dir.path().join("mfa-rollout.toml")).unwrap();
    assert!(!state.contains(WRONG_PASSWORD) && !state.contains(ADMIN_PASSWORD));
}

fn discovery_and_keyring(lab: &SambaLab) {
    lab.group("PhoneFactor Admins G1");
    // No ldap_url: the DC is found through _ldap._tcp SRV records on the lab DNS.
    let dir = rollout(&[("phonefactor_group", "PhoneFactor Admins G1"), ("ldap_url", "")]);
    let run = check(lab, dir.path(), "primary.phonefactor-group", true, ADMIN_PASSWORD);
    let r = run.result("ldap-group");
    assert_eq!(outcome(r), "pass", "{r:#}");
    assert_eq!(r["evidence"]["server"], "ldap://dc1.corp.contoso.com:389", "{r:#}");
    assert_eq!(r["evidence"]["transport"], "starttls", "{r:#}");

    // The bind password from the OS keyring (kernel keyutils, a fresh session keyring):
    // `secret set` reads it from stdin, the check reads it back; no environment variable.
    let script = format!(
        "printf '%s' \"$PW\" | \"$BIN\" secret set ldap_password >&2 && \"$BIN\" check primary.phonefactor-group \
         --format json --timeout 10 --connect '{}' --ca-file '{}'; rc=$?; \
         k=$(keyctl search @s user 'keyring:corp.contoso.com/ldap_password@mfa-rollout') && keyctl invalidate $k; exit $rc",
        lab.connect_arg(),
        lab.ca_file().display()
    );
    let dir = rollout(&[("phonefactor_group", "PhoneFactor Admins G1")]);
    let out = Command::new("keyctl")
        .args(["session", "-", "sh", "-c", &script])
        .current_dir(dir.path())
        .env("BIN", env!("CARGO_BIN_EXE_mfa-rollout"))
        .env("PW", ADMIN_PASSWORD)
        .env_remove("MFA_ROLLOUT_SECRET_LDAP_PASSWORD")
        .env_remove("MFA_ROLLOUT_STATE")
        .output()
        .expect("keyctl (keyutils)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &stdout;
    assert!(!text.contains(ADMIN_PASSWORD), "{text}");
    let json: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    assert_eq!(json["results"][0]["outcome"], "pass", "{text}");

    // Neither keyring nor environment: not run, with the command that stores it.
    let dir = rollout(&[
        ("phonefactor_group", "PhoneFactor Admins G1"),
        ("domain", "nokey.contoso.test"),
    ]);
    let out = Command::new("keyctl")
        .args(["session", "-", env!("CARGO_BIN_EXE_mfa-rollout")])
        .args(["check", "primary.phonefactor-group", "--format", "json", "--connect"])
        .arg(lab.connect_arg())
        .arg("--ca-file")
        .arg(lab.ca_file())
        .current_dir(dir.path())
        .env_remove("MFA_ROLLOUT_SECRET_LDAP_PASSWORD")
        .env_remove("MFA_ROLLOUT_STATE")
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let r = &json["results"][0];
    assert_eq!(r["outcome"], "not-run", "{r:#}");
    assert!(r["hint"].as_str().unwrap_or_default().contains("secret set ldap_password"), "{r:#}");
}

fn replicating_directory_changes(lab: &SambaLab) {
    // A fresh computer account lacks the right: a warning naming the fallback.
    computer(lab, "MFAH1");
    let dir = rollout(&[("mfa_fqdn", "mfah1.corp.contoso.com")]);
    let run = check(lab, dir.path(), "mfa.directory-integration", true, ADMIN_PASSWORD);
    let r = run.result("ldap-replication");
    assert_eq!(outcome(r), "warn", "{r:#}");
    assert!(summary(r).contains("falls back to full synchronisation"), "{r:#}");
    assert!(r["hint"].as_str().unwrap().contains("dsacls"), "{r:#}");

    // Granted to a group the computer is in (nested): found through tokenGroups.
    let grantee = lab.group("DirSync Readers H2");
    let middle = lab.group("DirSync Middle H2");
    let mfa = computer(lab, "MFAH2");
    lab.add_member(&grantee, &middle);
    lab.add_member(&middle, &mfa);
    lab.tool(&[
        "dsacl",
        "set",
        "--objectdn",
        BASE,
        "--trusteedn",
        &grantee,
        "--car",
        "get-changes",
        "--action",
        "allow",
    ]);
    let dir = rollout(&[("mfa_fqdn", "mfah2.corp.contoso.com")]);
    let run = check(lab, dir.path(), "mfa.directory-integration", true, ADMIN_PASSWORD);
    let r = run.result("ldap-replication");
    assert_eq!(outcome(r), "pass", "{r:#}");
    assert!(r["evidence"]["granted_to"].as_str().unwrap().starts_with("S-1-5-21-"), "{r:#}");
}
