//! The completed-checklist record in every format: HTML that is well-formed, renders in
//! headless Chromium (A4 print and a phone-width screen) and fetches nothing; iCalendar
//! reminders that parse back with stable UIDs; `JUnit` with one case per step; the journal
//! marker that `verify --record` matches; and no secret in any of them.
#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Output};

const SECRET: &str = "Zq7-DistinctSecret-4471";

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mfa-rollout"))
        .current_dir(dir)
        .args(args)
        .env_remove("MFA_ROLLOUT_STATE")
        .env("MFA_ROLLOUT_SECRET_SDK_PASSWORD", SECRET)
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A demo rollout with a bit of everything: attested with certificate evidence, skipped,
/// and a failed check.
fn rollout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["init", "--profile", "demo"]);
    ok(
        d,
        &[
            "attest",
            "primary.cert",
            "--note",
            "enrolled <from> the \"WebServer\" template & bound",
            "--evidence",
            "serial=3A00000012",
            "--evidence",
            "thumbprint=5C1E0B9D8E3F7A11C0DE4B2A9F6E7D8C1B2A3F40",
            "--evidence",
            "subject_cn=mfa.corp.contoso.com",
            "--evidence",
            "sans=mfa.corp.contoso.com",
            "--evidence",
            "issued=2026-01-10",
            "--evidence",
            "expires=2027-03-01",
            "--evidence",
            "issuer=CN=Contoso Issuing CA",
            "--evidence",
            "host=mfa.corp.contoso.com",
        ],
    );
    ok(d, &["skip", "primary.updates", "--reason", "patched by WSUS"]);
    // A check that fails: nothing listens on this port.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let connect = format!("mfa.corp.contoso.com=127.0.0.1:{port}");
    let out = run(d, &["check", "primary.iis-binding", "--connect", &connect, "--timeout", "3"]);
    assert_eq!(out.status.code(), Some(1));
    dir
}

fn export(dir: &Path, format: &str) -> String {
    let file = format!("record.{format}");
    let _ = std::fs::remove_file(dir.join(&file));
    ok(dir, &["export", "--format", format, "-o", &file]);
    std::fs::read_to_string(dir.join(&file)).unwrap()
}

#[test]
fn html_is_self_contained_well_formed_and_complete() {
    let dir = rollout();
    let html = export(dir.path(), "html");
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() },
    )
    .unwrap_or_else(|e| panic!("the HTML is not well-formed: {e}"));
    let tags: Vec<&str> = doc
        .descendants()
        .filter(roxmltree::Node::is_element)
        .map(|n| n.tag_name().name())
        .collect();
    for banned in ["script", "link", "img", "iframe"] {
        assert!(!tags.contains(&banned), "the record must fetch nothing: found <{banned}>");
    }
    assert!(!html.contains("http://") && !html.contains("https://"), "no URLs to fetch");
    for expected in [
        "corp.contoso.com",
        "demo profile",
        "mfa.corp.contoso.com",
        "Open items",
        "patched by WSUS",
        "5C1E0B9D8E3F7A11C0DE4B2A9F6E7D8C1B2A3F40",
        "enrolled &lt;from&gt; the &quot;WebServer&quot; template &amp; bound",
        "journal entries=",
        env!("CARGO_PKG_VERSION"),
    ] {
        assert!(html.contains(expected), "missing {expected:?}");
    }
    // Open items come before the per-phase detail.
    assert!(html.find("Open items").unwrap() < html.find("id=\"primary.cert\"").unwrap());
}

#[test]
fn html_renders_in_headless_chromium_on_a4_and_a_phone() {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("Chromium is not installed: run the README's test command (scripts/test), which installs it");
    let dir = rollout();
    export(dir.path(), "html");
    let page = format!("file://{}", dir.path().join("record.html").display());
    let profile = tempfile::tempdir().unwrap();
    let base = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ];
    let shots =
        [("phone.png", "--window-size=390,2400"), ("desktop.png", "--window-size=1024,2400")];
    for (name, size) in shots {
        let out_file = dir.path().join(name);
        let status = Command::new(chromium)
            .args(base)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(size)
            .arg(format!("--screenshot={}", out_file.display()))
            .arg(&page)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "chromium failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let png = std::fs::read(&out_file).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert!(png.len() > 20_000, "{name} is suspiciously small ({} bytes)", png.len());
    }
    let pdf = dir.path().join("record.pdf");
    let status = Command::new(chromium)
        .args(base)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--no-pdf-header-footer")
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(&page)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    let text = String::from_utf8_lossy(&bytes);
    // A4 is 595 x 842 points.
    assert!(text.contains("595") && text.contains("842"), "the PDF pages are not A4");
}

