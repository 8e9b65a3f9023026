//! The command line contract (DESIGN.md, "CLI contract"), exercised on the real binary in
//! temporary folders: exit codes, JSON keys, refusals that name what is wrong, and files
//! that a refused command leaves byte for byte as they were.

use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mfa-rollout");

/// A folder holding one rollout at `rollout.toml`.
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// A lab with a `demo` rollout already created.
    fn demo(sets: &[&str]) -> Self {
        let lab = Self::new();
        let mut args = vec!["init", "--profile", "demo"];
        for s in sets {
            args.extend(["--set", s]);
        }
        lab.ok(&args);
        lab
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("rollout.toml")
    }

    fn sibling(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn journal(&self) -> PathBuf {
        self.sibling("rollout.journal.jsonl")
    }

    /// The binary, run in the lab folder against its state, with a clean environment.
    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(self.dir.path())
            .env_remove("MFA_ROLLOUT_STATE")
            .env_remove("MFA_ROLLOUT_LOG")
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .arg("--state")
            .arg(self.state())
            .timeout(Duration::from_secs(60));
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run mfa-rollout")
    }

    /// Runs and expects exit code `code`; returns (stdout, stderr).
    fn code(&self, code: i32, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        let (stdout, stderr) = texts(&out);
        assert_eq!(
            out.status.code(),
            Some(code),
            "mfa-rollout {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        (stdout, stderr)
    }

    fn ok(&self, args: &[&str]) -> String {
        self.code(0, args).0
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}):\n{out}"))
    }
}

fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> =
        v.as_object().expect("a JSON object").keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

fn assert_keys(v: &Value, want: &[&str], what: &str) {
    let mut want = want.to_vec();
    want.sort_unstable();
    assert_eq!(keys(v), want, "{what}: {v}");
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().unwrap().port()
}

#[test]
fn help_is_stable() {
    let out = Command::new(BIN)
        .arg("--help")
        .env_remove("MFA_ROLLOUT_STATE")
        .env("COLUMNS", "100")
        .output()
        .expect("run --help");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("UTF-8 help");
    assert!(text.contains("mfa-rollout.toml"), "the help names the default state path");
    insta::assert_snapshot!("help", text);
}

#[test]
fn wrong_flags_and_commands_exit_2() {
    let lab = Lab::demo(&[]);
    for args in [
        &["status", "--bogus"][..],
        &["frobnicate"],
        &["status", "--format", "yaml"],
        &["check", "--timeout", "0"],
        &["attest"],
    ] {
        let (_, stderr) = lab.code(2, args);
        assert!(!stderr.trim().is_empty(), "{args:?} says why");
    }
}

