//! One function per subcommand. Each opens the rollout with the access it needs (read-only
//! commands never take the writer lock), calls the engine, and prints text or JSON.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clap::CommandFactory;
use serde_json::json;

use crate::cli::{
    CheckArgs, CheckFormat, Command, ExportFormat, ListFormat, NetArgs, SecretCommand,
};
use mfa_rollout::checks::{self, CheckResult, Outcome, RunOptions};
use mfa_rollout::engine::Instance;
use mfa_rollout::runbook::Runbook;
use mfa_rollout::state::journal;
use mfa_rollout::ui::detail::Detail;
use mfa_rollout::{Access, Error, Result, Rollout, report};

/// Prints a line to standard output; a closed pipe (`| head`) ends the program quietly
/// instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            crate::cmd::output_failed(&e);
        }
    }};
}

/// Like `say!` without the newline.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout(), $($arg)*) {
            crate::cmd::output_failed(&e);
        }
    }};
}

/// Standard output went away: a closed pipe is a normal end; anything else is reported.
pub fn output_failed(e: &std::io::Error) {
    if e.kind() != std::io::ErrorKind::BrokenPipe {
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(2);
    }
    std::process::exit(0);
}

pub fn dispatch(command: Command, book: Runbook, state: &Path, net: &NetArgs) -> Result<u8> {
    match command {
        Command::Init { profile, set, force } => init(book, state, &profile, &set, force),
        Command::Status(f) => Ok(status(&open(book, state, Access::Read)?, f.format)),
        Command::Steps(f) => Ok(steps(&open(book, state, Access::Read)?, f.format)),
        Command::Vars(f) => Ok(vars(&open(book, state, Access::Read)?, f.format)),
        Command::Show { step } => show(&open(book, state, Access::Read)?, &step),
        Command::Check(args) => check(book, state, &args, net),
        Command::Attest { step, note, evidence } => {
            let mut r = open(book, state, Access::Write)?;
            let list = pairs(&evidence, "--evidence")?;
            let mut evidence = BTreeMap::new();
            for (k, v) in list {
                if evidence.insert(k.clone(), v).is_some() {
                    return Err(Error::Invalid(format!(
                        "--evidence {k}=… is given twice; give each key once"
                    )));
                }
            }
            r.attest(&step, note, evidence)?;
            done(&r, &step)
        }
        Command::Start { step } => {
            let mut r = open(book, state, Access::Write)?;
            r.start(&step)?;
            done(&r, &step)
        }
        Command::Skip { step, reason } => {
            let reason = reason.ok_or_else(|| {
                Error::Invalid(
                    "a skip needs a reason: --reason \"why this step is not needed\"".into(),
                )
            })?;
            let mut r = open(book, state, Access::Write)?;
            r.skip(&step, &reason)?;
            done(&r, &step)
        }
        Command::Reset { step } => {
            let mut r = open(book, state, Access::Write)?;
            r.reset(&step)?;
            done(&r, &step)
        }
        Command::Set { pairs: list } => {
            let mut r = open(book, state, Access::Write)?;
            let list = pairs(&list, "set")?;
            r.set(&list)?;
            for (k, _) in &list {
                say!("{k} = {}", r.value(k).map_or_else(|| "(not set)".into(), |v| v.display()));
            }
            Ok(0)
        }
        Command::Apply { step, file, dry_run, yes } => {
            apply(&open(book, state, Access::Read)?, &step, file.as_deref(), dry_run, yes)
        }
        Command::Secret { action: SecretCommand::Set { name } } => {
            secret_set(&open(book, state, Access::Read)?, &name)
        }
        Command::Export { format, output, force } => {
            export(&open(book, state, Access::Read)?, format, output.as_deref(), force)
        }
        Command::Log(f) => log(&open(book, state, Access::Read)?, f.format),
        Command::Verify { record } => verify(state, record.as_deref()),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut crate::cli::Cli::command(),
                "mfa-rollout",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
    }
}

