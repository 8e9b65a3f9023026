//! The network checks against real servers on loopback, started here: nginx with the
//! private CA's certificates and Basic auth on the SDK path (tests/lab), aiosmtpd with and
//! without STARTTLS (tests/lab/smtp.rs), plain TCP listeners for the cloud endpoints, and
//! hostile servers (tests/lab/hostile.rs). Every name is mapped to 127.0.0.1 with
//! `--connect`; nothing here reaches for an outside address.
//!
//! What these protect: each finding of `http-basic`, `https`, `smtp` and `tcp` is distinct
//! and carries a hint; credentials go only to a trusted, matching server; the password
//! never appears in any output or file; a hostile server ends in a finding within the
//! timeout; the sweep costs one timeout, not one per dead host.
#![cfg(unix)]

#[path = "lab/mod.rs"]
mod lab;

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use lab::hostile::{Behaviour, BlackHole, Hostile};
use lab::smtp::{Mode, SmtpLab};
use lab::{SDK_PASSWORD, SDK_USER_QUALIFIED, TlsLab};
use serde_json::Value;

const MFA: &str = "mfa.corp.contoso.com";
const PORTAL: &str = "mfaweb.corp.contoso.com";
const CLOUD: [&str; 3] = ["pfd.phonefactor.net", "pfd2.phonefactor.net", "css.phonefactor.net"];
const PASSWORD_VAR: &str = "MFA_ROLLOUT_SECRET_SDK_PASSWORD";

/// A demo rollout in a temp folder, and the binary run inside it.
struct Rollout {
    dir: tempfile::TempDir,
}

struct Run {
    code: i32,
    json: Value,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Rollout {
    fn demo() -> Rollout {
        let dir = tempfile::tempdir().unwrap();
        let r = Rollout { dir };
        let run = r.run(&["init", "--profile", "demo"], None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        r
    }

    /// Runs the binary; `password` becomes `MFA_ROLLOUT_SECRET_SDK_PASSWORD` (else unset).
    fn run(&self, args: &[&str], password: Option<&str>) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mfa-rollout"));
        cmd.current_dir(self.dir.path()).args(args).env_remove("MFA_ROLLOUT_STATE");
        match password {
            Some(p) => cmd.env(PASSWORD_VAR, p),
            None => cmd.env_remove(PASSWORD_VAR),
        };
        let started = Instant::now();
        let out = cmd.output().unwrap();
        let took = started.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        Run {
            code: out.status.code().unwrap_or(-1),
            json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            took,
        }
    }

    /// `check STEP --format json` with the lab CA trusted and `connect` mappings.
    fn check(&self, step: &str, connect: &[String], ca: &Path, password: Option<&str>) -> Run {
        let ca = ca.display().to_string();
        let mut args = vec!["check", step, "--format", "json", "--timeout", "5", "--ca-file", &ca];
        for c in connect {
            args.extend(["--connect", c.as_str()]);
        }
        let run = self.run(&args, password);
        assert!(run.json.is_object(), "not JSON: {}\n{}", run.stdout, run.stderr);
        run
    }

    fn set(&self, pair: &str) {
        let run = self.run(&["set", pair], None);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }

    /// Every file the rollout wrote (state, backup, journal, log), concatenated.
    fn files(&self) -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(self.dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                all.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
            }
        }
        all
    }
}