#[test]
fn init_then_listings_are_json_with_the_documented_keys() {
    let lab = Lab::new();
    let out = lab.ok(&["init", "--profile", "demo"]);
    assert!(out.contains("created") && out.contains("demo"), "{out}");
    assert!(lab.state().is_file() && lab.journal().is_file());

    let status = lab.json(&["status", "--format", "json"]);
    assert_keys(
        &status,
        &[
            "rollout",
            "profile",
            "state_file",
            "log_file",
            "total",
            "closed",
            "phases",
            "next",
            "missing_values",
        ],
        "status",
    );
    assert_eq!(status["profile"], "demo");
    assert_eq!(status["state_file"], lab.state().display().to_string());
    assert_eq!(status["next"], "primary.cert");
    assert_eq!(status["missing_values"], serde_json::json!([]));
    let phases = status["phases"].as_array().expect("phases");
    assert!(phases.len() >= 5, "{phases:?}");
    assert_eq!(phases[0]["id"], "primary");
    for p in phases {
        assert_keys(
            p,
            &["id", "title", "role", "total", "closed", "failed", "in_progress"],
            "status phase",
        );
    }
    let total: u64 = phases.iter().map(|p| p["total"].as_u64().unwrap()).sum();
    assert_eq!(status["total"].as_u64(), Some(total));

    let steps = lab.json(&["steps", "--format", "json"]);
    let steps = steps.as_array().expect("steps is an array");
    assert_eq!(steps.len() as u64, total);
    for s in steps {
        assert_keys(s, &["key", "id", "phase", "server", "title", "status", "by", "at"], "step");
    }
    let find = |key: &str| {
        steps.iter().find(|s| s["key"] == key).unwrap_or_else(|| panic!("no step {key}"))
    };
    assert_eq!(find("primary.cert")["status"], "pending");
    assert_eq!(find("primary.cert")["server"], Value::Null);
    assert_eq!(find("mfa.email-settings")["status"], "n/a");
    let secondary = find("secondary.install@mfa2.corp.contoso.com");
    assert_eq!(
        (&secondary["id"], &secondary["server"]),
        (&"secondary.install".into(), &"mfa2.corp.contoso.com".into())
    );

    let vars = lab.json(&["vars", "--format", "json"]);
    let vars = vars.as_array().expect("vars is an array");
    for v in vars {
        assert_keys(
            v,
            &["name", "kind", "list", "optional", "value", "origin", "description"],
            "var",
        );
    }
    let var = |name: &str| {
        vars.iter().find(|v| v["name"] == name).unwrap_or_else(|| panic!("no variable {name}"))
    };
    assert_eq!(var("mfa_fqdn")["value"], "mfa.corp.contoso.com");
    assert_eq!(var("mfa_fqdn")["origin"], "set");
    assert_eq!(var("mfa_secondaries")["value"], serde_json::json!(["mfa2.corp.contoso.com"]));
    assert_eq!(var("sdk_url")["origin"], "derived");
    assert_eq!(
        var("sdk_url")["value"],
        "https://mfa.corp.contoso.com/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx"
    );

    // Text forms work too.
    assert!(lab.ok(&["status"]).contains("primary"));
    assert!(lab.ok(&["steps"]).contains("primary.cert"));
    assert!(lab.ok(&["vars"]).contains("mfa_fqdn"));
}