fn open(book: Runbook, state: &Path, access: Access) -> Result<Rollout> {
    let r = Rollout::open(book, state, access)?;
    for n in &r.notices {
        eprintln!("notice: {n}");
    }
    for orphan in r.orphan_records() {
        eprintln!(
            "notice: the state records step `{orphan}`, which this runbook does not have; it is kept as is"
        );
    }
    Ok(r)
}

fn pairs(list: &[String], flag: &str) -> Result<Vec<(String, String)>> {
    list.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| Error::Invalid(format!("{flag} `{p}` must be KEY=VALUE")))
        })
        .collect()
}

fn done(r: &Rollout, step: &str) -> Result<u8> {
    let inst = r.find(step)?;
    say!("{}: {}", inst.key, r.status(&inst));
    Ok(0)
}

fn init(book: Runbook, state: &Path, profile: &str, set: &[String], force: bool) -> Result<u8> {
    let list = pairs(set, "--set")?;
    let r = Rollout::create(book, state, profile, &list, force)?;
    for n in &r.notices {
        eprintln!("notice: {n}");
    }
    say!("created {} from the {profile} profile ({} steps)", state.display(), r.instances().len());
    let missing = r.missing_values();
    if !missing.is_empty() {
        say!(
            "still to set: {}\n  e.g. `mfa-rollout set {}=VALUE`; `mfa-rollout vars` explains each",
            missing.join(", "),
            missing[0]
        );
    }
    say!("open the wizard with `mfa-rollout{}`", mfa_rollout::error::state_flag(state));
    Ok(0)
}

fn status(r: &Rollout, format: ListFormat) -> u8 {
    let progress = r.progress();
    let next = r.next_open().map(|i| i.key);
    if format == ListFormat::Json {
        let phases: Vec<_> = r
            .runbook
            .phases
            .iter()
            .zip(&progress)
            .map(|(p, pr)| {
                json!({"id": p.id, "title": p.title, "role": p.role.label(), "total": pr.total,
                       "closed": pr.closed, "failed": pr.failed, "in_progress": pr.in_progress})
            })
            .collect();
        let total: usize = progress.iter().map(|p| p.total).sum();
        let closed: usize = progress.iter().map(|p| p.closed).sum();
        print_json(&json!({
            "rollout": r.state.rollout, "profile": r.state.profile, "state_file": r.paths.state,
            "log_file": r.paths.log, "total": total, "closed": closed, "phases": phases,
            "next": next, "missing_values": r.missing_values(),
        }));
        return 0;
    }
    say!("rollout {} ({} profile), {}", r.state.rollout, r.state.profile, r.paths.state.display());
    for (p, pr) in r.runbook.phases.iter().zip(&progress) {
        let mut extra = String::new();
        if pr.failed > 0 {
            extra = format!("  {} failed", pr.failed);
        }
        say!(
            "  {:<16} {:>2}/{:<2} {}{}",
            p.id,
            pr.closed,
            pr.total,
            bar(pr.closed, pr.total),
            extra
        );
    }
    let total: usize = progress.iter().map(|p| p.total).sum();
    let closed: usize = progress.iter().map(|p| p.closed).sum();
    say!("  {closed} of {total} steps closed");
    if let Some(k) = next {
        say!("next: {k}  (`mfa-rollout show {k}`)");
    } else {
        say!(
            "every step is closed; export the record with `mfa-rollout export --format md -o record.md`"
        );
    }
    let missing = r.missing_values();
    if !missing.is_empty() {
        say!("still to set: {}", missing.join(", "));
    }
    0
}

fn bar(done: usize, total: usize) -> String {
    let width = 20;
    let filled = (done * width).checked_div(total).unwrap_or(width);
    format!("[{}{}]", "#".repeat(filled), ".".repeat(width - filled))
}

