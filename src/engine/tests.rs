//! Engine tests: every operation a front end can ask for, against the embedded runbook and
//! a rollout in a temporary folder. Each test checks what the state records *and* what the
//! journal says about it (seq, step, from → to), and that refused operations change
//! nothing on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Access, Rollout, current_host, current_user};
use crate::checks::{CheckResult, Outcome};
use crate::error::Error;
use crate::runbook::{Runbook, Value};
use crate::state::action::{Action, Actor};
use crate::state::journal::{self, Entry};
use crate::state::lock::{Holder, sibling};
use crate::state::{Paths, State, Status};

fn book() -> Runbook {
    crate::runbook::load_embedded().expect("the embedded runbook loads")
}

/// A fresh `demo` rollout in its own folder (the folder lives as long as the first item).
fn demo() -> (tempfile::TempDir, PathBuf, Rollout) {
    demo_with(&[])
}

fn demo_with(sets: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf, Rollout) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rollout.toml");
    let sets: Vec<(String, String)> =
        sets.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
    let r = Rollout::create(book(), &path, "demo", &sets, false).expect("create from demo");
    (dir, path, r)
}

fn open(path: &Path, access: Access) -> Rollout {
    Rollout::open(book(), path, access).expect("open the rollout")
}

fn entries(path: &Path) -> Vec<Entry> {
    journal::read(&Paths::new(path).journal)
        .expect("read journal")
        .expect("journal chain intact")
        .entries
}

fn last_entry(path: &Path) -> Entry {
    entries(path).pop().expect("journal has entries")
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read file")
}

/// The state file and the journal, byte for byte.
fn snapshot(path: &Path) -> (Vec<u8>, Vec<u8>) {
    (bytes(path), bytes(&Paths::new(path).journal))
}

fn on_disk(path: &Path) -> State {
    State::load(path).expect("state file loads")
}

fn status_of(r: &Rollout, key: &str) -> Status {
    let inst = r.find(key).expect("step exists");
    r.status(&inst)
}

fn result(name: &str, outcome: Outcome) -> CheckResult {
    CheckResult {
        name: name.to_string(),
        kind: "tls".into(),
        outcome,
        summary: format!("{} for the test", outcome.as_str()),
        hint: String::new(),
        evidence: BTreeMap::new(),
        at: super::now(),
        duration_ms: 1,
    }
}

#[test]
fn create_from_demo_profile() {
    let (_dir, path, r) = demo();
    assert!(r.writable());
    assert!(r.notices.is_empty(), "{:?}", r.notices);
    let paths = Paths::new(&path);
    assert!(path.is_file() && paths.journal.is_file());
    assert!(sibling(&path, ".lock.who").is_file(), "the holder is named while the rollout is open");

    let state = on_disk(&path);
    assert_eq!(state.schema, crate::state::SCHEMA);
    assert_eq!(state.profile, "demo");
    assert_eq!(state.journal_seq, 1);
    assert_eq!(state.rollout.len(), 16, "rollout id is 8 bytes of hex: {}", state.rollout);
    assert!(!state.policy.email_required);
    assert_eq!(state.values.get("mfa_fqdn"), Some(&Value::Str("mfa.corp.contoso.com".into())));
    assert!(state.steps.is_empty(), "a new rollout records no step");
    assert_eq!(state, r.state, "what is on disk is what the engine holds");

    let log = entries(&path);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].seq, 1);
    assert_eq!(log[0].prev, journal::GENESIS);
    assert_eq!((log[0].step.as_deref(), log[0].from, log[0].to), (None, None, None));
    assert!(matches!(&log[0].action, Action::Init { profile, .. } if profile == "demo"));
    assert_eq!(log[0].actor.user, current_user());
    assert_eq!(log[0].actor.host, current_host());

    for inst in r.instances() {
        let s = r.status(&inst);
        assert!(matches!(s, Status::Pending | Status::NotApplicable), "{} starts {s}", inst.key);
    }
    assert!(
        r.missing_values().is_empty(),
        "demo fills every required value: {:?}",
        r.missing_values()
    );
    drop(r);
    assert!(!sibling(&path, ".lock.who").exists(), "closing the rollout removes the holder file");
}

#[test]
fn create_refuses_unknown_profile_and_existing_rollout() {
    let (_dir, path, r) = demo();
    drop(r);
    let before = snapshot(&path);

    let err = Rollout::create(book(), &path, "demo", &[], false).unwrap_err();
    assert!(matches!(err, Error::Exists(_)), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(snapshot(&path), before, "a refused init changes nothing");

    let other = path.with_file_name("other.toml");
    let err = Rollout::create(book(), &other, "nosuch", &[], false).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("nosuch")
            && text.contains("demo")
            && text.contains("lab")
            && text.contains("production"),
        "{text}"
    );
    assert!(!other.exists());

    let r = Rollout::create(
        book(),
        &path,
        "lab",
        &[("mfa_fqdn".into(), "mfa.lab.example.org".into())],
        true,
    )
    .expect("--force replaces the rollout");
    assert_eq!(r.state.profile, "lab");
    assert!(r.notices.iter().any(|n| n.contains("kept the previous journal")), "{:?}", r.notices);
    assert_eq!(entries(&path).len(), 1, "the new rollout starts a new journal");
    assert_eq!(bytes(&Paths::new(&path).backup), before.0, "the replaced file is kept as .bak");
}