#[test]
fn default_state_path_and_env() {
    let lab = Lab::new();
    // No --state: ./mfa-rollout.toml in the working folder.
    let run = |env: Option<&str>, args: &[&str]| {
        let mut c = Command::new(BIN);
        c.current_dir(lab.dir.path()).env_remove("MFA_ROLLOUT_STATE").args(args);
        if let Some(e) = env {
            c.env("MFA_ROLLOUT_STATE", e);
        }
        c.output().unwrap()
    };
    assert_eq!(run(None, &["init", "--profile", "demo"]).status.code(), Some(0));
    assert!(lab.sibling("mfa-rollout.toml").is_file());
    assert!(lab.sibling("mfa-rollout.journal.jsonl").is_file());
    let other = lab.sibling("elsewhere.toml");
    assert_eq!(
        run(Some(other.to_str().unwrap()), &["init", "--profile", "lab"]).status.code(),
        Some(0)
    );
    assert!(other.is_file());
    let out = run(Some(other.to_str().unwrap()), &["status", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["profile"], "lab");
}

#[test]
fn init_twice_is_refused_unless_forced() {
    let lab = Lab::demo(&[]);
    let before = read(&lab.state());
    let (_, err) = lab.code(2, &["init", "--profile", "lab"]);
    assert!(err.contains("already holds a rollout") && err.contains("--force"), "{err}");
    assert_eq!(read(&lab.state()), before, "a refused init changes nothing");

    let (_, err) = lab
        .code(0, &["init", "--profile", "lab", "--force", "--set", "mfa_fqdn=mfa.lab.example.org"]);
    assert!(err.contains("kept the previous journal"), "{err}");
    assert_eq!(
        read(&lab.sibling("rollout.toml.bak")),
        before,
        "the replaced rollout is kept as .bak"
    );
    assert_eq!(lab.json(&["status", "--format", "json"])["profile"], "lab");
    assert_eq!(lab.ok(&["verify"]).lines().count(), 1);
}

#[test]
fn unknown_profile_names_the_profiles() {
    let lab = Lab::new();
    let (_, err) = lab.code(2, &["init", "--profile", "staging"]);
    for word in ["staging", "demo", "lab", "production"] {
        assert!(err.contains(word), "`{word}` missing from: {err}");
    }
    assert!(!lab.state().exists());
}

#[test]
fn bad_values_are_refused_with_the_reason() {
    let lab = Lab::new();
    let (_, err) =
        lab.code(2, &["init", "--profile", "demo", "--set", "portal_address=10.0.0.256"]);
    assert!(err.contains("portal_address") && err.contains("IPv4"), "{err}");
    assert!(!lab.state().exists(), "no rollout from a refused init");
    let (_, err) = lab.code(2, &["init", "--profile", "demo", "--set", "portal_address"]);
    assert!(err.contains("KEY=VALUE"), "{err}");

    lab.ok(&["init", "--profile", "demo"]);
    let (state, journal) = (read(&lab.state()), read(&lab.journal()));
    for (pair, words) in [
        ("portal_address=10.0.0.256", &["portal_address", "IPv4"][..]),
        ("mfa_fqdn=mfa", &["mfa_fqdn", "fully qualified"]),
        ("sync_group=Windows Hello for Business Users", &["sync_group", "whfb_group"]),
        ("colour=red", &["colour", "not a variable"]),
        ("renewal_lead_days=1000", &["at most 365"]),
        ("=x", &["KEY=VALUE"]),
    ] {
        let (_, err) = lab.code(2, &["set", pair]);
        for w in words {
            assert!(err.contains(w), "set {pair}: `{w}` missing from: {err}");
        }
        assert_eq!(
            (read(&lab.state()), read(&lab.journal())),
            (state.clone(), journal.clone()),
            "set {pair} changed files"
        );
    }
    let out = lab.ok(&[
        "set",
        "portal_address=10.9.8.7",
        "mfa_secondaries=mfa2.corp.contoso.com,mfa3.corp.contoso.com",
    ]);
    assert!(out.contains("portal_address = 10.9.8.7"), "{out}");
    assert!(out.contains("mfa2.corp.contoso.com, mfa3.corp.contoso.com"), "{out}");
}

#[test]
fn show_fills_in_the_values() {
    let lab = Lab::demo(&["mfa_fqdn=mfa7.branch.example.org"]);
    let out = lab.ok(&["show", "primary.cert"]);
    assert!(out.contains("mfa7.branch.example.org"), "{out}");
    assert!(out.contains("CN=mfa7.branch.example.org"), "the command has the value: {out}");
    assert!(!out.contains("${mfa_fqdn}"), "{out}");
    let (_, err) = lab.code(2, &["show", "primary.nope"]);
    assert!(err.contains("primary.nope") && err.contains("mfa-rollout steps"), "{err}");
    // Repeated steps by short host name.
    assert!(lab.ok(&["show", "secondary.install@mfa2"]).contains("mfa2.corp.contoso.com"));
}

#[test]
fn attest_log_verify() {
    let lab = Lab::demo(&[]);
    let out = lab.ok(&[
        "attest",
        "primary.cert",
        "--note",
        "enrolled via certlm",
        "--evidence",
        "serial=1A2B",
        "--evidence",
        "thumbprint=AB12CD",
    ]);
    assert_eq!(out.trim(), "primary.cert: done");
    assert_eq!(lab.ok(&["start", "primary.iis-role"]).trim(), "primary.iis-role: in-progress");
    assert_eq!(
        lab.ok(&["skip", "primary.updates", "--reason", "WSUS handles it"]).trim(),
        "primary.updates: skipped"
    );
    assert_eq!(lab.ok(&["reset", "primary.iis-role"]).trim(), "primary.iis-role: pending");

    let (_, err) = lab.code(2, &["skip", "primary.iis-binding"]);
    assert!(err.contains("--reason"), "{err}");
    let (_, err) = lab.code(2, &["attest", "primary.cert", "--evidence", "colour=red"]);
    assert!(err.contains("colour") && err.contains("serial"), "{err}");
    let (_, err) = lab.code(2, &["attest", "primary.cert", "--evidence", "serial"]);
    assert!(err.contains("KEY=VALUE"), "{err}");

    let log = lab.ok(&["log"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 5, "{log}");
    assert!(lines[0].contains("created from the demo profile"), "{log}");
    assert!(
        lines[1].contains("primary.cert: pending → done")
            && lines[1].contains("\"enrolled via certlm\""),
        "{log}"
    );
    assert!(
        lines[3].contains("primary.updates: pending → skipped")
            && lines[3].contains("WSUS handles it"),
        "{log}"
    );
    assert!(lines[4].contains("primary.iis-role: in-progress → pending"), "{log}");

    let json = lab.json(&["log", "--format", "json"]);
    let entries = json.as_array().unwrap();
    assert_eq!(entries.len(), 5);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["seq"].as_u64(), Some(i as u64 + 1));
        for k in ["user", "host", "at", "action", "prev"] {
            assert!(e.get(k).is_some(), "entry {i} lacks {k}: {e}");
        }
    }
    assert_eq!(entries[1]["action"]["evidence"]["serial"], "1A2B");

    let out = lab.ok(&["verify"]);
    assert!(out.contains("journal intact") && out.contains("5 entries"), "{out}");

    let steps = lab.json(&["steps", "--format", "json"]);
    let cert = steps.as_array().unwrap().iter().find(|s| s["key"] == "primary.cert").unwrap();
    assert_eq!(cert["status"], "done");
    assert!(cert["by"].is_string() && cert["at"].is_string(), "{cert}");
}

