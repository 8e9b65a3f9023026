//! The plain wizard: linear prompts (inquire), one step at a time, no full-screen drawing,
//! so it reads well through a screen reader and over a serial console. It offers the
//! same operations as the TUI, through the same engine calls.
//!
//! Everything goes to standard error, the stream inquire prompts on, so text and prompts
//! stay in order even when standard output is redirected.

use std::collections::BTreeMap;
use std::sync::Arc;

use inquire::error::InquireError;
use inquire::{Select, Text};

use crate::Rollout;
use crate::checks::{self, RunOptions};
use crate::engine::Instance;
use crate::error::{Error, Result};
use crate::ui::detail::Detail;

/// Prints a line on standard error, beside the prompts.
macro_rules! say {
    ($($arg:tt)*) => { eprintln!($($arg)*) };
}

const ATTEST: &str = "Attest this step is done";
const START: &str = "Mark it in progress";
const CHECK: &str = "Run its live checks";
const SKIP: &str = "Skip it (with a reason)";
const RESET: &str = "Reset it to pending";
const SET: &str = "Set a value it uses";
const NEXT: &str = "Go to the next open step";
const GOTO: &str = "Go to another step";
const REPEAT: &str = "Show this step again";
const QUIT: &str = "Quit (your place is remembered)";

/// Runs the plain wizard until the operator quits.
pub fn run(mut rollout: Rollout, opts: &RunOptions) -> Result<u8> {
    if std::env::var_os("NO_COLOR").is_some() || std::env::var("TERM").is_ok_and(|t| t == "dumb") {
        inquire::set_global_render_config(inquire::ui::RenderConfig::empty());
    }
    for n in &rollout.notices {
        say!("notice: {n}");
    }
    if !rollout.state.ui.welcomed {
        say!("{}\n\n{}\n", rollout.runbook.about.title, rollout.runbook.about.welcome.trim_end());
        rollout.mark_welcomed();
    }
    say!("log: {}", rollout.paths.log.display());
    let Some(mut current) = rollout.resume_point() else { return Ok(0) };
    let mut show = true;
    loop {
        if show {
            print_progress(&rollout);
            say!("\n{}", Detail::of(&rollout, &current).to_text());
        }
        show = true;
        let mut options = vec![ATTEST, START];
        if !rollout.step_of(&current).checks.is_empty() {
            options.push(CHECK);
        }
        options.extend([SKIP, RESET, SET, NEXT, GOTO, REPEAT, QUIT]);
        let Some(choice) =
            ask(Select::new(&format!("{} — what now?", current.key), options).prompt())?
        else {
            break;
        };
        match choice {
            ATTEST => {
                if attest(&mut rollout, &current)? {
                    advance(&mut rollout, &mut current);
                }
            }
            START => {
                report(rollout.start(&current.key), &current.key, "in progress");
            }
            CHECK => run_checks(&mut rollout, &current, opts)?,
            SKIP => {
                if let Some(reason) = ask(Text::new("Why is this step not needed?").prompt())? {
                    if reason.trim().is_empty() {
                        say!("a skip needs a reason; nothing changed");
                    } else if report(rollout.skip(&current.key, &reason), &current.key, "skipped") {
                        advance(&mut rollout, &mut current);
                    }
                }
            }
            RESET => {
                report(rollout.reset(&current.key), &current.key, "reset to pending");
            }
            SET => set_value(&mut rollout, &current)?,
            NEXT => advance(&mut rollout, &mut current),
            GOTO => {
                if let Some(inst) = pick_step(&rollout)? {
                    current = inst;
                }
            }
            REPEAT => {}
            _ => break,
        }
        rollout.remember_position(&current.key);
        if choice == SET {
            show = false;
        }
    }
    rollout.remember_position(&current.key);
    Ok(0)
}

/// Turns Esc / Ctrl-C into `None` and a missing terminal into a clear error.
fn ask<T>(answer: std::result::Result<T, InquireError>) -> Result<Option<T>> {
    match answer {
        Ok(v) => Ok(Some(v)),
        Err(InquireError::OperationCanceled | InquireError::OperationInterrupted) => Ok(None),
        Err(InquireError::NotTTY) => Err(Error::Invalid(
            "the plain wizard needs a terminal; in scripts use the subcommands (see --help)".into(),
        )),
        Err(e) => Err(Error::Invalid(format!("cannot prompt: {e}"))),
    }
}