fn result(run: &Run) -> &Value {
    &run.json["results"][0]
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn mfa_at(port: u16) -> String {
    format!("{MFA}=127.0.0.1:{port}")
}

#[test]
fn sdk_with_the_right_password_passes_and_the_password_never_leaks() {
    let lab = TlsLab::start();
    let r = Rollout::demo();
    let connect = [mfa_at(lab.port("valid"))];
    let run = r.check("mfa.web-service-sdk", &connect, lab.ca_file(), Some(SDK_PASSWORD));
    let res = result(&run);
    assert_eq!((run.code, text(&res["outcome"])), (0, "pass"), "{res:#}");
    assert_eq!(res["kind"], "http-basic");
    let ev = &res["evidence"];
    assert!(text(&ev["anonymous_status"]).starts_with("401"), "{ev:#}");
    assert!(text(&ev["auth_status"]).starts_with("200"), "{ev:#}");
    assert_eq!(ev["challenge"], "Basic");
    assert_eq!(ev["realm"], lab::SDK_REALM);
    assert_eq!(ev["account"], SDK_USER_QUALIFIED);
    assert_eq!(ev["thumbprint"], lab.thumbprint("valid"));
    assert!(text(&res["summary"]).contains("200 with CORP\\PFWSDK_APP1"), "{res:#}");

    // The portal's view of the SDK is the same check.
    let run2 = r.check("portal.validate-sdk", &connect, lab.ca_file(), Some(SDK_PASSWORD));
    assert_eq!(text(&result(&run2)["outcome"]), "pass", "{:#}", result(&run2));

    // Text, JUnit and every file the rollout keeps: no password, no Basic token.
    let ca = lab.ca_file().display().to_string();
    let text_run = r.run(
        &["check", "mfa.web-service-sdk", "--ca-file", &ca, "--connect", &connect[0]],
        Some(SDK_PASSWORD),
    );
    let junit = r.run(
        &[
            "check",
            "--format",
            "junit",
            "mfa.web-service-sdk",
            "--ca-file",
            &ca,
            "--connect",
            &connect[0],
        ],
        Some(SDK_PASSWORD),
    );
    let export = r.run(&["export", "--format", "json"], None);
    let md = r.run(&["export", "--format", "md"], None);
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{SDK_USER_QUALIFIED}:{SDK_PASSWORD}"));
    let everything = [
        run.stdout.as_str(),
        &run.stderr,
        &run2.stdout,
        &run2.stderr,
        &text_run.stdout,
        &text_run.stderr,
        &junit.stdout,
        &junit.stderr,
        &export.stdout,
        &md.stdout,
        &r.files(),
    ]
    .concat();
    assert!(everything.contains(lab.thumbprint("valid")), "the scan sees the recorded evidence");
    assert!(!everything.contains(SDK_PASSWORD), "the SDK password leaked");
    assert!(!everything.contains(&token), "the Basic credentials leaked");
}

#[test]
fn sdk_with_a_wrong_password_is_a_401_finding() {
    let lab = TlsLab::start();
    let r = Rollout::demo();
    let wrong = "Not-The-Password-99";
    let run =
        r.check("mfa.web-service-sdk", &[mfa_at(lab.port("valid"))], lab.ca_file(), Some(wrong));
    let res = result(&run);
    assert_eq!((run.code, text(&res["outcome"])), (1, "fail"), "{res:#}");
    let summary = text(&res["summary"]);
    assert!(
        summary.contains("401 with CORP\\PFWSDK_APP1") && summary.contains("PhoneFactor Admins"),
        "{summary}"
    );
    assert!(text(&res["hint"]).contains("secret set sdk_password"), "{res:#}");
    assert!(text(&res["evidence"]["auth_status"]).starts_with("401"), "{res:#}");
    assert!(!run.stdout.contains(wrong) && !r.files().contains(wrong), "the wrong password leaked");
}

#[test]
fn sdk_without_a_password_runs_the_anonymous_half_only() {
    let lab = TlsLab::start();
    let r = Rollout::demo();
    // A domain of its own, so no secret another test stored in the keyring is found.
    r.set(&format!("domain=nokey{}.test", std::process::id()));
    let run = r.check("mfa.web-service-sdk", &[mfa_at(lab.port("valid"))], lab.ca_file(), None);
    let res = result(&run);
    assert_eq!((run.code, text(&res["outcome"])), (0, "not-run"), "{res:#}");
    assert!(text(&res["evidence"]["anonymous_status"]).starts_with("401"), "{res:#}");
    let hint = text(&res["hint"]);
    assert!(
        hint.contains("mfa-rollout secret set sdk_password") && hint.contains(PASSWORD_VAR),
        "{hint}"
    );
}

/// One misbehaving SDK server and what the check must say about it.
struct Case {
    server: &'static str,
    ca: bool,
    summary_has: &'static [&'static str],
}