#[test]
fn forced_inits_in_the_same_second_keep_every_old_journal() {
    let (_dir, path, mut r) = demo();
    r.attest("primary.cert", Some("first rollout".into()), BTreeMap::new()).unwrap();
    drop(r);
    let first = bytes(&Paths::new(&path).journal);
    let mut kept = Vec::new();
    for _ in 0..3 {
        let r = Rollout::create(book(), &path, "demo", &[], true).unwrap();
        kept.extend(r.notices.iter().filter(|n| n.contains("kept the previous journal")).cloned());
    }
    assert_eq!(kept.len(), 3, "{kept:?}");
    let dir = path.parent().unwrap();
    let asides: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("rollout.journal.jsonl."))
        .map(|e| bytes(&e.path()))
        .collect();
    assert_eq!(asides.len(), 3, "one set-aside journal per forced init");
    assert!(asides.contains(&first), "the first rollout's journal survives");
}

/// One operation of the transition table.
#[derive(Debug, Clone, Copy)]
enum Op {
    Start,
    Attest,
    Skip,
    Reset,
}

fn apply(r: &mut Rollout, op: Op, key: &str, n: usize) -> crate::Result<()> {
    match op {
        Op::Start => r.start(key),
        Op::Attest => r.attest(key, Some(format!("  note {n}  ")), BTreeMap::new()),
        Op::Skip => r.skip(key, &format!("reason {n}")),
        Op::Reset => r.reset(key),
    }
}

#[test]
fn transitions_are_journaled_with_from_and_to() {
    use Status::{Done, InProgress, Pending, Skipped};
    let (_dir, path, mut r) = demo();
    let key = "primary.cert";
    let table: &[(Op, Status, Status)] = &[
        (Op::Start, Pending, InProgress),
        (Op::Attest, InProgress, Done),
        (Op::Reset, Done, Pending),
        (Op::Skip, Pending, Skipped),
        (Op::Attest, Skipped, Done),
        (Op::Attest, Done, Done),
        (Op::Skip, Done, Skipped),
        (Op::Start, Skipped, InProgress),
        (Op::Reset, InProgress, Pending),
        (Op::Reset, Pending, Pending),
    ];
    for (n, (op, from, to)) in table.iter().enumerate() {
        let seq = n as u64 + 2;
        assert_eq!(status_of(&r, key), *from, "before op {n} ({op:?})");
        apply(&mut r, *op, key, n).unwrap_or_else(|e| panic!("op {n} ({op:?}): {e}"));
        assert_eq!(status_of(&r, key), *to, "after op {n} ({op:?})");

        let e = last_entry(&path);
        assert_eq!(e.seq, seq, "op {n}");
        assert_eq!(e.step.as_deref(), Some(key), "op {n}");
        assert_eq!((e.from, e.to), (Some(*from), Some(*to)), "op {n} ({op:?})");
        assert_eq!(e.actor.user, current_user());

        let state = on_disk(&path);
        assert_eq!(state.journal_seq, seq, "op {n}");
        let rec = &state.steps[key];
        assert_eq!(rec.status, *to, "op {n}");
        assert_eq!(rec.by.as_deref(), Some(current_user().as_str()));
        assert_eq!(rec.host.as_deref(), Some(current_host().as_str()));
        assert!(rec.at.is_some());
        match op {
            Op::Attest => {
                assert_eq!(
                    rec.note.as_deref(),
                    Some(format!("note {n}").as_str()),
                    "notes are trimmed"
                );
                assert_eq!(rec.reason, None, "attesting clears a skip reason");
            }
            Op::Skip => assert_eq!(rec.reason.as_deref(), Some(format!("reason {n}").as_str())),
            Op::Reset => assert_eq!((rec.note.as_deref(), rec.reason.as_deref()), (None, None)),
            Op::Start => {}
        }
        assert_eq!(state, r.state);
    }
    // Every line chains to the one before it.
    let log = entries(&path);
    assert_eq!(log.len(), table.len() + 1);
    for pair in log.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
}