fn steps(r: &Rollout, format: ListFormat) -> u8 {
    let list: Vec<(Instance, mfa_rollout::state::Status)> = r
        .instances()
        .into_iter()
        .map(|i| {
            let s = r.status(&i);
            (i, s)
        })
        .collect();
    if format == ListFormat::Json {
        let items: Vec<_> = list
            .iter()
            .map(|(i, s)| {
                let rec = r.record(&i.key);
                json!({"key": i.key, "id": r.step_of(i).id, "phase": r.phase_of(i).id, "server": i.host,
                       "title": r.render(&r.step_of(i).title, i.host.as_deref()), "status": s.as_str(),
                       "by": rec.by, "at": rec.at})
            })
            .collect();
        print_json(&json!(items));
        return 0;
    }
    for (i, s) in &list {
        say!(
            "{:<12} {:<15} {:<44} {}",
            s.as_str(),
            r.phase_of(i).id,
            i.key,
            r.render(&r.step_of(i).title, i.host.as_deref())
        );
    }
    0
}

fn vars(r: &Rollout, format: ListFormat) -> u8 {
    if format == ListFormat::Json {
        let items: Vec<_> = r
            .runbook
            .variables
            .iter()
            .map(|v| {
                json!({"name": v.name, "kind": v.kind, "list": v.list, "optional": v.optional,
                       "value": r.value(&v.name), "origin": r.value_origin(&v.name), "description": v.description})
            })
            .collect();
        print_json(&json!(items));
        return 0;
    }
    for v in &r.runbook.variables {
        let value = r.value(&v.name).map_or_else(|| "(not set)".into(), |x| x.display());
        say!("{:<22} {:<40} {:<8} {}", v.name, value, r.value_origin(&v.name), v.description);
    }
    0
}

fn show(r: &Rollout, step: &str) -> Result<u8> {
    let inst = r.find(step)?;
    say_raw!("{}", Detail::of(r, &inst).to_text());
    Ok(0)
}

fn select(r: &Rollout, names: &[String]) -> Result<Vec<Instance>> {
    if names.is_empty() {
        return Ok(r
            .instances()
            .into_iter()
            .filter(|i| r.applies(i) && !r.step_of(i).checks.is_empty())
            .collect());
    }
    let mut out = Vec::new();
    for name in names {
        if let Some(pi) = r.runbook.phases.iter().position(|p| &p.id == name) {
            out.extend(
                r.instances()
                    .into_iter()
                    .filter(|i| i.phase == pi && r.applies(i) && !r.step_of(i).checks.is_empty()),
            );
        } else {
            out.push(r.find(name)?);
        }
    }
    Ok(out)
}

/// Turns the global `--timeout`, `--connect` and `--ca-file` into check options.
pub fn net_options(net: &NetArgs) -> Result<RunOptions> {
    let mut opts =
        RunOptions { timeout: Duration::from_secs(net.timeout), ..RunOptions::default() };
    if let Some(ca) = &net.ca_file {
        opts.extra_roots = checks::load_ca_file(ca)?;
    }
    for c in &net.connect {
        let (name, target) = checks::parse_connect(c)?;
        opts.connect.insert(name, target);
    }
    Ok(opts)
}