#[test]
fn sdk_misbehaviours_are_distinct_findings_and_get_no_credentials() {
    let lab = TlsLab::start();
    let r = Rollout::demo();
    let cases = [
        Case { server: "sdk-missing", ca: true, summary_has: &["404", "not installed"] },
        Case { server: "sdk-405", ca: true, summary_has: &["405", ".asmx"] },
        Case {
            server: "sdk-redirect",
            ca: true,
            summary_has: &["redirects", "sdk.elsewhere.test"],
        },
        Case { server: "sdk-anonymous", ca: true, summary_has: &["without credentials", "anyone"] },
        Case { server: "sdk-ntlm", ca: true, summary_has: &["no Basic challenge", "NTLM"] },
        Case { server: "sdk-plain-http", ca: true, summary_has: &["plain http"] },
        Case {
            server: "wrongname",
            ca: true,
            summary_has: &["mfa.corp.contoso.com not on the certificate"],
        },
        Case { server: "valid", ca: false, summary_has: &["untrusted"] },
        Case { server: "expired", ca: true, summary_has: &["expired"] },
    ];
    let mut summaries = Vec::new();
    for case in &cases {
        let ca = if case.ca {
            lab.ca_file().to_path_buf()
        } else {
            lab.untrusted_ca_file().to_path_buf()
        };
        let run = r.check(
            "mfa.web-service-sdk",
            &[mfa_at(lab.port(case.server))],
            &ca,
            Some(SDK_PASSWORD),
        );
        let res = result(&run);
        assert_eq!((run.code, text(&res["outcome"])), (1, "fail"), "{}: {res:#}", case.server);
        let summary = text(&res["summary"]);
        for want in case.summary_has {
            assert!(summary.contains(want), "{}: `{want}` not in {summary}", case.server);
        }
        assert!(!text(&res["hint"]).is_empty(), "{}: a hint", case.server);
        assert!(
            text(&res["evidence"]["auth_status"]).starts_with("not tried"),
            "{}: {res:#}",
            case.server
        );
        summaries.push(summary.to_string());
    }
    summaries.sort();
    summaries.dedup();
    assert_eq!(summaries.len(), cases.len(), "each misbehaviour has its own finding");

    // nginx logs the Basic user of every request it got: none of them carried credentials.
    let access = std::fs::read_to_string(lab.dir().join("logs/access.log")).unwrap();
    assert!(access.contains("PfWsSdk.asmx"), "the requests reached nginx:\n{access}");
    assert!(!access.contains("PFWSDK"), "credentials went to a server that failed:\n{access}");
}

#[test]
fn portal_page_answers_over_tls_with_the_portal_name() {
    let lab = TlsLab::start();
    let r = Rollout::demo();
    let portal = [format!("{PORTAL}=127.0.0.1:{}", lab.port("portal"))];
    let run = r.check("portal.settings", &portal, lab.ca_file(), None);
    let res = result(&run);
    assert_eq!((run.code, text(&res["outcome"])), (0, "pass"), "{res:#}");
    assert_eq!(res["kind"], "https");
    assert!(text(&res["evidence"]["status"]).starts_with("200"), "{res:#}");
    assert!(text(&res["evidence"]["redirects"]).contains("/MultiFactorAuth/"), "{res:#}");
    assert!(text(&res["evidence"]["sans"]).contains(PORTAL), "{res:#}");

    // The MFA server's certificate does not name the portal.
    let run = r.check(
        "portal.settings",
        &[format!("{PORTAL}=127.0.0.1:{}", lab.port("valid"))],
        lab.ca_file(),
        None,
    );
    let res = result(&run);
    assert_eq!(text(&res["outcome"]), "fail", "{res:#}");
    assert!(
        text(&res["summary"]).contains("mfaweb.corp.contoso.com not on the certificate"),
        "{res:#}"
    );

    // A portal installed under another virtual directory.
    r.set("portal_vdir=NoSuchPortal");
    let run = r.check("portal.settings", &portal, lab.ca_file(), None);
    let res = result(&run);
    assert_eq!(text(&res["outcome"]), "fail", "{res:#}");
    assert!(text(&res["summary"]).contains("404"), "{res:#}");
    assert!(text(&res["hint"]).contains("portal_vdir"), "{res:#}");
}