#[test]
fn attest_records_evidence_of_the_step() {
    let (_dir, path, mut r) = demo();
    let ev: BTreeMap<String, String> = [
        ("serial".to_string(), "1A2B".to_string()),
        ("thumbprint".to_string(), "AB12".to_string()),
    ]
    .into();
    r.attest("primary.cert", Some("   ".into()), ev.clone()).expect("attest with evidence");
    let rec = &on_disk(&path).steps["primary.cert"];
    assert_eq!(rec.evidence, ev);
    assert_eq!(rec.note, None, "a blank note is no note");
    assert!(
        matches!(&last_entry(&path).action, Action::Attest { evidence, note: None, .. } if *evidence == ev)
    );

    // Evidence accumulates across attests; a later value replaces an earlier one.
    r.attest("primary.cert", None, [("serial".to_string(), "FFFF".to_string())].into()).unwrap();
    let rec = &on_disk(&path).steps["primary.cert"];
    assert_eq!(rec.evidence["serial"], "FFFF");
    assert_eq!(rec.evidence["thumbprint"], "AB12");
}

/// An operation that must be refused.
type Attempt = Box<dyn Fn(&mut Rollout) -> crate::Result<()>>;

#[test]
fn refused_operations_change_nothing() {
    let (_dir, path, mut r) = demo();
    r.attest("primary.cert", Some("first".into()), BTreeMap::new()).unwrap();
    let set = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
    };

    let cases: Vec<(&str, Attempt, &[&str])> = vec![
        ("skip without reason", Box::new(|r| r.skip("primary.cert", "")), &["reason"]),
        ("skip with a blank reason", Box::new(|r| r.skip("primary.cert", "  \t ")), &["reason"]),
        (
            "attest with evidence the step does not have",
            Box::new(|r| {
                r.attest("primary.cert", None, [("colour".to_string(), "red".to_string())].into())
            }),
            &["colour", "serial", "thumbprint"],
        ),
        (
            "attest evidence on a step without evidence keys",
            Box::new(|r| {
                let bare = r
                    .instances()
                    .into_iter()
                    .find(|i| r.step_of(i).evidence.is_empty() && r.step_of(i).repeat.is_none());
                let key = bare.map_or_else(|| "primary.cert".to_string(), |i| i.key);
                r.attest(&key, None, [("x".to_string(), "1".to_string())].into())
            }),
            &["`x`"],
        ),
        (
            "attest an unknown step",
            Box::new(|r| r.attest("primary.nope", None, BTreeMap::new())),
            &["primary.nope"],
        ),
        ("start an unknown step", Box::new(|r| r.start("nope")), &["nope"]),
        (
            "reset an unknown step",
            Box::new(|r| r.reset("primary.cert@mfa.corp.contoso.com")),
            &["primary.cert@"],
        ),
        (
            "bad IPv4",
            Box::new(move |r| r.set(&set(&[("portal_address", "10.0.0.256")]))),
            &["portal_address", "10.0.0.256", "IPv4"],
        ),
        (
            "not an FQDN",
            Box::new(move |r| r.set(&set(&[("mfa_fqdn", "mfa")]))),
            &["mfa_fqdn", "fully qualified"],
        ),
        (
            "IP for a name",
            Box::new(move |r| r.set(&set(&[("portal_fqdn", "10.0.0.5")]))),
            &["portal_fqdn", "IP address"],
        ),
        ("bad NetBIOS", Box::new(move |r| r.set(&set(&[("netbios", "CORP.COM")]))), &["netbios"]),
        (
            "bad account",
            Box::new(move |r| r.set(&set(&[("ldap_bind", "mfa-audit@corp")]))),
            &["ldap_bind", "DOMAIN\\user"],
        ),
        (
            "number out of range",
            Box::new(move |r| r.set(&set(&[("renewal_lead_days", "0")]))),
            &["renewal_lead_days", "at least 1"],
        ),
        (
            "not a number",
            Box::new(move |r| r.set(&set(&[("renewal_lead_days", "six weeks")]))),
            &["whole number"],
        ),
        (
            "bad list item",
            Box::new(move |r| {
                r.set(&set(&[("mfa_secondaries", "mfa2.corp.contoso.com,bad name")]))
            }),
            &["mfa_secondaries", "bad name"],
        ),
        (
            "unknown variable",
            Box::new(move |r| r.set(&set(&[("colour", "red")]))),
            &["colour", "not a variable"],
        ),
        (
            "derived variable",
            Box::new(move |r| r.set(&set(&[("sdk_url", "https://x.example.org/")]))),
            &["sdk_url", "computed"],
        ),
        (
            "required variable emptied",
            Box::new(move |r| r.set(&set(&[("mfa_fqdn", "  ")]))),
            &["mfa_fqdn", "empty"],
        ),
        (
            "one bad value among good ones",
            Box::new(move |r| {
                r.set(&set(&[("portal_address", "10.0.0.99"), ("dns_server", "ten")]))
            }),
            &["dns_server"],
        ),
        (
            "primary listed as a secondary",
            Box::new(move |r| r.set(&set(&[("mfa_secondaries", "MFA.corp.contoso.com")]))),
            &["primary"],
        ),
    ];
    for (what, attempt, words) in cases {
        let before = snapshot(&path);
        let state_before = r.state.clone();
        let err = attempt(&mut r).err().unwrap_or_else(|| panic!("{what}: was accepted"));
        let text = err.to_string();
        for w in words {
            assert!(text.contains(w), "{what}: `{text}` does not mention `{w}`");
        }
        assert!(snapshot(&path) == before, "{what}: the state file or journal changed");
        assert_eq!(r.state, state_before, "{what}: the in-memory state changed");
    }
    assert_eq!(on_disk(&path).steps["primary.cert"].note.as_deref(), Some("first"));
}

