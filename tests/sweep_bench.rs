//! The sweep benchmark (ignored by `cargo test`; run it with `benches/sweep.sh`): 30 network
//! checks against the loopback lab, run by the real binary as one `check` of a phase, and
//! each alone, in the same run. It prints the sweep's wall time, the slowest single check's
//! and their ratio: the sweep should cost about its slowest check, not the sum.
//!
//! The 30 checks live in the only phase (`bench`) of a runbook made of the shipped
//! variables and profiles (`--runbook`): 10 `tls`, 8 `http-basic` (with the SDK password), 4 `https`, 4 `smtp`
//! and 4 `tcp` (three hosts each). A second round sends one `tcp` host to a port that
//! drops SYNs: then the sweep costs one `--timeout`.
#![cfg(unix)]

#[path = "lab/mod.rs"]
mod lab;

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lab::hostile::BlackHole;
use lab::smtp::{Mode, SmtpLab};
use lab::{SDK_PASSWORD, TlsLab};

const ROUNDS: usize = 3;

/// The bench phase: `(kind, params)` for each of the 30 steps.
fn specs(black_hole: bool) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for _ in 0..10 {
        out.push(("tls", "host = \"mfa.corp.contoso.com\"".to_string()));
    }
    for _ in 0..8 {
        out.push((
            "http-basic",
            "url = \"${sdk_url}\"\nuser = \"${sdk_account_qualified}\"".to_string(),
        ));
    }
    for _ in 0..4 {
        out.push(("https", "url = \"${portal_url}\"".to_string()));
    }
    for _ in 0..4 {
        out.push((
            "smtp",
            "host = \"smtp.corp.contoso.com\"\nfrom = \"${email_from}\"".to_string(),
        ));
    }
    for i in 0..4 {
        let last = if black_hole && i == 3 { "hole.bench.test" } else { "c.bench.test" };
        out.push(("tcp", format!("hosts = \"a.bench.test, b.bench.test, {last}\"")));
    }
    out
}

fn write_runbook(dir: &Path, black_hole: bool) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The shipped variables and profiles, and no phase but the bench's: the other phases'
    // checks are not what is measured.
    for folder in ["screens", "profiles"] {
        std::fs::create_dir_all(dir.join(folder)).unwrap();
        for entry in std::fs::read_dir(src.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap();
            if folder == "profiles" || name == "about.toml" || name == "variables.toml" {
                std::fs::copy(&path, dir.join(folder).join(name)).unwrap();
            }
        }
    }
    let mut phase = String::from(
        "id = \"bench\"\ntitle = \"Sweep benchmark\"\norder = 99\nrole = \"any\"\nsummary = \"Thirty network checks.\"\n",
    );
    phase.push_str(
        "\n[[step]]\nid = \"bench.none\"\ntitle = \"No check\"\nwhy = \"Baseline.\"\ninstructions = \"Baseline: start-up, state and output without any check.\"\n",
    );
    for (i, (kind, params)) in specs(black_hole).iter().enumerate() {
        let _ = write!(
            phase,
            "\n[[step]]\nid = \"bench.{i:02}\"\ntitle = \"Check {i}\"\nwhy = \"Benchmark.\"\ninstructions = \"Benchmark.\"\ninputs = [\"sdk_url\", \"sdk_account_qualified\", \"portal_url\", \"email_from\"]\n\n[[step.check]]\nkind = \"{kind}\"\nname = \"{kind} {i}\"\n{params}\n"
        );
    }
    std::fs::write(dir.join("screens/99-bench.toml"), phase).unwrap();
}

struct Bench {
    dir: tempfile::TempDir,
    args: Vec<String>,
}

impl Bench {
    fn run(&self, target: &str) -> (Duration, serde_json::Value) {
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_mfa-rollout"))
            .current_dir(self.dir.path())
            .args(&self.args)
            .args(["check", target, "--format", "json"])
            .env("MFA_ROLLOUT_SECRET_SDK_PASSWORD", SDK_PASSWORD)
            .env_remove("MFA_ROLLOUT_STATE")
            .output()
            .unwrap();
        let took = started.elapsed();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (took, json)
    }
}