#[test]
fn tampered_journal_fails_verify_naming_the_line() {
    let lab = Lab::demo(&[]);
    lab.ok(&["attest", "primary.cert", "--note", "first"]);
    lab.ok(&["attest", "primary.iis-role", "--note", "second"]);
    let text = std::fs::read_to_string(lab.journal()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);

    // One character of the middle line's content.
    let middle = lines[1].replacen("first", "firsT", 1);
    assert_ne!(middle, lines[1]);
    std::fs::write(lab.journal(), format!("{}\n{middle}\n{}\n", lines[0], lines[2])).unwrap();
    let (out, _) = lab.code(1, &["verify"]);
    assert!(out.contains("BROKEN"), "{out}");
    assert!(out.contains("line 2"), "verify names the changed line: {out}");

    // One character of the middle line's chain link.
    let at = lines[1].find("\"prev\":\"").expect("prev field") + 9;
    let mut middle = lines[1].to_string();
    let c = if &middle[at..=at] == "0" { "1" } else { "0" };
    middle.replace_range(at..=at, c);
    std::fs::write(lab.journal(), format!("{}\n{middle}\n{}\n", lines[0], lines[2])).unwrap();
    let (out, _) = lab.code(1, &["verify"]);
    assert!(out.contains("rollout.journal.jsonl:2:"), "{out}");

    // A writer refuses to add to a broken chain; readers still work.
    let before = read(&lab.state());
    let (_, err) = lab.code(2, &["attest", "primary.updates"]);
    assert!(err.contains("rollout.journal.jsonl:2") && err.contains("verify"), "{err}");
    assert_eq!(read(&lab.state()), before);
    let (_, err) = lab.code(0, &["status"]);
    assert!(err.contains("damaged at line 2"), "{err}");
    let (_, err) = lab.code(2, &["log"]);
    assert!(err.contains("verify"), "{err}");
}