/// Runs checks without holding the writer lock (they may take a while, and the wizard may
/// be open); takes the lock only to record the results.
fn check(book: Runbook, state: &Path, args: &CheckArgs, net: &NetArgs) -> Result<u8> {
    let r = open(book.clone(), state, Access::Read)?;
    let mut opts = net_options(net)?;
    opts.renewal_lead_days = r.renewal_lead_days();
    let mut instances = select(&r, &args.steps)?;
    let mut seen = std::collections::HashSet::new();
    instances.retain(|i| seen.insert(i.key.clone()));
    let planned: Vec<_> = instances.iter().flat_map(|i| r.plan_checks(i)).collect();

    let targets: std::collections::HashSet<String> =
        planned.iter().flat_map(checks::connect_names).collect();
    for name in opts.connect.keys().filter(|n| !targets.contains(*n)) {
        eprintln!("notice: --connect {name}=…: no check here connects to {name}; it is not used");
    }

    if planned.is_empty() {
        eprintln!(
            "no live checks for the steps named; steps with checks: {}",
            steps_with_checks(&r)
        );
        match args.format {
            CheckFormat::Json => print_json(&json!({"results": [], "counts": {}, "exit_code": 0})),
            CheckFormat::Junit => say_raw!("{}", junit(&[], &[])),
            CheckFormat::Text => {}
        }
        return Ok(0);
    }
    let total = planned.len();
    let progress = std::io::stderr().is_terminal() && args.format == CheckFormat::Text;
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let on_done: checks::OnDone = Arc::new(move |_, res| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if progress {
            eprint!("\r[{n}/{total}] {:<60}", truncate(&res.name, 60));
        }
    });
    let steps_of: Vec<String> = planned.iter().map(|p| p.step.clone()).collect();
    let results = checks::run_all(planned, &opts, &on_done)?;
    if progress {
        eprint!("\r{:<70}\r", "");
    }

    let mut by_step: BTreeMap<String, Vec<CheckResult>> = BTreeMap::new();
    for (step, res) in steps_of.iter().zip(&results) {
        by_step.entry(step.clone()).or_default().push(res.clone());
    }
    let recorded = Rollout::open(book, state, Access::Write).and_then(|mut w| {
        w.record_check_batch(by_step.iter().map(|(k, v)| (k.clone(), v.clone())).collect())?;
        Ok(w)
    });

    let worst = results.iter().map(|x| x.outcome).max().unwrap_or(Outcome::Pass);
    let code = match worst {
        Outcome::Error => 2,
        Outcome::Fail => 1,
        _ => 0,
    };
    match args.format {
        CheckFormat::Json => {
            let items: Vec<_> = steps_of
                .iter()
                .zip(&results)
                .map(|(s, res)| {
                    let mut v = serde_json::to_value(res).unwrap_or_default();
                    v["step"] = json!(s);
                    v
                })
                .collect();
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for res in &results {
                *counts.entry(res.outcome.as_str()).or_default() += 1;
            }
            print_json(&json!({"results": items, "counts": counts, "exit_code": code}));
        }
        CheckFormat::Junit => say_raw!("{}", junit(&steps_of, &results)),
        CheckFormat::Text => {
            for (s, res) in steps_of.iter().zip(&results) {
                say!("{:<8} {:<34} {}", res.outcome.as_str().to_uppercase(), s, res.summary);
                if !res.hint.is_empty() {
                    say!("         hint: {}", res.hint);
                }
            }
            if let Ok(w) = &recorded {
                for step in by_step.keys() {
                    let inst = w.find(step)?;
                    say!("{step}: {}", w.status(&inst));
                }
            }
        }
    }
    if let Err(e) = recorded {
        eprintln!("error: the results above were not recorded: {e}");
        return Ok(2);
    }
    Ok(code)
}

fn steps_with_checks(r: &Rollout) -> String {
    r.instances()
        .into_iter()
        .filter(|i| !r.step_of(i).checks.is_empty())
        .map(|i| i.key)
        .collect::<Vec<_>>()
        .join(", ")
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn junit(steps: &[String], results: &[CheckResult]) -> String {
    use std::fmt::Write as _;
    let failures = results.iter().filter(|r| r.outcome == Outcome::Fail).count();
    let errors = results.iter().filter(|r| r.outcome == Outcome::Error).count();
    let skipped =
        results.iter().filter(|r| matches!(r.outcome, Outcome::Skip | Outcome::NotRun)).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"mfa-rollout checks\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n",
        results.len()
    );
    for (s, r) in steps.iter().zip(results) {
        let time = format!("{}.{:03}", r.duration_ms / 1000, r.duration_ms % 1000);
        let _ = writeln!(
            out,
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{time}\">",
            xml(s),
            xml(&r.name)
        );
        let body = xml(&format!("{}\n{}", r.summary, r.hint));
        let summary = xml(&r.summary);
        let _ = match r.outcome {
            Outcome::Fail => writeln!(out, "    <failure message=\"{summary}\">{body}</failure>"),
            Outcome::Error => writeln!(out, "    <error message=\"{summary}\">{body}</error>"),
            Outcome::Skip | Outcome::NotRun => {
                writeln!(out, "    <skipped message=\"{summary}\"/>")
            }
            Outcome::Pass | Outcome::Warn => writeln!(out, "    <system-out>{body}</system-out>"),
        };
        out.push_str("  </testcase>\n");
    }
    out.push_str("</testsuite>\n");
    out
}