#[test]
fn sync_group_must_differ_from_whfb_group() {
    let s = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
    };
    let (_dir, path, mut r) = demo();
    let cases: &[&[(&str, &str)]] = &[
        &[("sync_group", "Windows Hello for Business Users")],
        &[("sync_group", "windows hello for BUSINESS users")],
        &[("whfb_group", "mfa users")],
        &[("sync_group", "Pilot"), ("whfb_group", "PILOT")],
    ];
    for pairs in cases {
        let before = snapshot(&path);
        let err = r.set(&s(pairs)).expect_err("equal groups are refused");
        let text = err.to_string();
        assert!(text.contains("sync_group") && text.contains("whfb_group"), "{pairs:?}: {text}");
        assert_eq!(snapshot(&path), before, "{pairs:?}: nothing changed");
    }
    // Clearing whfb_group falls back to its default, which sync_group may not equal either.
    r.set(&s(&[("sync_group", "MFA Users"), ("whfb_group", "Hello Users")]))
        .expect("different groups are fine");
    assert_eq!(r.value("whfb_group"), Some(Value::Str("Hello Users".into())));
    drop(r);

    // The same rule holds when the rollout is created.
    let other = path.with_file_name("other.toml");
    let err = Rollout::create(
        book(),
        &other,
        "demo",
        &s(&[("sync_group", "WINDOWS HELLO FOR BUSINESS USERS")]),
        false,
    )
    .expect_err("init with equal groups is refused");
    assert!(err.to_string().contains("whfb_group"), "{err}");
    assert!(!other.exists(), "a refused init writes no state");
}

#[test]
fn repeated_steps_resolve_by_full_key_and_short_host() {
    let (_dir, path, mut r) = demo();
    // With one secondary the plain id is unambiguous.
    assert_eq!(r.find("secondary.install").unwrap().key, "secondary.install@mfa2.corp.contoso.com");

    r.set(&[("mfa_secondaries".into(), "mfa2.corp.contoso.com, mfa3.corp.contoso.com".into())])
        .unwrap();
    let keys: Vec<String> = r
        .instances()
        .into_iter()
        .filter(|i| i.key.starts_with("secondary.install"))
        .map(|i| i.key)
        .collect();
    assert_eq!(
        keys,
        ["secondary.install@mfa2.corp.contoso.com", "secondary.install@mfa3.corp.contoso.com"]
    );

    let table: &[(&str, Option<&str>)] = &[
        (
            "secondary.install@mfa2.corp.contoso.com",
            Some("secondary.install@mfa2.corp.contoso.com"),
        ),
        (
            "secondary.install@MFA3.corp.contoso.com",
            Some("secondary.install@mfa3.corp.contoso.com"),
        ),
        ("secondary.install@mfa3", Some("secondary.install@mfa3.corp.contoso.com")),
        ("secondary.install@Mfa2", Some("secondary.install@mfa2.corp.contoso.com")),
        ("secondary.install@mfa4", None),
        ("secondary.install@mfa", None),
        ("secondary.replication@mfa2", None),
    ];
    for (typed, want) in table {
        match (r.find(typed), want) {
            (Ok(i), Some(k)) => {
                assert_eq!(i.key, *k, "{typed}");
                assert_eq!(i.host.as_deref(), k.split_once('@').map(|x| x.1), "{typed}");
            }
            (Err(Error::UnknownStep(s)), None) => assert_eq!(s, *typed),
            (other, _) => panic!("{typed}: unexpected {other:?}"),
        }
    }
    let err = r.find("secondary.install").expect_err("ambiguous plain id");
    let text = err.to_string();
    assert!(matches!(err, Error::Invalid(_)), "{text}");
    assert!(
        text.contains("@mfa2.corp.contoso.com") && text.contains("@mfa3.corp.contoso.com"),
        "{text}"
    );
    let before = snapshot(&path);
    assert!(r.attest("secondary.install", None, BTreeMap::new()).is_err());
    assert_eq!(snapshot(&path), before, "an ambiguous attest changes nothing");

    // Operations by short name record the full key.
    r.attest("secondary.install@mfa3", Some("joined".into()), BTreeMap::new()).unwrap();
    let e = last_entry(&path);
    assert_eq!(e.step.as_deref(), Some("secondary.install@mfa3.corp.contoso.com"));
    assert_eq!((e.from, e.to), (Some(Status::Pending), Some(Status::Done)));
    let state = on_disk(&path);
    assert_eq!(state.steps["secondary.install@mfa3.corp.contoso.com"].status, Status::Done);
    assert!(!state.steps.contains_key("secondary.install@mfa3"));
    assert_eq!(status_of(&r, "secondary.install@mfa2.corp.contoso.com"), Status::Pending);

    // Without secondaries the repeated step does not apply and the steps that need them are n/a.
    r.set(&[("mfa_secondaries".into(), String::new())]).unwrap();
    assert!(r.value("mfa_secondaries").is_none());
    let inst = r.find("secondary.install").unwrap();
    assert_eq!(
        (inst.host.as_deref(), r.applies(&inst), r.status(&inst)),
        (None, false, Status::NotApplicable)
    );
    assert_eq!(status_of(&r, "secondary.replication"), Status::NotApplicable);
    assert_eq!(
        r.orphan_records(),
        ["secondary.install@mfa3.corp.contoso.com"],
        "the record of a server no longer listed is kept"
    );
}