#[test]
fn hand_broken_state_names_file_and_line_and_is_left_alone() {
    let lab = Lab::demo(&[]);
    lab.ok(&["attest", "primary.cert", "--note", "n"]);
    let good = std::fs::read_to_string(lab.state()).unwrap();
    let line_of = |needle: &str| good.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let cases = [
        (
            "status",
            good.replacen("status = \"done\"", "status = \"donee\"", 1),
            line_of("status = \"done\""),
        ),
        ("dangling quote", good.replacen("note = \"n\"", "note = \"n", 1), line_of("note = \"n\"")),
        (
            "bad value",
            good.replacen("mfa_fqdn = \"mfa.corp.contoso.com\"", "mfa_fqdn = \"mfa\"", 1),
            line_of("mfa_fqdn ="),
        ),
    ];
    for (what, text, line) in cases {
        assert_ne!(text, good, "{what}");
        std::fs::write(lab.state(), &text).unwrap();
        for args in [
            &["status"][..],
            &["attest", "primary.iis-role"],
            &["set", "portal_address=10.0.0.1"],
            &["export", "--format", "md"],
        ] {
            let (_, err) = lab.code(2, args);
            let want = format!("{}:{line}:", lab.state().display());
            assert!(err.contains(&want), "{what} {args:?}: `{want}` missing from: {err}");
            assert!(err.contains("untouched"), "{what}: {err}");
            assert_eq!(
                std::fs::read_to_string(lab.state()).unwrap(),
                text,
                "{what} {args:?}: the file changed"
            );
        }
    }
}

#[test]
fn second_writer_is_refused_naming_the_holder() {
    let lab = Lab::demo(&[]);
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(lab.sibling("rollout.toml.lock"))
        .expect("lock file exists");
    lock.try_lock().expect("the lock is free");
    let pid = std::process::id();
    let who = serde_json::json!({"user": "carol", "host": "MFA-CONSOLE-7", "pid": pid, "since": "2025-03-01T09:30:00Z"});
    std::fs::write(lab.sibling("rollout.toml.lock.who"), who.to_string()).unwrap();
    let before = (read(&lab.state()), read(&lab.journal()));

    for args in [
        &["attest", "primary.cert"][..],
        &["set", "portal_address=10.0.0.9"],
        &["init", "--profile", "demo", "--force"],
        &["check", "primary.cert"],
    ] {
        let (_, err) = lab.code(2, args);
        for word in ["carol", "MFA-CONSOLE-7", &format!("pid {pid}"), "2025-03-01T09:30:00Z"] {
            assert!(err.contains(word), "{args:?}: `{word}` missing from: {err}");
        }
    }
    assert_eq!(
        (read(&lab.state()), read(&lab.journal())),
        before,
        "refused writers change nothing"
    );
    // Readers are not locked out.
    lab.ok(&["status"]);
    lab.ok(&["verify"]);

    // Once released (and the holder file removed, as the tool does), writing works again.
    lock.unlock().unwrap();
    drop(lock);
    std::fs::remove_file(lab.sibling("rollout.toml.lock.who")).unwrap();
    let (_, err) = lab.code(0, &["attest", "primary.cert"]);
    assert!(!err.contains("took over"), "{err}");
}

#[test]
fn stale_lock_is_taken_over_with_a_notice() {
    let lab = Lab::demo(&[]);
    let who = serde_json::json!({"user": "dave", "host": "OLD-BOX", "pid": 3_999_999, "since": "2025-02-01T00:00:00Z"});
    std::fs::write(lab.sibling("rollout.toml.lock.who"), who.to_string()).unwrap();
    let (out, err) = lab.code(0, &["attest", "primary.cert"]);
    assert!(out.contains("primary.cert: done"));
    assert!(
        err.contains("took over")
            && err.contains("dave")
            && err.contains("OLD-BOX")
            && err.contains("3999999"),
        "{err}"
    );
    assert!(!lab.sibling("rollout.toml.lock.who").exists(), "the holder file goes with the writer");
}