#[test]
fn ics_reminders_parse_back_with_stable_uids() {
    use icalendar::{Calendar, CalendarComponent, Component};
    let dir = rollout();
    let first = export(dir.path(), "ics");
    let cal: Calendar =
        first.parse().unwrap_or_else(|e| panic!("the ICS does not parse: {e}\n{first}"));
    let events: Vec<_> = cal
        .components
        .iter()
        .filter_map(|c| if let CalendarComponent::Event(e) = c { Some(e) } else { None })
        .collect();
    assert_eq!(events.len(), 2, "one renewal reminder and one expiry event");
    let renew = events.iter().find(|e| e.get_uid().unwrap().starts_with("renew-")).unwrap();
    let expiry = events.iter().find(|e| e.get_uid().unwrap().starts_with("expiry-")).unwrap();
    let text = renew.get_description().unwrap();
    for field in [
        "3A00000012",
        "5C1E0B9D8E3F7A11C0DE4B2A9F6E7D8C1B2A3F40",
        "mfa.corp.contoso.com",
        "2026-01-10",
        "2027-03-01",
        "Contoso Issuing CA",
    ] {
        assert!(text.contains(field), "the reminder lacks {field}: {text}");
    }
    // 42 days before 2027-03-01 is 2027-01-18.
    assert!(first.contains("DTSTART:20270118T090000Z"), "{first}");
    assert!(first.contains("DTSTART:20270301T000000Z"), "{first}");
    assert!(first.contains("BEGIN:VALARM"));
    let uids = |t: &str| {
        t.lines().filter(|l| l.starts_with("UID:")).map(str::to_string).collect::<Vec<_>>()
    };
    ok(dir.path(), &["attest", "primary.iis-role"]);
    let second = export(dir.path(), "ics");
    assert_eq!(uids(&first), uids(&second), "a re-export updates the same events");
    assert!(expiry.get_summary().unwrap().contains("expires"));
}

#[test]
fn junit_has_one_case_per_step() {
    let dir = rollout();
    let xml = export(dir.path(), "junit");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    let steps: serde_json::Value =
        serde_json::from_str(&ok(dir.path(), &["steps", "--format", "json"])).unwrap();
    assert_eq!(cases.len(), steps.as_array().unwrap().len());
    let case = |key: &str| {
        cases.iter().find(|c| c.attribute("name").unwrap().starts_with(&format!("{key} "))).unwrap()
    };
    assert!(
        case("primary.cert")
            .children()
            .all(|c| !c.has_tag_name("failure") && !c.has_tag_name("skipped")),
        "done passes"
    );
    assert!(case("primary.updates").children().any(|c| c.has_tag_name("skipped")));
    let failed = case("primary.iis-binding");
    assert!(
        failed
            .children()
            .any(|c| c.has_tag_name("failure") && c.attribute("type") == Some("failed"))
    );
    assert!(
        case("portal.cert")
            .children()
            .any(|c| c.has_tag_name("failure") && c.attribute("type") == Some("open"))
    );
    assert!(
        case("mfa.email-settings").children().any(|c| c.has_tag_name("skipped")),
        "n/a is skipped"
    );
}

#[test]
fn every_format_matches_the_journal_and_tampering_shows() {
    let dir = rollout();
    let d = dir.path();
    for format in ["md", "html", "json", "junit", "ics"] {
        export(d, format);
        let out = ok(d, &["verify", "--record", &format!("record.{format}")]);
        assert!(
            out.contains("record matches the journal") && out.contains("(the latest)"),
            "{format}: {out}"
        );
    }
    ok(d, &["attest", "primary.iis-role"]);
    let out = ok(d, &["verify", "--record", "record.md"]);
    assert!(out.contains("1 change(s) were recorded after it"), "{out}");

    let md = std::fs::read_to_string(d.join("record.md")).unwrap();
    let (n, head) = mfa_marker(&md);
    let forged = md.replace(&head, &"0".repeat(64));
    std::fs::write(d.join("forged.md"), forged).unwrap();
    let out = run(d, &["verify", "--record", "forged.md"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("DOES NOT MATCH: its hash for entry {n}"))
    );

    std::fs::write(d.join("other.txt"), "not a record").unwrap();
    let out = run(d, &["verify", "--record", "other.txt"]);
    assert_eq!(out.status.code(), Some(2));
}

fn mfa_marker(text: &str) -> (usize, String) {
    let at = text.find("journal entries=").unwrap();
    let rest = &text[at + 16..];
    let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let head: String = rest[n.len() + 6..].chars().take(64).collect();
    (n.parse().unwrap(), head)
}

#[test]
fn output_file_is_not_overwritten_without_force() {
    let dir = rollout();
    let d = dir.path();
    std::fs::write(d.join("keep.md"), "precious").unwrap();
    let out = run(d, &["export", "--format", "md", "-o", "keep.md"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(d.join("keep.md")).unwrap(), "precious");
    ok(d, &["export", "--format", "md", "-o", "keep.md", "--force"]);
    assert!(
        std::fs::read_to_string(d.join("keep.md")).unwrap().starts_with("# MFA rollout record")
    );
    for own in ["mfa-rollout.toml", "mfa-rollout.journal.jsonl", "mfa-rollout.toml.bak"] {
        let before = std::fs::read(d.join(own)).unwrap();
        let out = run(d, &["export", "--format", "json", "-o", own, "--force"]);
        assert_eq!(out.status.code(), Some(2), "{own} must be refused");
        assert_eq!(std::fs::read(d.join(own)).unwrap(), before, "{own} unchanged");
    }
}

#[test]
fn no_secret_in_any_export_or_file() {
    let dir = rollout();
    let d = dir.path();
    // The keyring path: scripts/test runs the tests inside a throwaway session keyring.
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa-rollout"))
        .current_dir(d)
        .args(["secret", "set", "ldap_password"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), format!("{SECRET}-ldap\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "storing a secret in the kernel keyring failed (run the tests inside `keyctl session -`, as scripts/test does): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for format in ["md", "html", "json", "junit", "ics"] {
        export(d, format);
    }
    let _ = run(d, &["log"]);
    for entry in std::fs::read_dir(d).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(SECRET), "{} holds the secret", path.display());
    }
}