#[test]
fn steps_that_do_not_apply_are_na() {
    let (_dir, path, mut r) = demo();
    for key in ["mfa.email-settings", "mfa.email-content"] {
        let inst = r.find(key).unwrap();
        assert!(!r.applies(&inst), "{key} does not apply when email_required is false");
        assert_eq!(r.status(&inst), Status::NotApplicable, "{key}");
        assert!(r.status(&inst).is_closed());
    }
    assert!(r.applies(&r.find("primary.cert").unwrap()));
    let open_before = r.next_open().map(|i| i.key);
    assert!(
        r.instances()
            .into_iter()
            .filter(|i| r.status(i) == Status::NotApplicable)
            .all(|i| Some(i.key) != open_before),
        "n/a steps are never the next open step"
    );
    let phase = r.find("mfa.email-settings").unwrap().phase;
    let progress = r.progress();
    assert_eq!(progress[phase].closed, 2, "the two n/a email steps count as closed");

    // The operator may still attest an n/a step; the journal says from n/a to done.
    r.attest("mfa.email-settings", Some("did it anyway".into()), BTreeMap::new()).unwrap();
    let e = last_entry(&path);
    assert_eq!((e.from, e.to), (Some(Status::NotApplicable), Some(Status::Done)));
    assert_eq!(status_of(&r, "mfa.email-settings"), Status::Done);
    r.reset("mfa.email-settings").unwrap();
    assert_eq!(status_of(&r, "mfa.email-settings"), Status::NotApplicable);
    drop(r);

    // Under a profile that requires email, the same steps are pending.
    let prod = path.with_file_name("prod.toml");
    let p = Rollout::create(book(), &prod, "production", &[], false).unwrap();
    assert!(p.state.policy.email_required);
    for key in ["mfa.email-settings", "mfa.email-content"] {
        assert_eq!(status_of(&p, key), Status::Pending, "{key} under production");
    }
}

/// How to bring `primary.cert` to a starting status before recording checks.
fn bring_to(r: &mut Rollout, key: &str, status: Status) {
    match status {
        Status::Pending => {}
        Status::InProgress => r.start(key).unwrap(),
        Status::Done => r.attest(key, None, BTreeMap::new()).unwrap(),
        Status::Skipped => r.skip(key, "not needed here").unwrap(),
        Status::Failed => r.record_checks(key, vec![result("setup", Outcome::Fail)]).unwrap(),
        Status::Verified => r.record_checks(key, vec![result("setup", Outcome::Pass)]).unwrap(),
        Status::NotApplicable => unreachable!("n/a comes from the profile"),
    }
    assert_eq!(status_of(r, key), status, "setup");
}