#[test]
fn export_to_stdout_and_file() {
    let lab = Lab::demo(&[]);
    lab.ok(&["attest", "primary.cert", "--note", "exported note", "--evidence", "serial=77AA"]);
    let md = lab.ok(&["export", "--format", "md"]);
    assert!(md.starts_with('#'), "Markdown starts with a heading: {md}");
    assert!(
        md.contains("primary.cert") || md.contains("Enrol a server authentication certificate"),
        "{md}"
    );
    assert!(md.contains("77AA"), "evidence is in the record");

    let json = lab.json(&["export", "--format", "json"]);
    assert_eq!(json["record_schema"], 1);
    assert_eq!(json["profile"], "demo");

    let file = lab.sibling("record.md");
    let (out, err) = lab.code(0, &["export", "--format", "md", "-o", file.to_str().unwrap()]);
    assert!(out.is_empty(), "nothing on stdout with -o: {out}");
    assert!(err.contains("wrote"), "{err}");
    let written = read(&file);
    assert!(!written.is_empty());

    std::fs::write(&file, b"keep me").unwrap();
    let (_, err) = lab.code(2, &["export", "--format", "md", "-o", file.to_str().unwrap()]);
    assert!(err.contains("exists") && err.contains("--force"), "{err}");
    assert_eq!(read(&file), b"keep me", "a refused export leaves the file alone");
    lab.ok(&["export", "--format", "md", "--output", file.to_str().unwrap(), "--force"]);
    assert!(read(&file).starts_with(b"#"));
}

#[test]
fn completions_are_printed() {
    let out = Command::new(BIN).args(["completions", "bash"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.len() > 1000 && text.contains("mfa-rollout") && text.contains("attest"), "{text}");
    for shell in ["zsh", "fish", "powershell"] {
        let out = Command::new(BIN).args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(!out.stdout.is_empty(), "{shell}");
    }
}

const FQDN: &str = "mfa.check.example.test";

#[test]
fn check_against_a_refused_connection_fails() {
    let lab = Lab::demo(&[&format!("mfa_fqdn={FQDN}")]);
    let port = closed_port();
    let connect = format!("{FQDN}=127.0.0.1:{port}");
    let out = lab.run(&[
        "check",
        "primary.cert",
        "--connect",
        &connect,
        "--format",
        "json",
        "--timeout",
        "5",
    ]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_keys(&v, &["results", "counts", "exit_code"], "check JSON");
    assert_eq!(v["exit_code"], 1);
    let results = v["results"].as_array().unwrap();
    // Besides the TLS check, the step has a Windows probe, which is not-run here.
    assert!(results.iter().all(|r| r["kind"] == "tls" || r["outcome"] == "not-run"), "{v}");
    let r = results.iter().find(|r| r["kind"] == "tls").unwrap();
    assert_eq!(r["outcome"], "fail", "{r}");
    assert_eq!(r["step"], "primary.cert");
    assert_eq!(r["kind"], "tls");
    assert!(r["summary"].as_str().unwrap().contains("refused"), "{r}");
    assert!(!r["hint"].as_str().unwrap_or_default().is_empty(), "a failure carries a hint: {r}");
    assert_eq!(v["counts"]["fail"], 1);

    // The result is recorded and the step is failed.
    let steps = lab.json(&["steps", "--format", "json"]);
    let cert =
        steps.as_array().unwrap().iter().find(|s| s["key"] == "primary.cert").unwrap().clone();
    assert_eq!(cert["status"], "failed");
    assert!(lab.ok(&["log"]).contains("primary.cert: pending → failed"));

    // Text output says the same, with the same exit code.
    let (out, _) = lab.code(1, &["check", "primary.cert", "--connect", &connect]);
    assert!(out.contains("FAIL") && out.contains("primary.cert: failed"), "{out}");

    // A phase name selects its steps with checks.
    let (out, _) = lab.code(1, &["check", "primary", "--connect", &connect, "--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v["results"].as_array().unwrap().len() >= 2, "{v}");

    let (_, err) = lab.code(2, &["check", "primary.cert", "--connect", "nonsense"]);
    assert!(err.contains("--connect"), "{err}");
    let (_, err) = lab.code(2, &["check", "primary.cert", "--ca-file", "/nonexistent/ca.pem"]);
    assert!(err.contains("--ca-file"), "{err}");
}

#[test]
fn check_that_gets_no_answer_is_an_error_after_the_timeout() {
    let lab = Lab::demo(&[&format!("mfa_fqdn={FQDN}")]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and hold every connection, never saying a word.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            match stream {
                Ok(s) => held.push(s),
                Err(_) => break,
            }
        }
    });
    let started = Instant::now();
    let out = lab.run(&[
        "check",
        "primary.cert",
        "--connect",
        &format!("{FQDN}=127.0.0.1:{port}"),
        "--timeout",
        "1",
        "--format",
        "json",
    ]);
    let took = started.elapsed();
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(v["results"][0]["outcome"], "error", "{v}");
    assert_eq!(v["exit_code"], 2);
    assert!(
        took < Duration::from_secs(30),
        "a silent host costs one timeout, not a hang ({took:?})"
    );
    eprintln!("silent host: check finished in {took:?} with --timeout 1");

    // "Could not tell" leaves the step where it was.
    let steps = lab.json(&["steps", "--format", "json"]);
    let cert =
        steps.as_array().unwrap().iter().find(|s| s["key"] == "primary.cert").unwrap().clone();
    assert_eq!(cert["status"], "pending");
}

/// A minimal well-formedness check: tags balance and nest, attributes are quoted.
fn assert_well_formed_xml(xml: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml.trim_start();
    assert!(rest.starts_with("<?xml"), "XML declaration first");
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        assert!(!text.contains('>'), "stray `>` in text: {text}");
        let close = rest[open..].find('>').map(|i| open + i).expect("tag is closed");
        let tag = &rest[open + 1..close];
        assert!(!tag.contains('<'), "`<` inside a tag: {tag}");
        if tag.starts_with('?') {
            assert!(tag.ends_with('?'));
        } else if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.trim()), "closing tag matches");
        } else {
            let name = tag.split_whitespace().next().unwrap().trim_end_matches('/').to_string();
            assert_eq!(tag.matches('"').count() % 2, 0, "attribute quotes balance: {tag}");
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        rest = &rest[close + 1..];
    }
    assert!(rest.trim().is_empty() && stack.is_empty(), "unclosed: {stack:?}");
}

