//! The SIGKILL loop: writers are killed at random moments, and after every kill the
//! rollout must still load, the journal must still verify, and every change a writer
//! acknowledged (exit 0) must be in the state file.
//!
//! `MFA_KILL_LOOP_ITERATIONS` sets the number of kills (default 150, so CI stays fast;
//! `scripts/kill-loop 1000` runs a long one in release mode). `MFA_KILL_LOOP_SEED`
//! replays a run: the seed is printed at the start.
#![cfg(unix)]

use std::io::Read as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mfa-rollout");

/// xorshift64: a tiny PRNG, enough to spread the kill moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        f64::from(u32::try_from(self.next() >> 32).unwrap_or(0)) / 4_294_967_296.0
    }
}

fn seed() -> u64 {
    if let Some(s) = std::env::var("MFA_KILL_LOOP_SEED").ok().and_then(|s| s.parse().ok()) {
        return s;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs().wrapping_mul(1_000_000_007) ^ u64::from(d.subsec_nanos()));
    // Never zero: xorshift would stay at zero.
    (now ^ u64::from(std::process::id()).rotate_left(32)) | 1
}

fn command(state: &Path, args: &[String]) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(state.parent().unwrap())
        .env_remove("MFA_ROLLOUT_STATE")
        .env_remove("MFA_ROLLOUT_LOG")
        .arg("--state")
        .arg(state)
        .args(args)
        .stdin(Stdio::null());
    c
}

fn run(state: &Path, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_string()).collect();
    command(state, &args).output().expect("run mfa-rollout")
}

fn expect_ok(state: &Path, args: &[&str], context: &str) -> Output {
    let out = run(state, args);
    assert!(
        out.status.success(),
        "{context}: mfa-rollout {args:?} exited {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// One change a writer is asked to make.
#[derive(Debug, Clone)]
enum Change {
    Note(String),
    Address(String),
}

impl Change {
    fn for_iteration(i: usize) -> Self {
        if i.is_multiple_of(2) {
            Self::Note(format!("iter-{i}"))
        } else {
            Self::Address(format!("10.0.{}.{}", (i / 2) % 250, (i / 500) % 250 + 1))
        }
    }

    fn args(&self) -> Vec<String> {
        match self {
            Self::Note(n) => {
                vec!["attest".into(), "primary.cert".into(), "--note".into(), n.clone()]
            }
            Self::Address(a) => vec!["set".into(), format!("portal_address={a}")],
        }
    }
}

/// What is known about one value: the last acknowledged value and every attempt after it
/// whose writer was killed (any of which may have landed).
#[derive(Debug)]
struct Tracked {
    acked: Option<String>,
    maybe: Vec<String>,
}

impl Tracked {
    fn ack(&mut self, v: String) {
        self.acked = Some(v);
        self.maybe.clear();
    }

    fn check(&self, found: Option<&str>, what: &str, context: &str) {
        let ok = match found {
            Some(f) => self.acked.as_deref() == Some(f) || self.maybe.iter().any(|m| m == f),
            None => self.acked.is_none(),
        };
        assert!(
            ok,
            "{context}: {what} is {found:?}, but the last acknowledged value is {:?} (later attempts: {:?})",
            self.acked, self.maybe
        );
    }
}

fn state_table(path: &Path, context: &str) -> toml::Table {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{context}: read {}: {e}", path.display()));
    let table: toml::Table = toml::from_str(&text)
        .unwrap_or_else(|e| panic!("{context}: the state file is not whole TOML: {e}\n{text}"));
    for key in ["schema", "rollout", "profile", "journal_seq", "values"] {
        assert!(table.contains_key(key), "{context}: the state file lacks `{key}`:\n{text}");
    }
    table
}

/// What the first `seq` journal lines say the note of `primary.cert` and `portal_address`
/// are: the state file that claims to reflect those lines must hold exactly that.
fn journal_says(path: &Path, seq: u64) -> (Option<String>, Option<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (mut note, mut address) = (None, None);
    for line in text.lines().take(usize::try_from(seq).unwrap_or(usize::MAX)) {
        let entry: serde_json::Value = serde_json::from_str(line).expect("journal line is JSON");
        let action = &entry["action"];
        match action["op"].as_str() {
            Some("attest") if action["step"] == "primary.cert" => {
                note = action["note"].as_str().map(str::to_string);
            }
            Some("reset") if action["step"] == "primary.cert" => note = None,
            Some("init" | "set") => {
                if let Some(a) = action["values"]["portal_address"].as_str() {
                    address = Some(a.to_string()).filter(|a| !a.is_empty());
                } else if action["op"] == "init" {
                    address = None;
                }
            }
            _ => {}
        }
    }
    (note, address)
}

fn assert_state_matches_journal(state: &Path, journal: &Path, context: &str) {
    let table = state_table(state, context);
    let (note, address) = journal_says(journal, seq_in(&table));
    assert_eq!(
        (note_in(&table), address_in(&table)),
        (note, address),
        "{context}: the state file disagrees with the {} journal lines it claims to reflect",
        seq_in(&table)
    );
}

fn note_in(table: &toml::Table) -> Option<String> {
    table.get("steps")?.get("primary.cert")?.get("note")?.as_str().map(str::to_string)
}

fn address_in(table: &toml::Table) -> Option<String> {
    table.get("values")?.get("portal_address")?.as_str().map(str::to_string)
}

fn seq_in(table: &toml::Table) -> u64 {
    table
        .get("journal_seq")
        .and_then(toml::Value::as_integer)
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0)
}

/// (complete journal lines, whether a partial last line follows)
fn journal_lines(path: &Path) -> (u64, bool) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    (text.matches('\n').count() as u64, !text.is_empty() && !text.ends_with('\n'))
}