#[test]
fn check_results_set_the_status() {
    use Outcome::{Error as E, Fail, NotRun, Pass, Skip, Warn};
    use Status::{Done, Failed, InProgress, Pending, Skipped, Verified};
    let table: &[(Status, &[Outcome], Status)] = &[
        (Pending, &[Fail], Failed),
        (Pending, &[Pass], Verified),
        (Pending, &[Warn], Verified),
        (Pending, &[NotRun], Pending),
        (Pending, &[E], Pending),
        (Pending, &[Skip], Pending),
        (InProgress, &[Pass], Verified),
        (InProgress, &[NotRun], InProgress),
        (Done, &[Pass], Verified),
        (Done, &[Pass, Skip], Verified),
        (Done, &[Pass, Fail], Failed),
        // A Windows probe that cannot run here does not hold back a passing check.
        (Done, &[Pass, NotRun], Verified),
        // A failure is not hidden behind a check that could not tell.
        (Done, &[E, Fail], Failed),
        (Done, &[Pass, E], Done),
        (Done, &[NotRun], Done),
        (Done, &[E], Done),
        (Done, &[Fail], Failed),
        (Failed, &[Pass], Verified),
        (Failed, &[NotRun], Failed),
        (Verified, &[Fail], Failed),
        (Verified, &[NotRun], Verified),
        (Skipped, &[Pass], Skipped),
        (Skipped, &[Fail], Skipped),
        (Skipped, &[NotRun], Skipped),
    ];
    let key = "primary.cert";
    for (n, (start, outcomes, want)) in table.iter().enumerate() {
        let (_dir, path, mut r) = demo();
        bring_to(&mut r, key, *start);
        let seq = last_entry(&path).seq;
        let results: Vec<CheckResult> =
            outcomes.iter().enumerate().map(|(i, o)| result(&format!("check {i}"), *o)).collect();
        r.record_checks(key, results.clone()).unwrap_or_else(|e| panic!("case {n}: {e}"));
        assert_eq!(status_of(&r, key), *want, "case {n}: {start} + {outcomes:?}");

        let e = last_entry(&path);
        assert_eq!(e.seq, seq + 1, "case {n}: every recorded run is journaled");
        assert_eq!((e.from, e.to), (Some(*start), Some(*want)), "case {n}");
        let rec = &on_disk(&path).steps[key];
        assert_eq!(rec.status, *want, "case {n}: on disk");
        for res in &results {
            assert!(rec.checks.contains(res), "case {n}: result `{}` is kept", res.name);
        }
    }
}

#[test]
fn check_results_replace_earlier_results_of_the_same_check() {
    let (_dir, path, mut r) = demo();
    r.record_checks("primary.cert", vec![result("a", Outcome::Fail), result("b", Outcome::Pass)])
        .unwrap();
    r.record_checks("primary.cert", vec![result("a", Outcome::Pass)]).unwrap();
    let rec = &on_disk(&path).steps["primary.cert"];
    let names: Vec<(&str, Outcome)> =
        rec.checks.iter().map(|c| (c.name.as_str(), c.outcome)).collect();
    assert_eq!(names, [("b", Outcome::Pass), ("a", Outcome::Pass)]);
    assert_eq!(rec.status, Status::Verified);

    // No results: nothing to record, no journal line.
    let before = snapshot(&path);
    r.record_checks("primary.cert", Vec::new()).unwrap();
    assert_eq!(snapshot(&path), before);
}

#[test]
fn check_results_leave_an_na_step_na() {
    let (_dir, path, mut r) = demo();
    let key = "mfa.email-settings";
    for outcome in [Outcome::Pass, Outcome::Fail] {
        r.record_checks(key, vec![result("relay", outcome)]).unwrap();
        let e = last_entry(&path);
        assert_eq!(
            (e.from, e.to),
            (Some(Status::NotApplicable), Some(Status::NotApplicable)),
            "{outcome:?}"
        );
        assert_eq!(
            status_of(&r, key),
            Status::NotApplicable,
            "{outcome:?}: the journal and the state agree"
        );
        assert_eq!(open(&path, Access::Read).state.steps[key].checks.len(), 1);
    }
    // A replay of the same journal line agrees.
    let before = bytes(&path);
    r.record_checks(key, vec![result("relay", Outcome::Pass)]).unwrap();
    drop(r);
    std::fs::write(&path, &before).unwrap();
    let w = open(&path, Access::Write);
    assert!(w.notices.iter().any(|n| n.contains("replayed")), "{:?}", w.notices);
    assert_eq!(status_of(&w, key), Status::NotApplicable);
    assert_eq!(w.state.steps[key].checks[0].outcome, Outcome::Pass);
}

#[test]
fn read_only_rollout_refuses_changes() {
    let (_dir, path, w) = demo();
    let mut r = open(&path, Access::Read);
    assert!(!r.writable());
    let before = snapshot(&path);
    let err = r.attest("primary.cert", None, BTreeMap::new()).unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    r.remember_position("primary.cert");
    assert_eq!(snapshot(&path), before);
    drop(w);
}

#[test]
fn replays_a_change_the_state_file_missed() {
    let (_dir, path, mut r) = demo();
    r.attest("primary.cert", Some("one".into()), BTreeMap::new()).unwrap();
    // A crash after the journal append but before the save: put the old file back.
    let before = bytes(&path);
    r.attest("primary.iis-role", Some("two".into()), BTreeMap::new()).unwrap();
    r.set(&[("portal_address".into(), "10.1.2.3".into())]).unwrap();
    drop(r);
    std::fs::write(&path, &before).unwrap();
    assert_eq!(on_disk(&path).journal_seq, 2);

    // A reader sees the changes but writes nothing.
    let reader = open(&path, Access::Read);
    assert_eq!(reader.state.steps["primary.iis-role"].note.as_deref(), Some("two"));
    assert_eq!(reader.value("portal_address"), Some(Value::Str("10.1.2.3".into())));
    assert!(reader.notices.is_empty(), "{:?}", reader.notices);
    assert_eq!(bytes(&path), before, "a reader never writes");
    drop(reader);

    // A writer finishes the interrupted save and says so.
    let w = open(&path, Access::Write);
    assert!(w.notices.iter().any(|n| n.contains("2 change(s) replayed")), "{:?}", w.notices);
    let state = on_disk(&path);
    assert_eq!(state.journal_seq, 4);
    assert_eq!(state.steps["primary.iis-role"].status, Status::Done);
    assert_eq!(state.steps["primary.iis-role"].note.as_deref(), Some("two"));
    assert_eq!(state.values["portal_address"], Value::Str("10.1.2.3".into()));
    assert_eq!(state, w.state);
    drop(w);
    let again = open(&path, Access::Write);
    assert!(again.notices.is_empty(), "replayed once only: {:?}", again.notices);
}

