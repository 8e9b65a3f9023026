//! The OS keyring for real: on Linux the kernel keyring (keyutils), inside a fresh
//! session keyring made by `keyctl session -` for each scenario, so the tests touch no
//! one's keys and need no login session. `secret set` stores the secret from standard
//! input; a check then reads it back from the keyring (no environment variable) and uses
//! it against the TLS lab's Basic-auth SDK endpoint: a 200 proves the round trip.
#![cfg(target_os = "linux")]

#[path = "lab/mod.rs"]
mod lab;

use std::path::Path;
use std::process::Command;

use lab::{SDK_PASSWORD, TlsLab};
use serde_json::Value;

/// Runs `script` under `sh` in a new anonymous session keyring; `$BIN` is the binary,
/// `$PW` the password to store. The store also links keys into the user's persistent
/// keyring, so the script ends by invalidating every key it stored (`$FORGET`).
/// Returns (exit code, stdout, stderr).
fn in_session(dir: &Path, script: &str, pw: &str) -> (i32, String, String) {
    let domain = domain_of(dir);
    let forget = ["sdk_password", "ldap_password"]
        .map(|n| {
            format!(
                "k=$(keyctl search @s user 'keyring:{domain}/{n}@mfa-rollout' 2>/dev/null) && keyctl invalidate $k"
            )
        })
        .join("; ");
    let script = format!("{script}\nrc=$?\n{forget}\nexit $rc");
    let out = Command::new("keyctl")
        .args(["session", "-", "sh", "-c", &script])
        .current_dir(dir)
        .env("BIN", env!("CARGO_BIN_EXE_mfa-rollout"))
        .env("PW", pw)
        .env_remove("MFA_ROLLOUT_STATE")
        .env_remove("MFA_ROLLOUT_SECRET_SDK_PASSWORD")
        .env_remove("MFA_ROLLOUT_SECRET_LDAP_PASSWORD")
        .output()
        .expect("keyctl (package keyutils) must be installed");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The rollout's domain (each test has its own, so parallel tests never share a key).
fn domain_of(dir: &Path) -> String {
    let state = std::fs::read_to_string(dir.join("mfa-rollout.toml")).unwrap();
    let line = state.lines().find(|l| l.starts_with("domain = ")).unwrap();
    line.trim_start_matches("domain = ").trim_matches('"').to_string()
}

fn demo(domain: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mfa-rollout"))
        .current_dir(dir.path())
        .args(["init", "--profile", "demo", "--set", &format!("domain={domain}")])
        .env_remove("MFA_ROLLOUT_STATE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir
}

fn files(dir: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            all.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    all
}

fn check_script(lab: &TlsLab) -> String {
    format!(
        "\"$BIN\" check mfa.web-service-sdk --format json --timeout 5 --ca-file '{}' --connect 'mfa.corp.contoso.com=127.0.0.1:{}'",
        lab.ca_file().display(),
        lab.port("valid")
    )
}

#[test]
fn secret_round_trip_through_the_kernel_keyring() {
    let lab = TlsLab::start();
    let dir = demo("kr1.contoso.test");
    let script = format!(
        "printf '%s\\n' \"$PW\" | \"$BIN\" secret set sdk_password >&2 && keyctl show @s >&2 && {}",
        check_script(&lab)
    );
    let (code, stdout, stderr) = in_session(dir.path(), &script, SDK_PASSWORD);
    assert!(stderr.contains("stored sdk_password for kr1.contoso.test"), "{stderr}");
    assert!(stderr.contains("mfa-rollout"), "no key in the session keyring:\n{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    let r = &json["results"][0];
    assert_eq!((code, r["outcome"].as_str()), (0, Some("pass")), "{r:#}\n{stderr}");
    assert!(r["evidence"]["auth_status"].as_str().unwrap_or_default().starts_with("200"), "{r:#}");
    for text in [&stdout, &stderr, &files(dir.path())] {
        assert!(!text.contains(SDK_PASSWORD), "the secret leaked:\n{text}");
    }
}

#[test]
fn a_wrong_stored_secret_is_refused_and_overwritten_by_the_next_set() {
    let lab = TlsLab::start();
    let dir = demo("kr2.contoso.test");
    let wrong = "Wrong-Stored.Passw0rd";
    // Set a wrong one, check (401), set the right one in the same session, check (200).
    let script = format!(
        "printf '%s' 'Wrong-Stored.Passw0rd' | \"$BIN\" secret set sdk_password >&2; {c}; echo '@@'; \
         printf '%s' \"$PW\" | \"$BIN\" secret set sdk_password >&2; {c}",
        c = check_script(&lab)
    );
    let (code, stdout, stderr) = in_session(dir.path(), &script, SDK_PASSWORD);
    let (first, second) = stdout.split_once("@@").unwrap_or_else(|| panic!("{stdout}\n{stderr}"));
    let first: Value = serde_json::from_str(first.trim()).unwrap_or(Value::Null);
    let second: Value = serde_json::from_str(second.trim()).unwrap_or(Value::Null);
    assert_eq!(first["results"][0]["outcome"], "fail", "{first:#}\n{stderr}");
    assert_eq!((code, second["results"][0]["outcome"].as_str()), (0, Some("pass")), "{second:#}");
    for text in [&stdout, &stderr, &files(dir.path())] {
        assert!(!text.contains(SDK_PASSWORD) && !text.contains(wrong), "a secret leaked:\n{text}");
    }
}

#[test]
fn an_empty_secret_stores_nothing() {
    let dir = demo("kr3.contoso.test");
    let (code, _, stderr) =
        in_session(dir.path(), "printf '' | \"$BIN\" secret set ldap_password", "");
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("empty"), "{stderr}");
}

#[test]
fn keys_do_not_outlive_the_test() {
    let dir = demo("kr4.contoso.test");
    let (code, _, stderr) =
        in_session(dir.path(), "printf 'x-Secret-4' | \"$BIN\" secret set ldap_password", "");
    assert_eq!(code, 0, "{stderr}");
    // A new session, same user: the persistent keyring no longer holds it.
    let (_, stdout, _) = in_session(
        dir.path(),
        "keyctl search @s user 'keyring:kr4.contoso.test/ldap_password@mfa-rollout' || echo gone",
        "",
    );
    assert!(stdout.contains("gone"), "{stdout}");
}