fn cloud_connect(ports: [u16; 3]) -> Vec<String> {
    CLOUD.iter().zip(ports).map(|(n, p)| format!("{n}=127.0.0.1:{p}")).collect()
}

fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn cloud_reachability_is_one_result_per_list_with_evidence_per_host() {
    let lab = TlsLab::start();
    let r = Rollout::demo();
    // Listeners that accept and never answer: TCP opens, which is all the check asks.
    let listeners: Vec<TcpListener> =
        (0..3).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let ports: [u16; 3] = std::array::from_fn(|i| listeners[i].local_addr().unwrap().port());
    let run = r.check("mfa.install", &cloud_connect(ports), lab.ca_file(), None);
    let res = result(&run);
    assert_eq!((run.code, text(&res["outcome"])), (0, "pass"), "{res:#}");
    assert_eq!(res["kind"], "tcp");
    for name in CLOUD {
        assert!(text(&res["evidence"][name]).starts_with("open"), "{name}: {res:#}");
    }

    // One refused, one black-holed: one failure naming both, the open one still listed.
    let hole = BlackHole::start();
    let started = Instant::now();
    let run = r.run(
        &[
            "check",
            "mfa.install",
            "--format",
            "json",
            "--timeout",
            "2",
            "--connect",
            &format!("{}=127.0.0.1:{}", CLOUD[0], ports[0]),
            "--connect",
            &format!("{}=127.0.0.1:{}", CLOUD[1], closed_port()),
            "--connect",
            &format!("{}=127.0.0.1:{}", CLOUD[2], hole.port()),
        ],
        None,
    );
    let took = started.elapsed();
    let res = result(&run);
    assert_eq!((run.code, text(&res["outcome"])), (1, "fail"), "{res:#}");
    let summary = text(&res["summary"]);
    assert!(summary.contains("2 of 3 blocked"), "{summary}");
    assert!(summary.contains("pfd2.phonefactor.net (refused)"), "{summary}");
    assert!(summary.contains("css.phonefactor.net (no answer)"), "{summary}");
    assert!(summary.contains("open: pfd.phonefactor.net"), "{summary}");
    assert!(text(&res["hint"]).contains("firewall"), "{res:#}");
    assert!(took < Duration::from_secs(4), "a black hole costs one timeout: {took:?}");
}

#[test]
fn smtp_relay_with_starttls_passes_and_names_its_auth() {
    let lab = TlsLab::start();
    let relay = SmtpLab::start(&lab, Mode::StartTls);
    let r = Rollout::demo();
    let run = r.check("mfa.email-settings", &[relay.connect_arg()], lab.ca_file(), None);
    let res = result(&run);
    assert_eq!((run.code, text(&res["outcome"])), (0, "pass"), "{res:#}\n{}", run.stderr);
    assert_eq!(res["kind"], "smtp");
    let ev = &res["evidence"];
    assert!(text(&ev["extensions"]).contains("STARTTLS"), "{ev:#}");
    assert!(!text(&ev["extensions"]).contains("AUTH"), "AUTH only after TLS: {ev:#}");
    assert_eq!(ev["auth"], "LOGIN PLAIN");
    assert_eq!(ev["subject_cn"], lab::smtp::SMTP_HOST);
    assert!(text(&ev["mail_from"]).starts_with("250"), "{ev:#}");
    assert!(text(&ev["tls_version"]).starts_with("TLSv1"), "{ev:#}");

    // The same relay without the lab CA: the certificate is judged as the tls check does.
    let run = r.check("mfa.email-settings", &[relay.connect_arg()], lab.untrusted_ca_file(), None);
    let res = result(&run);
    assert_eq!((run.code, text(&res["outcome"])), (1, "fail"), "{res:#}");
    assert!(text(&res["summary"]).contains("untrusted"), "{res:#}");
}