/// `apply STEP`: plan the file edit, show the diff (passwords masked), ask or take
/// `--yes`, then back up and write. Without a terminal and without `--yes` it never waits.
fn apply(r: &Rollout, step: &str, file: Option<&Path>, dry_run: bool, yes: bool) -> Result<u8> {
    use mfa_rollout::edit;
    let plan = edit::step::plan(r, step, file)?;
    let path = plan.path.display().to_string();
    if plan.is_noop() {
        say!("{path} already holds every value; nothing to change");
        return Ok(0);
    }
    say!("changes to {path}: {}", plan.changed.join(", "));
    say_raw!("{}", plan.diff());
    if dry_run {
        say!("dry run: nothing was written");
        return Ok(0);
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Invalid(
                "apply asks before writing, and no terminal is attached: add --yes to write, or --dry-run to only show the diff".into(),
            ));
        }
        let answer = inquire::Confirm::new(&format!("Write these changes to {path}?"))
            .with_default(false)
            .prompt()
            .map_err(|e| Error::Invalid(format!("no answer ({e}); nothing was written")))?;
        if !answer {
            say!("nothing was written");
            return Ok(0);
        }
    }
    let backup = edit::write_with_backup(&plan)?;
    say!("wrote {path}\nbackup: {}", backup.display());
    let key = r.find(step)?.key;
    say!(
        "prove it with `mfa-rollout{} check {key}`; record it with `mfa-rollout{} attest {key} --evidence backup={}`",
        mfa_rollout::error::state_flag(&r.paths.state),
        mfa_rollout::error::state_flag(&r.paths.state),
        mfa_rollout::error::quote(&backup)
    );
    Ok(0)
}

fn secret_set(r: &Rollout, name: &str) -> Result<u8> {
    mfa_rollout::secrets::check_name(name)?;
    let Some(domain) = r.value("domain").map(|v| v.display()).filter(|d| !d.is_empty()) else {
        return Err(Error::Invalid(
            "secrets are kept per domain, and `domain` is not set yet\n  set it first: `mfa-rollout set domain=corp.contoso.com`".into(),
        ));
    };
    let secret = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("{name} (input hidden): "))
            .map_err(|e| Error::Secret(format!("cannot read the secret: {e}")))?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::Secret(format!("cannot read standard input: {e}")))?;
        text.trim_end_matches(['\r', '\n']).to_string()
    };
    let place = mfa_rollout::secrets::set(&domain, name, &secret)?;
    say!("stored {name} for {domain} in {place}");
    Ok(0)
}