/// Median wall time of `n` uncontended runs of a change.
fn measure(
    state: &Path,
    n: usize,
    make: impl Fn(usize) -> Change,
    notes: &mut Tracked,
    addrs: &mut Tracked,
) -> Duration {
    let mut times = Vec::new();
    for k in 0..n {
        let change = make(k);
        let started = Instant::now();
        let out = command(state, &change.args()).output().expect("run");
        times.push(started.elapsed());
        assert!(
            out.status.success(),
            "uncontended {change:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        match change {
            Change::Note(v) => notes.ack(v),
            Change::Address(v) => addrs.ack(v),
        }
    }
    times.sort();
    times[n / 2]
}

/// The kill delays adapt after this many kills.
const WINDOW: usize = 50;

#[derive(Debug, Default)]
struct Counts {
    mid_run: usize,
    after_exit: usize,
    /// Killed writers whose change reached the journal anyway (landed, unacknowledged).
    landed_unacked: usize,
    /// Kills that cut a save short: the journal was level with the state file before the
    /// writer started and ahead of it after the kill (the next writer replays it).
    cut_saves: usize,
    /// Iterations that ended with the journal ahead of the state file.
    journal_ahead: usize,
    /// Kills that left a partial journal line.
    torn_lines: usize,
    /// Writers that reported replaying a change the state file missed.
    replays: usize,
    /// Writers that reported taking over a dead writer's lock.
    takeovers: usize,
}