#[test]
fn replays_an_entry_appended_like_commit_does() {
    let (_dir, path, r) = demo();
    let paths = r.paths.clone();
    drop(r);
    // Exactly what Rollout::commit writes before it saves, then "crash".
    let log = journal::read(&paths.journal).unwrap().unwrap();
    let actor = Actor { user: "alice".into(), host: "MFA01".into(), at: super::now() };
    let action = Action::Skip { step: "primary.updates".into(), reason: "patched by WSUS".into() };
    let entry = Entry {
        seq: log.entries.len() as u64 + 1,
        actor: actor.clone(),
        step: Some("primary.updates".into()),
        from: Some(Status::Pending),
        to: Some(Status::Skipped),
        action,
        prev: log.head,
    };
    journal::append(&paths.journal, &entry).unwrap();

    let mut w = open(&path, Access::Write);
    assert!(
        w.notices.iter().any(|n| n.contains("interrupted save") && n.contains("1 change")),
        "{:?}",
        w.notices
    );
    let rec = &on_disk(&path).steps["primary.updates"];
    assert_eq!(rec.status, Status::Skipped);
    assert_eq!(rec.reason.as_deref(), Some("patched by WSUS"));
    assert_eq!(
        (rec.by.as_deref(), rec.host.as_deref()),
        (Some("alice"), Some("MFA01")),
        "the replay keeps who did it"
    );
    // The next change continues the chain.
    w.start("primary.cert").unwrap();
    assert_eq!(last_entry(&path).seq, 3);
    assert_eq!(on_disk(&path).journal_seq, 3);
}

#[test]
fn cuts_a_torn_last_journal_line() {
    let (_dir, path, mut r) = demo();
    r.attest("primary.cert", None, BTreeMap::new()).unwrap();
    drop(r);
    let paths = Paths::new(&path);
    let intact = bytes(&paths.journal);
    let mut torn = intact.clone();
    torn.extend_from_slice(br#"{"seq":3,"user":"x","host":"y","at":"2025-01-0"#);
    std::fs::write(&paths.journal, &torn).unwrap();

    let reader = open(&path, Access::Read);
    assert!(reader.notices.iter().any(|n| n.contains("line 3")), "{:?}", reader.notices);
    assert_eq!(bytes(&paths.journal), torn, "a reader repairs nothing");
    drop(reader);

    let mut w = open(&path, Access::Write);
    assert!(w.notices.iter().any(|n| n.contains("unfinished last line")), "{:?}", w.notices);
    assert_eq!(bytes(&paths.journal), intact);
    w.start("primary.iis-role").unwrap();
    assert_eq!(entries(&path).len(), 3);
}

#[test]
fn second_writer_is_refused_naming_the_holder() {
    let (_dir, path, w) = demo();
    let before = snapshot(&path);
    for attempt in ["open", "create --force"] {
        let err = match attempt {
            "open" => Rollout::open(book(), &path, Access::Write).unwrap_err(),
            _ => Rollout::create(book(), &path, "demo", &[], true).unwrap_err(),
        };
        let Error::Locked { holder, path: p } = &err else {
            panic!("{attempt}: expected Locked, got {err:?}")
        };
        assert_eq!(p, &path);
        assert!(holder.contains(&current_user()), "{attempt}: {holder}");
        assert!(holder.contains(&current_host()), "{attempt}: {holder}");
        assert!(holder.contains(&format!("pid {}", std::process::id())), "{attempt}: {holder}");
        assert!(err.to_string().contains(holder.as_str()));
    }
    assert_eq!(snapshot(&path), before);
    // Readers are never locked out.
    let r = open(&path, Access::Read);
    assert_eq!(r.state, w.state);
    drop(r);
    drop(w);
    open(&path, Access::Write);
}

#[test]
fn stale_lock_of_a_dead_process_is_taken_over() {
    let (_dir, path, r) = demo();
    drop(r);
    let who = sibling(&path, ".lock.who");
    assert!(sibling(&path, ".lock").exists());
    let ghost = Holder {
        user: "ghost".into(),
        host: "OLDHOST".into(),
        pid: 4_000_000,
        since: "2025-01-01T00:00:00Z".into(),
    };
    std::fs::write(&who, serde_json::to_string(&ghost).unwrap()).unwrap();

    let w = open(&path, Access::Write);
    let notice = w
        .notices
        .iter()
        .find(|n| n.contains("took over"))
        .unwrap_or_else(|| panic!("{:?}", w.notices));
    assert!(
        notice.contains("ghost") && notice.contains("OLDHOST") && notice.contains("4000000"),
        "{notice}"
    );
    let now_held: Holder = serde_json::from_str(&std::fs::read_to_string(&who).unwrap()).unwrap();
    assert_eq!(now_held.pid, std::process::id());
    assert_eq!(now_held.user, current_user());
    drop(w);
    assert!(!who.exists());

    // A garbled holder file is no wall either.
    std::fs::write(&who, "{not json").unwrap();
    let w = open(&path, Access::Write);
    assert!(w.writable());
}

#[test]
fn broken_journal_chain_refuses_writes_but_allows_reads() {
    let (_dir, path, mut r) = demo();
    r.attest("primary.cert", Some("alpha".into()), BTreeMap::new()).unwrap();
    r.attest("primary.iis-role", Some("beta".into()), BTreeMap::new()).unwrap();
    drop(r);
    let paths = Paths::new(&path);
    let text = std::fs::read_to_string(&paths.journal).unwrap();
    let tampered = text.replacen("alpha", "alphA", 1);
    assert_ne!(text, tampered);
    std::fs::write(&paths.journal, &tampered).unwrap();
    let before = snapshot(&path);

    let Err(brk) = journal::parse(&tampered) else { panic!("tampering goes unnoticed") };
    assert_eq!(brk.line, 3, "the line after the changed one no longer chains");
    assert!(brk.reason.contains("line 2"), "the reason names the changed line: {}", brk.reason);

    let err = Rollout::open(book(), &path, Access::Write).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("journal.jsonl:3") && msg.contains("verify"), "{msg}");
    assert_eq!(snapshot(&path), before, "nothing was written");

    let reader = open(&path, Access::Read);
    assert!(reader.notices.iter().any(|n| n.contains("damaged at line 3")), "{:?}", reader.notices);
    assert_eq!(reader.state.steps["primary.iis-role"].note.as_deref(), Some("beta"));
}