#[test]
fn smtp_relay_without_starttls_or_refusing_the_sender_is_a_finding() {
    let lab = TlsLab::start();
    let r = Rollout::demo();

    let plain = SmtpLab::start(&lab, Mode::Plain);
    let run = r.check("mfa.email-settings", &[plain.connect_arg()], lab.ca_file(), None);
    let res = result(&run);
    assert_eq!((run.code, text(&res["outcome"])), (1, "fail"), "{res:#}");
    assert!(text(&res["summary"]).contains("does not offer STARTTLS"), "{res:#}");
    assert!(text(&res["hint"]).contains("enable TLS"), "{res:#}");

    let refusing = SmtpLab::start(&lab, Mode::RefuseSender);
    let run = r.check("mfa.email-settings", &[refusing.connect_arg()], lab.ca_file(), None);
    let res = result(&run);
    assert_eq!(
        (run.code, text(&res["outcome"])),
        (1, "fail"),
        "a refusal is a finding, not an error: {res:#}"
    );
    let summary = text(&res["summary"]);
    assert!(
        summary.contains("refuses the sender mfa-noreply@corp.contoso.com")
            && summary.contains("550"),
        "{summary}"
    );

    // Nothing listening: a failure, not an error.
    let run = r.check(
        "mfa.email-settings",
        &[format!("{}=127.0.0.1:{}", lab::smtp::SMTP_HOST, closed_port())],
        lab.ca_file(),
        None,
    );
    assert_eq!(text(&result(&run)["outcome"]), "fail", "{:#}", result(&run));
}

/// Runs the check of `step` with `name` sent to a hostile server; returns the result and
/// the wall time. `--timeout 2`: every case must end well inside 2 s + start-up.
fn against(lab: &TlsLab, step: &str, name: &str, port: u16) -> (Value, Duration) {
    let r = Rollout::demo();
    let connect = [format!("{name}=127.0.0.1:{port}")];
    let ca = lab.ca_file().display().to_string();
    let run = r.run(
        &[
            "check",
            step,
            "--format",
            "json",
            "--timeout",
            "2",
            "--ca-file",
            &ca,
            "--connect",
            &connect[0],
        ],
        Some(SDK_PASSWORD),
    );
    assert!(run.json.is_object(), "{}\n{}", run.stdout, run.stderr);
    (result(&run).clone(), run.took)
}

#[test]
fn hostile_servers_get_a_finding_within_the_timeout() {
    let lab = TlsLab::start();
    let smtp = lab::smtp::SMTP_HOST;
    let cases: [(Behaviour, &str, &str, &str, &str); 8] = [
        (Behaviour::Silent, "mfa.web-service-sdk", MFA, "error", "sent nothing"),
        (Behaviour::TrickleTls, "mfa.web-service-sdk", MFA, "fail", "too slowly"),
        (Behaviour::ResetMidHandshake, "mfa.web-service-sdk", MFA, "fail", "reset the connection"),
        (Behaviour::HugeChain, "mfa.web-service-sdk", MFA, "fail", "certificate chain is larger"),
        (Behaviour::EndlessHeaders, "mfa.web-service-sdk", MFA, "fail", "headers"),
        (Behaviour::TrickleHttp, "mfa.web-service-sdk", MFA, "fail", "too slowly"),
        (Behaviour::EndlessSmtpReply, "mfa.email-settings", smtp, "fail", "exceeds the limits"),
        (Behaviour::TrickleSmtp, "mfa.email-settings", smtp, "fail", "too slowly"),
    ];
    for (behaviour, step, name, outcome, summary_has) in cases {
        let server = Hostile::start(behaviour, &lab);
        let (res, took) = against(&lab, step, name, server.port());
        assert_eq!(text(&res["outcome"]), outcome, "{behaviour:?}: {res:#}");
        assert!(text(&res["summary"]).contains(summary_has), "{behaviour:?}: {res:#}");
        assert!(!text(&res["hint"]).is_empty(), "{behaviour:?}: a hint");
        assert!(took < Duration::from_secs(4), "{behaviour:?} took {took:?} with --timeout 2");
        if matches!(behaviour, Behaviour::EndlessHeaders | Behaviour::EndlessSmtpReply) {
            // The client stopped reading long before the server ran out of bytes to send.
            assert!(
                server.written() < 64 * 1024 * 1024,
                "{behaviour:?}: {} bytes",
                server.written()
            );
        }
        eprintln!(
            "{behaviour:?}: {} in {took:?}: {}",
            text(&res["outcome"]),
            text(&res["summary"])
        );
    }
}