fn export(r: &Rollout, format: ExportFormat, output: Option<&Path>, force: bool) -> Result<u8> {
    let record = report::build(r);
    let text = report::render(&record, format.name()).unwrap_or_default();
    if format == ExportFormat::Ics && report::certificates(&record).is_empty() {
        eprintln!(
            "notice: no certificate with an expiry date is recorded yet: run the TLS checks (`mfa-rollout check primary`) or attest with --evidence expires=YYYY-MM-DD thumbprint=..."
        );
    }
    match output {
        None => {
            std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(|e| Error::io("standard output", e))?;
        }
        Some(path) => {
            report::write_file(r, path, &text, force)?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(0)
}

fn log(r: &Rollout, format: ListFormat) -> Result<u8> {
    let journal = journal::read(&r.paths.journal)?.map_err(|b| {
        Error::Invalid(format!(
            "{}:{}: {}\n  run `mfa-rollout verify`",
            r.paths.journal.display(),
            b.line,
            b.reason
        ))
    })?;
    if format == ListFormat::Json {
        print_json(&json!(journal.entries));
        return Ok(0);
    }
    for e in &journal.entries {
        let what = match (&e.step, e.from, e.to) {
            (Some(s), Some(f), Some(t)) if f != t => format!("{s}: {f} → {t}"),
            (Some(s), _, Some(t)) => format!("{s}: {t}"),
            _ => describe(&e.action),
        };
        let extra = match &e.action {
            mfa_rollout::state::action::Action::Attest { note: Some(n), .. } => {
                format!("  \"{}\"", n.replace('\n', " ⏎ "))
            }
            mfa_rollout::state::action::Action::Skip { reason, .. } => {
                format!("  \"{}\"", reason.replace('\n', " ⏎ "))
            }
            _ => String::new(),
        };
        say!("{:>4} {} {}@{}  {what}{extra}", e.seq, e.actor.at, e.actor.user, e.actor.host);
    }
    Ok(0)
}

fn describe(action: &mfa_rollout::state::action::Action) -> String {
    use mfa_rollout::state::action::Action;
    match action {
        Action::Init { profile, .. } => format!("created from the {profile} profile"),
        Action::Set { values } => {
            format!(
                "set {}",
                values
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.display()))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
        Action::Checked { step, results } => format!("{step}: {} check(s) ran", results.len()),
        other => other.step().unwrap_or_default().to_string(),
    }
}

fn verify(state: &Path, record: Option<&Path>) -> Result<u8> {
    let paths = mfa_rollout::state::Paths::new(state);
    if !paths.journal.exists() {
        return Err(Error::Invalid(format!(
            "no journal at {}\n  the journal lives beside the state file; check --state",
            paths.journal.display()
        )));
    }
    let checked = journal::read(&paths.journal)?.and_then(|j| {
        // A state file that cannot be read says nothing about the journal's length.
        if let Ok(st) = mfa_rollout::state::State::load(&paths.state) {
            journal::check_against_state(&j, st.journal_seq)?;
        }
        Ok(j)
    });
    let j = match checked {
        Ok(j) => j,
        Err(b) => {
            say!("journal BROKEN at {}:{}: {}", paths.journal.display(), b.line, b.reason);
            return Ok(1);
        }
    };
    let n = j.entries.len();
    say!("journal intact: {n} {}, final hash {}", plural(n, "entry", "entries"), j.head);
    let Some(file) = record else { return Ok(0) };

    let text = std::fs::read(file).map_err(|e| Error::io(file, e))?;
    let text = String::from_utf8_lossy(&text);
    let Some((entries, head)) = report::find_marker(&text) else {
        return Err(Error::Invalid(format!(
            "{}: no `journal entries=N head=HEX` line; is this a record exported by mfa-rollout?",
            file.display()
        )));
    };
    let at = match entries {
        0 => journal::GENESIS.to_string(),
        k if k <= n => journal::hash_of_line(&paths.journal, k)?,
        _ => {
            say!(
                "record DOES NOT MATCH: it was exported after {entries} changes, but the journal holds only {n}"
            );
            return Ok(1);
        }
    };
    if at == head {
        let later = n - entries;
        say!(
            "record matches the journal at entry {entries}{}",
            if later == 0 {
                " (the latest)".to_string()
            } else {
                format!("; {later} change(s) were recorded after it")
            }
        );
        Ok(0)
    } else {
        say!(
            "record DOES NOT MATCH: its hash for entry {entries} is {head}, the journal's is {at}: the record or the journal was altered"
        );
        Ok(1)
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

fn print_json(v: &serde_json::Value) {
    say!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}
