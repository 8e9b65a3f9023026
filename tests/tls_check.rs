//! The `tls` check against a real nginx with certificates made by openssl at test time
//! (tests/lab): valid, expiring in 20 days, expired, wrong name, untrusted, and the
//! portal certificate with two names. The thumbprint must be what openssl prints, and
//! the evidence must land in the state.
#![cfg(unix)]

#[path = "lab/mod.rs"]
mod lab;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn bin(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mfa-rollout"))
        .current_dir(dir)
        .args(args)
        .env_remove("MFA_ROLLOUT_STATE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned() + &stdout,
    )
}

fn rollout(mfa: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let set = format!("mfa_fqdn={mfa}");
    let (code, _, text) = bin(dir.path(), &["init", "--profile", "demo", "--set", &set]);
    assert_eq!(code, 0, "{text}");
    dir
}

/// Runs the check of `step` with the lab's CA trusted and the name sent to `port`.
fn check(
    dir: &Path,
    step: &str,
    name: &str,
    port: u16,
    trust_lab: bool,
    ca: &Path,
) -> (i32, Value) {
    let connect = format!("{name}=127.0.0.1:{port}");
    let mut args = vec!["check", step, "--format", "json", "--connect", &connect, "--timeout", "5"];
    let ca = ca.display().to_string();
    if trust_lab {
        args.extend(["--ca-file", &ca]);
    }
    let (code, json, text) = bin(dir, &args);
    assert!(json.is_object(), "not JSON: {text}");
    (code, json)
}

fn first(json: &Value) -> &Value {
    &json["results"][0]
}

/// One certificate and what the check must make of it.
struct Case {
    cert: &'static str,
    trust: bool,
    outcome: &'static str,
    code: i32,
    summary_has: &'static str,
}

#[test]
fn tls_findings_against_real_certificates() {
    let lab = lab::TlsLab::start();
    let ca = lab.ca_file().to_path_buf();

    let cases = [
        Case {
            cert: "valid",
            trust: true,
            outcome: "pass",
            code: 0,
            summary_has: "valid, trusted",
        },
        Case { cert: "valid", trust: false, outcome: "fail", code: 1, summary_has: "untrusted" },
        Case {
            cert: "expiring",
            trust: true,
            outcome: "warn",
            code: 0,
            summary_has: "expires in 20 day",
        },
        Case {
            cert: "expired",
            trust: true,
            outcome: "fail",
            code: 1,
            summary_has: "expired 10 day",
        },
        Case { cert: "untrusted", trust: true, outcome: "fail", code: 1, summary_has: "untrusted" },
    ];
    for case in cases {
        let host = lab.host(case.cert);
        let dir = rollout(host);
        let (code, json) =
            check(dir.path(), "primary.cert", host, lab.port(case.cert), case.trust, &ca);
        let r = first(&json);
        assert_eq!(r["outcome"], case.outcome, "{}: {r:#}", case.cert);
        assert_eq!(code, case.code, "{}: exit code", case.cert);
        assert!(r["summary"].as_str().unwrap().contains(case.summary_has), "{}: {r:#}", case.cert);
        assert_eq!(
            r["evidence"]["thumbprint"],
            lab.thumbprint(case.cert),
            "{}: thumbprint",
            case.cert
        );
        let serial = lab.serial(case.cert).trim_start_matches('0');
        assert_eq!(
            r["evidence"]["serial"].as_str().unwrap().trim_start_matches('0'),
            serial,
            "{}",
            case.cert
        );
        if case.outcome != "pass" {
            assert!(
                !r["hint"].as_str().unwrap_or_default().is_empty(),
                "{}: a hint for anything short of pass",
                case.cert
            );
        }
    }
}

#[test]
fn wrong_name_is_a_failure_that_names_the_missing_name() {
    let lab = lab::TlsLab::start();
    let dir = rollout("mfa.corp.contoso.com");
    let (code, json) = check(
        dir.path(),
        "primary.cert",
        "mfa.corp.contoso.com",
        lab.port("wrongname"),
        true,
        lab.ca_file(),
    );
    let r = first(&json);
    assert_eq!((code, r["outcome"].as_str().unwrap()), (1, "fail"), "{r:#}");
    let summary = r["summary"].as_str().unwrap();
    assert!(summary.contains("mfa.corp.contoso.com not on the certificate"), "{summary}");
    assert!(summary.contains("other.example.net"), "{summary}");
    assert_eq!(r["evidence"]["subject_cn"], "other.example.net");
    assert!(r["evidence"]["name_match"].as_str().unwrap().starts_with("no"));
}