#[test]
fn sigkill_never_loses_an_acknowledged_change() {
    let iterations: usize =
        std::env::var("MFA_KILL_LOOP_ITERATIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(150);
    let dir = tempfile::tempdir().expect("temp dir");
    let state: PathBuf = dir.path().join("rollout.toml");
    let journal = dir.path().join("rollout.journal.jsonl");
    expect_ok(&state, &["init", "--profile", "demo"], "init");

    let mut notes = Tracked { acked: None, maybe: Vec::new() };
    let mut addrs = Tracked { acked: Some("10.0.0.50".into()), maybe: Vec::new() };
    let warm = |k: usize| Change::Note(format!("warm-{k}"));
    let attest_time = measure(&state, 5, warm, &mut notes, &mut addrs);
    let set_time = measure(
        &state,
        5,
        |k| Change::Address(format!("10.255.255.{}", k + 1)),
        &mut notes,
        &mut addrs,
    );

    let seed = seed();
    let mut rng = Rng(seed);
    println!(
        "kill-loop: {iterations} iterations, seed {seed} (MFA_KILL_LOOP_SEED={seed} replays it); one uncontended attest takes {attest_time:?}, one set {set_time:?}"
    );

    let mut counts = Counts::default();
    let started = Instant::now();
    // Delays are uniform in [0, spread × one uncontended run). A writer after a kill often
    // has more to do (replay, take over the lock), so the spread adapts every WINDOW kills
    // to keep both kinds of kill common: mid-run (what the test is about) and after exit
    // (acknowledged changes to look for).
    let mut spread = 1.2_f64;
    let mut window_acks = 0;
    let (lines, _) = journal_lines(&journal);
    let mut ahead_before = lines > seq_in(&state_table(&state, "start"));
    for i in 0..iterations {
        let context = format!("iteration {i} (seed {seed})");
        let change = Change::for_iteration(i);
        let typical = match change {
            Change::Note(_) => attest_time,
            Change::Address(_) => set_time,
        };
        let delay = typical.mul_f64(spread * rng.unit());
        let (lines_before, _) = journal_lines(&journal);

        let mut child = command(&state, &change.args())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn a writer");
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().expect("wait for the writer");
        let mut stderr = String::new();
        let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut stderr));
        counts.replays += usize::from(stderr.contains("replayed from the journal"));
        counts.takeovers += usize::from(stderr.contains("took over a lock"));

        if status.success() {
            counts.after_exit += 1;
            window_acks += 1;
            match &change {
                Change::Note(v) => notes.ack(v.clone()),
                Change::Address(v) => addrs.ack(v.clone()),
            }
        } else if status.signal() == Some(9) {
            counts.mid_run += 1;
            match &change {
                Change::Note(v) => notes.maybe.push(v.clone()),
                Change::Address(v) => addrs.maybe.push(v.clone()),
            }
        } else {
            panic!(
                "{context}: the writer failed on its own ({status}) after earlier kills:\n{stderr}"
            );
        }

        // Right after the kill, before any other process looks: the state file is whole.
        let table = state_table(&state, &context);
        let (lines, torn) = journal_lines(&journal);
        let ahead = lines > seq_in(&table);
        counts.journal_ahead += usize::from(ahead);
        counts.cut_saves += usize::from(ahead && !ahead_before && !status.success());
        counts.landed_unacked += usize::from(lines > lines_before && !status.success());
        ahead_before = ahead;
        counts.torn_lines += usize::from(torn);
        assert!(
            lines >= seq_in(&table),
            "{context}: the state records more changes than the journal holds"
        );

        let out = expect_ok(&state, &["status", "--format", "json"], &context);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{context}: status JSON: {e}"));
        assert_eq!(json["profile"], "demo", "{context}");

        let table = state_table(&state, &context);
        notes.check(note_in(&table).as_deref(), "the primary.cert note", &context);
        addrs.check(address_in(&table).as_deref(), "portal_address", &context);
        assert_state_matches_journal(&state, &journal, &context);
        if torn {
            // A kill inside the journal write (between two pages of one line) leaves a
            // partial last line: `verify` reports it (exit 1) until the next writer cuts it.
            let out = run(&state, &["verify"]);
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(1), "{context}: verify with a torn tail: {text}");
            assert!(text.contains("cut short"), "{context}: {text}");
        } else {
            expect_ok(&state, &["verify"], &context);
        }

        if (i + 1) % WINDOW == 0 {
            // Fewer than 10% acknowledged: kills come too early; more than half: too late
            // (and the loop proves little).
            if window_acks * 10 < WINDOW {
                spread *= 1.3;
            } else if window_acks * 2 > WINDOW {
                spread /= 1.3;
            }
            window_acks = 0;
        }
    }
    let elapsed = started.elapsed();

    // One more uncontended writer finishes whatever a kill left half done.
    let out = expect_ok(&state, &["start", "primary.iis-role"], "final writer");
    counts.replays +=
        usize::from(String::from_utf8_lossy(&out.stderr).contains("replayed from the journal"));
    let table = state_table(&state, "final");
    notes.check(note_in(&table).as_deref(), "the primary.cert note", "final");
    addrs.check(address_in(&table).as_deref(), "portal_address", "final");
    let (lines, torn) = journal_lines(&journal);
    assert!(!torn, "final: the writer repaired the journal's tail");
    assert_eq!(seq_in(&table), lines, "final: the state reflects every journal line");
    assert_state_matches_journal(&state, &journal, "final");
    expect_ok(&state, &["verify"], "final");

    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect();
    println!(
        "kill-loop: iterations={iterations} mid_run_kills={} post_exit_kills={} killed_but_landed={} saves_cut_short={} iterations_with_journal_ahead={} torn_journal_lines={} replays_reported={} lock_takeovers={} leftover_temp_files={} final_spread={spread:.2}x seed={seed} elapsed={:.1}s",
        counts.mid_run,
        counts.after_exit,
        counts.landed_unacked,
        counts.cut_saves,
        counts.journal_ahead,
        counts.torn_lines,
        counts.replays,
        counts.takeovers,
        leftovers.len(),
        elapsed.as_secs_f64()
    );
    assert!(
        counts.mid_run > 0,
        "no kill landed while a writer was running; the loop proved nothing"
    );
    assert_eq!(counts.mid_run + counts.after_exit, iterations);
}