#[test]
fn a_flood_is_read_in_bounded_memory() {
    // Under a 1 GiB address-space limit a client that kept what a flooding server sends
    // (up to 4 GiB) would die; the bounded client reads at most a few hundred KiB.
    let lab = TlsLab::start();
    let r = Rollout::demo();
    for (behaviour, step, name) in [
        (Behaviour::EndlessHeaders, "mfa.web-service-sdk", MFA),
        (Behaviour::EndlessSmtpReply, "mfa.email-settings", lab::smtp::SMTP_HOST),
    ] {
        let server = Hostile::start(behaviour, &lab);
        let connect = format!("{name}=127.0.0.1:{}", server.port());
        let out = Command::new("sh")
            .current_dir(r.dir.path())
            .args([
                "-c",
                "ulimit -v 1048576 && exec \"$@\"",
                "sh",
                env!("CARGO_BIN_EXE_mfa-rollout"),
            ])
            .args(["check", step, "--format", "json", "--timeout", "5", "--connect", &connect])
            .env_remove(PASSWORD_VAR)
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{behaviour:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(json["results"][0]["outcome"], "fail", "{behaviour:?}: {json:#}");
    }
}

#[test]
fn the_sweep_runs_every_check_at_once_and_a_dead_host_costs_one_timeout() {
    let lab = TlsLab::start();
    let r = Rollout::demo();
    // Keep every check of the sweep on this machine: no DNS server, directory or relay
    // outside it, whatever checks other steps have.
    r.set("dns_server=");
    let listeners: Vec<TcpListener> =
        (0..2).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let hole = BlackHole::start();
    let silent = Hostile::start(Behaviour::Silent, &lab);
    let ca = lab.ca_file().display().to_string();
    let connects = [
        mfa_at(lab.port("valid")),
        format!("app1.corp.contoso.com=127.0.0.1:{}", lab.port("portal")),
        // The portal name goes to a server that accepts and never answers.
        format!("{PORTAL}=127.0.0.1:{}", silent.port()),
        format!("{}=127.0.0.1:{}", CLOUD[0], listeners[0].local_addr().unwrap().port()),
        format!("{}=127.0.0.1:{}", CLOUD[1], listeners[1].local_addr().unwrap().port()),
        // And one cloud endpoint black-holes its SYNs.
        format!("{}=127.0.0.1:{}", CLOUD[2], hole.port()),
    ];
    let mut args = vec!["check", "--format", "json", "--timeout", "3", "--ca-file", &ca];
    for c in &connects {
        args.extend(["--connect", c.as_str()]);
    }
    let run = r.run(&args, Some(SDK_PASSWORD));
    let results = run.json["results"].as_array().unwrap_or_else(|| panic!("{}", run.stderr));
    let by_step = |step: &str| {
        results
            .iter()
            .find(|x| x["step"] == step)
            .unwrap_or_else(|| panic!("{step} ran: {results:#?}"))
    };
    for step in ["primary.cert", "mfa.web-service-sdk", "portal.validate-sdk"] {
        assert_eq!(by_step(step)["outcome"], "pass", "{:#}", by_step(step));
    }
    assert_eq!(by_step("mfa.install")["outcome"], "fail");
    assert_eq!(by_step("portal.settings")["outcome"], "error");
    assert_eq!(run.code, 2);
    // Two dead hosts, several checks each bounded by 3 s: together still about one timeout.
    assert!(run.took < Duration::from_secs(5), "the sweep took {:?}", run.took);
    let slowest = results.iter().filter_map(|x| x["duration_ms"].as_u64()).max().unwrap();
    eprintln!(
        "sweep of {} checks: {:?}; slowest single check {slowest} ms",
        results.len(),
        run.took
    );
}