#[test]
fn state_ahead_of_its_journal_refuses_writes() {
    let (_dir, path, mut r) = demo();
    r.attest("primary.cert", None, BTreeMap::new()).unwrap();
    drop(r);
    let paths = Paths::new(&path);
    let text = std::fs::read_to_string(&paths.journal).unwrap();
    let first = text.split_inclusive('\n').next().unwrap().to_string();
    std::fs::write(&paths.journal, first).unwrap();

    let err = Rollout::open(book(), &path, Access::Write).unwrap_err();
    assert!(
        err.to_string().contains("records 2 changes") && err.to_string().contains("holds 1"),
        "{err}"
    );
    let reader = open(&path, Access::Read);
    assert!(reader.notices.iter().any(|n| n.contains("records 2 changes")), "{:?}", reader.notices);
}

#[test]
fn hand_broken_state_is_refused_with_its_line_and_left_alone() {
    let (_dir, path, mut r) = demo();
    r.attest("primary.cert", Some("ok".into()), BTreeMap::new()).unwrap();
    drop(r);
    let good = std::fs::read_to_string(&path).unwrap();
    let line_of =
        |needle: &str| good.lines().position(|l| l.contains(needle)).expect("needle in state") + 1;
    let cases: Vec<(&str, String, usize)> = vec![
        (
            "unknown status",
            good.replacen("status = \"done\"", "status = \"donee\"", 1),
            line_of("status = \"done\""),
        ),
        (
            "dangling quote",
            good.replacen("note = \"ok\"", "note = \"ok", 1),
            line_of("note = \"ok\""),
        ),
        ("bad value", good.replacen("\"10.0.0.50\"", "\"10.0.0.500\"", 1), line_of("10.0.0.50")),
        (
            "unknown profile",
            good.replacen("profile = \"demo\"", "profile = \"demoo\"", 1),
            line_of("profile = \"demo\""),
        ),
    ];
    for (what, text, line) in cases {
        assert_ne!(text, good, "{what}: the edit applies");
        std::fs::write(&path, &text).unwrap();
        for access in [Access::Read, Access::Write] {
            let err = Rollout::open(book(), &path, access).unwrap_err();
            let Error::StateCorrupt { line: got, path: p, .. } = &err else {
                panic!("{what}: {err:?}")
            };
            assert_eq!((*got, p), (line, &path), "{what} ({access:?}): {err}");
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                text,
                "{what}: the file is left untouched"
            );
        }
    }
}