/// Seconds since midnight of a log line's `2026-01-02T03:04:05.678901Z` timestamp.
fn stamp(line: &str) -> Option<f64> {
    let time = line.get(11..26)?;
    let h: f64 = time.get(0..2)?.parse().ok()?;
    let m: f64 = time.get(3..5)?.parse().ok()?;
    let s: f64 = time.get(6..)?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// From a sweep's log lines: how long the checks ran (first start to last end, a start
/// being an end less the check's duration) and how long recording the results took (first
/// to last recorded change), in ms.
fn phases(log: &str, results: &[serde_json::Value]) -> (f64, f64) {
    let mut first_start = f64::MAX;
    let mut last_end = 0.0f64;
    let mut recorded: Vec<f64> = Vec::new();
    for line in log.lines() {
        let Some(at) = stamp(line) else { continue };
        if let Some(rest) = line.split_once("check ran check=").map(|(_, r)| r) {
            let name = rest.split(" outcome=").next().unwrap_or_default();
            let ms = results
                .iter()
                .find(|r| r["name"] == name)
                .and_then(|r| r["duration_ms"].as_u64())
                .unwrap_or(0);
            first_start = first_start.min(at - f64::from(u32::try_from(ms).unwrap_or(0)) / 1000.0);
            last_end = last_end.max(at);
        } else if line.contains("change recorded") {
            recorded.push(at);
        }
    }
    let record = match (recorded.first(), recorded.last()) {
        (Some(a), Some(b)) => (b - a) * 1000.0,
        _ => 0.0,
    };
    ((last_end - first_start).max(0.0) * 1000.0, record)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
#[ignore = "a benchmark: run benches/sweep.sh"]
fn sweep_of_30_checks_costs_about_its_slowest_check() {
    let tls = TlsLab::start();
    let relay = SmtpLab::start(&tls, Mode::StartTls);
    let listeners: Vec<TcpListener> =
        (0..3).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let hole = BlackHole::start();
    let port = |i: usize| listeners[i].local_addr().unwrap().port();
    let timeout = 3;

    for black_hole in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        write_runbook(dir.path(), black_hole);
        let runbook = dir.path().display().to_string();
        let mut args = vec![
            "--runbook".to_string(),
            runbook,
            "--timeout".into(),
            timeout.to_string(),
            "--ca-file".into(),
            tls.ca_file().display().to_string(),
        ];
        for c in [
            tls.connect_arg("valid"),
            format!("mfaweb.corp.contoso.com=127.0.0.1:{}", tls.port("portal")),
            relay.connect_arg(),
            format!("a.bench.test=127.0.0.1:{}", port(0)),
            format!("b.bench.test=127.0.0.1:{}", port(1)),
            format!("c.bench.test=127.0.0.1:{}", port(2)),
            format!("hole.bench.test=127.0.0.1:{}", hole.port()),
        ] {
            args.extend(["--connect".to_string(), c]);
        }
        let bench = Bench { dir, args };
        let init = Command::new(env!("CARGO_BIN_EXE_mfa-rollout"))
            .current_dir(bench.dir.path())
            .args(&bench.args)
            .args(["init", "--profile", "demo"])
            .output()
            .unwrap();
        assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));

        let mut rows: Vec<[f64; 6]> = Vec::new();
        for round in 0..ROUNDS {
            // Each check alone: the process's wall time and the check's own duration.
            let mut slowest_wall = (0.0f64, String::new());
            let mut slowest_check = 0.0f64;
            for i in 0..30 {
                let step = format!("bench.{i:02}");
                let (took, json) = bench.run(&step);
                let ms = took.as_secs_f64() * 1000.0;
                if ms > slowest_wall.0 {
                    slowest_wall = (ms, step);
                }
                let own = json["results"][0]["duration_ms"].as_u64().unwrap_or(0);
                slowest_check =
                    slowest_check.max(f64::from(u32::try_from(own).unwrap_or(u32::MAX)));
            }

            // The sweep: the process's wall time, and from the log the time the checks ran
            // (first start to last end) and the time the results took to record.
            let log = bench.dir.path().join("mfa-rollout.log");
            let before = std::fs::read_to_string(&log).map_or(0, |t| t.len());
            let (sweep, json) = bench.run("bench");
            let results = json["results"].as_array().unwrap();
            assert_eq!(results.len(), 30);
            let failing = results.iter().filter(|r| r["outcome"] != "pass").count();
            assert_eq!(failing, usize::from(black_hole), "{json:#}");
            let text = std::fs::read_to_string(&log).unwrap();
            let (checks_ms, record_ms) = phases(&text[before..], results);
            let (baseline, _) = bench.run("bench.none");
            let sweep_ms = sweep.as_secs_f64() * 1000.0;
            let row = [
                sweep_ms,
                slowest_wall.0,
                sweep_ms / slowest_wall.0,
                checks_ms,
                slowest_check,
                checks_ms / slowest_check.max(1.0),
            ];
            println!(
                "{} round {round}: process: sweep {:.0} ms / slowest single ({}) {:.0} ms = {:.2}; checks: running all {:.0} ms / slowest alone {:.0} ms = {:.2}; recording the sweep's results {record_ms:.0} ms; a run without checks {:.0} ms",
                if black_hole { "black hole" } else { "healthy   " },
                row[0],
                slowest_wall.1,
                row[1],
                row[2],
                row[3],
                row[4],
                row[5],
                baseline.as_secs_f64() * 1000.0,
            );
            rows.push(row);
        }
        let col = |i: usize| median(rows.iter().map(|r| r[i]).collect());
        println!(
            "{} (--timeout {timeout}, medians of {ROUNDS}): process wall {:.0} ms vs slowest single {:.0} ms, ratio {:.2}; checks alone {:.0} ms vs slowest check {:.0} ms, ratio {:.2}",
            if black_hole { "with one black-holing host" } else { "all hosts healthy" },
            col(0),
            col(1),
            col(2),
            col(3),
            col(4),
            col(5),
        );
        if black_hole {
            // A host that drops SYNs costs one timeout, not one per check.
            assert!(col(5) < 1.5, "{rows:?}");
        }
    }
}