#[test]
fn portal_certificate_needs_both_names_and_evidence_is_stored() {
    let lab = lab::TlsLab::start();
    let dir = rollout("mfa.corp.contoso.com");
    // The demo portal host is app1.corp.contoso.com and the portal name mfaweb: both on the lab's portal certificate.
    let (code, json) = check(
        dir.path(),
        "portal.cert",
        "app1.corp.contoso.com",
        lab.port("portal"),
        true,
        lab.ca_file(),
    );
    let r = first(&json);
    assert_eq!((code, r["outcome"].as_str().unwrap()), (0, "pass"), "{r:#}");
    assert_eq!(r["evidence"]["sans"], "app1.corp.contoso.com, mfaweb.corp.contoso.com");

    let state = std::fs::read_to_string(dir.path().join("mfa-rollout.toml")).unwrap();
    assert!(state.contains(lab.thumbprint("portal")), "the evidence is in the state file");
    let (_, steps, _) = bin(dir.path(), &["steps", "--format", "json"]);
    let step = steps.as_array().unwrap().iter().find(|s| s["key"] == "portal.cert").unwrap();
    assert_eq!(step["status"], "verified");
    let (_, _, shown) = bin(dir.path(), &["show", "portal.cert"]);
    assert!(shown.contains(lab.thumbprint("portal")), "{shown}");

    // A portal host whose certificate lacks the portal name fails on that name.
    let (code, _, text) = bin(dir.path(), &["set", "portal_fqdn=mfaportal.corp.contoso.com"]);
    assert_eq!(code, 0, "{text}");
    let (code, json) = check(
        dir.path(),
        "portal.cert",
        "app1.corp.contoso.com",
        lab.port("portal"),
        true,
        lab.ca_file(),
    );
    assert_eq!(code, 1);
    assert!(
        first(&json)["summary"]
            .as_str()
            .unwrap()
            .contains("mfaportal.corp.contoso.com not on the certificate")
    );
    let (_, steps, _) = bin(dir.path(), &["steps", "--format", "json"]);
    let step = steps.as_array().unwrap().iter().find(|s| s["key"] == "portal.cert").unwrap();
    assert_eq!(step["status"], "failed");
}

#[test]
fn phase_check_runs_every_tls_check_and_reports_junit() {
    let lab = lab::TlsLab::start();
    let dir = rollout("mfa.corp.contoso.com");
    let mfa = lab.connect_arg("valid");
    let portal_host = format!("app1.corp.contoso.com=127.0.0.1:{}", lab.port("portal"));
    let portal = format!("mfaweb.corp.contoso.com=127.0.0.1:{}", lab.port("portal"));
    let ca = lab.ca_file().display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_mfa-rollout"))
        .current_dir(dir.path())
        .args([
            "check",
            // The four steps with a `tls` check; the whole sweep, with the other network
            // checks, is tested in tests/net_checks.rs.
            "primary.cert",
            "primary.iis-binding",
            "portal.cert",
            "portal.iis-binding",
            "--format",
            "junit",
            "--ca-file",
            &ca,
            "--connect",
            &mfa,
            "--connect",
            &portal_host,
        ])
        .args(["--connect", &portal])
        .output()
        .unwrap();
    let xml = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{xml}");
    // Each step also has a Windows probe, which reports not-run (skipped) off Windows.
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    let ran: Vec<_> =
        cases.iter().filter(|c| !c.children().any(|x| x.has_tag_name("skipped"))).collect();
    assert_eq!(ran.len(), 4, "the four TLS checks ran: {xml}");
    assert!(
        ran.iter()
            .all(|c| !c.children().any(|x| x.has_tag_name("failure") || x.has_tag_name("error"))),
        "every TLS check passes: {xml}"
    );
    assert!(xml.contains("failures=\"0\""), "{xml}");
    assert!(xml.contains("errors=\"0\""), "{xml}");
}