fn report(result: Result<()>, key: &str, what: &str) -> bool {
    match result {
        Ok(()) => {
            say!("{key}: {what}");
            true
        }
        Err(e) => {
            say!("not done: {e}");
            false
        }
    }
}

fn print_progress(rollout: &Rollout) {
    let line: Vec<String> = rollout
        .runbook
        .phases
        .iter()
        .zip(rollout.progress())
        .map(|(p, pr)| format!("{} {}/{}", p.id, pr.closed, pr.total))
        .collect();
    say!("\nProgress: {}", line.join(" · "));
}

fn advance(rollout: &mut Rollout, current: &mut Instance) {
    match rollout.next_open() {
        Some(next) => *current = next,
        None => say!(
            "every step is closed; export the record with `mfa-rollout export --format md -o record.md`"
        ),
    }
}

fn attest(rollout: &mut Rollout, inst: &Instance) -> Result<bool> {
    let fields = rollout.step_of(inst).evidence.clone();
    let rec = rollout.record(&inst.key);
    let mut evidence = BTreeMap::new();
    for f in &fields {
        let found = rec
            .evidence
            .get(&f.key)
            .cloned()
            .or_else(|| rec.checks.iter().find_map(|c| c.evidence.get(&f.key).cloned()))
            .unwrap_or_default();
        let Some(value) = ask(Text::new(&format!("{} (empty = not recorded):", f.label))
            .with_initial_value(&found)
            .prompt())?
        else {
            return Ok(false);
        };
        if !value.trim().is_empty() {
            evidence.insert(f.key.clone(), value.trim().to_string());
        }
    }
    let Some(note) = ask(Text::new("Note (optional):").prompt())? else { return Ok(false) };
    Ok(report(rollout.attest(&inst.key, Some(note), evidence), &inst.key, "attested done"))
}

fn run_checks(rollout: &mut Rollout, inst: &Instance, opts: &RunOptions) -> Result<()> {
    let planned = rollout.plan_checks(inst);
    say!("running {} check(s)…", planned.len());
    let opts = RunOptions { renewal_lead_days: rollout.renewal_lead_days(), ..opts.clone() };
    let on_done: checks::OnDone = Arc::new(|_, r| {
        say!("  {}: {} — {}", r.name, r.outcome.as_str(), r.summary);
        if !r.hint.is_empty() {
            say!("    hint: {}", r.hint);
        }
    });
    let results = checks::run_all(planned, &opts, &on_done)?;
    report(rollout.record_checks(&inst.key, results), &inst.key, "results recorded");
    Ok(())
}

fn set_value(rollout: &mut Rollout, inst: &Instance) -> Result<()> {
    let names: Vec<String> = rollout
        .step_of(inst)
        .inputs
        .iter()
        .filter(|n| rollout.runbook.var(n).is_some_and(|d| d.derived.is_none()))
        .cloned()
        .collect();
    if names.is_empty() {
        say!("this step uses no values you can set");
        return Ok(());
    }
    let Some(name) = ask(Select::new("Which value?", names).prompt())? else { return Ok(()) };
    let current =
        rollout.state.values.get(&name).map(crate::runbook::Value::display).unwrap_or_default();
    let help = rollout.runbook.var(&name).map(|d| d.description.clone()).unwrap_or_default();
    let Some(text) = ask(Text::new(&format!("{name}:"))
        .with_help_message(&help)
        .with_initial_value(&current)
        .prompt())?
    else {
        return Ok(());
    };
    match rollout.set(&[(name.clone(), text)]) {
        Ok(()) => say!(
            "{name} = {}",
            rollout.value(&name).map_or_else(|| "(not set)".into(), |v| v.display())
        ),
        Err(e) => say!("not set: {e}"),
    }
    Ok(())
}

fn pick_step(rollout: &Rollout) -> Result<Option<Instance>> {
    let all = rollout.instances();
    let labels: Vec<String> =
        all.iter().map(|i| format!("{:<12} {}", rollout.status(i).as_str(), i.key)).collect();
    let Some(choice) = ask(Select::new("Which step? (type to filter)", labels.clone())
        .with_page_size(15)
        .prompt())?
    else {
        return Ok(None);
    };
    Ok(labels.iter().position(|l| *l == choice).map(|i| all[i].clone()))
}