#[test]
fn check_junit_is_well_formed() {
    let lab = Lab::demo(&[&format!("mfa_fqdn={FQDN}")]);
    let connect = format!("{FQDN}=127.0.0.1:{}", closed_port());
    let (xml, _) = lab.code(1, &["check", "primary", "--connect", &connect, "--format", "junit"]);
    assert_well_formed_xml(&xml);
    let (json, _) = lab.code(1, &["check", "primary", "--connect", &connect, "--format", "json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    let results = v["results"].as_array().unwrap();
    let n = results.len();
    let failed = results.iter().filter(|r| r["outcome"] == "fail").count();
    assert!(failed >= 2);
    assert_eq!(xml.matches("<testcase").count(), n, "{xml}");
    assert_eq!(xml.matches("<failure").count(), failed, "{xml}");
    assert!(
        xml.contains(&format!("tests=\"{n}\"")) && xml.contains(&format!("failures=\"{failed}\"")),
        "{xml}"
    );
}

#[test]
fn check_with_nothing_to_check() {
    let lab = Lab::demo(&[]);
    let (out, err) = lab.code(0, &["check", "mfa.company-settings"]);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("no live checks") && err.contains("primary.cert"), "{err}");
}

#[test]
fn wizard_without_a_terminal_points_to_the_subcommands() {
    let lab = Lab::demo(&[]);
    let before = read(&lab.state());
    for args in [&[][..], &["--plain"]] {
        let mut child = std::process::Command::new(BIN)
            .current_dir(lab.dir.path())
            .env_remove("MFA_ROLLOUT_STATE")
            .arg("--state")
            .arg(lab.state())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Keep stdin open: the wizard must not wait for it.
        let stdin = child.stdin.take();
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("{args:?}: the wizard waited for input with stdin not a terminal");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(stdin);
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert_eq!(status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("terminal") && err.contains("subcommands"), "{args:?}: {err}");
    }
    assert_eq!(read(&lab.state()), before);

    // Without a rollout, the wizard still refuses before creating anything.
    let empty = Lab::new();
    let mut c = Command::new(BIN);
    c.current_dir(empty.dir.path())
        .env_remove("MFA_ROLLOUT_STATE")
        .args(["--profile", "demo"])
        .write_stdin("");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!empty.sibling("mfa-rollout.toml").exists());
}
