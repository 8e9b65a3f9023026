//! The TUI's state and what each key does. No drawing and no terminal I/O here: keys come
//! in as [`Event`]s, operations go to the engine, and `render.rs` draws a snapshot. That
//! keeps every behaviour testable on ratatui's `TestBackend`.

use std::collections::BTreeSet;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::checks::{CheckResult, Planned};
use crate::engine::{Instance, Rollout};

/// Something the event loop hands to the app.
#[derive(Debug)]
pub enum Event {
    Key(KeyEvent),
    Resize,
    /// One check finished (index into the running batch).
    CheckDone(usize, Box<CheckResult>),
    /// A batch finished: (step key, results).
    ChecksFinished(Vec<(String, Vec<CheckResult>)>),
    /// SIGTERM or similar: leave cleanly.
    Terminate,
}

/// Which pane has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Phases,
    Steps,
    Detail,
}

/// What a text prompt is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    /// Evidence field `index` of the attest in progress.
    Evidence(usize),
    AttestNote,
    SkipReason,
    SetValue(String),
    Search,
    /// Where to write an export in this format.
    ExportPath(&'static str),
}

/// An open popup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Popup {
    Welcome,
    Help,
    Prompt {
        kind: PromptKind,
        input: String,
        cursor: usize,
    },
    /// Pick a variable to edit (names), with the selected row.
    Vars {
        names: Vec<String>,
        selected: usize,
    },
    /// Pick an export format.
    Export {
        selected: usize,
    },
    /// Pick a command to copy.
    Copy {
        selected: usize,
    },
    ConfirmReset,
    /// Confirm a step's file edit: the plan (its diff shown, passwords masked) and the
    /// diff's scroll offset.
    ConfirmApply {
        plan: Box<crate::edit::Plan>,
        scroll: u16,
    },
}

/// A request the event loop must carry out (it needs the terminal or a thread).
#[derive(Debug)]
pub enum Request {
    RunChecks(Vec<Planned>),
    Copy(String),
}

/// The TUI's whole state.
#[derive(Debug)]
pub struct App {
    pub rollout: Rollout,
    pub color: bool,
    pub focus: Focus,
    pub phase: usize,
    /// Selected row in the steps pane of the current phase.
    pub row: usize,
    pub scroll: u16,
    pub popup: Option<Popup>,
    /// One-line message in the status bar.
    pub message: String,
    pub quit: bool,
    /// Step keys with checks running, and progress of the batch.
    pub running: BTreeSet<String>,
    pub batch: (usize, usize),
    pub spinner: usize,
    /// Evidence values gathered during an attest in progress.
    attest_evidence: Vec<(String, String)>,
    /// Search results (instance keys) and the highlighted one.
    pub matches: Vec<String>,
    pub match_row: usize,
    /// Set by a first `q` while checks run; a second one quits.
    quit_armed: bool,
    /// How checks reach servers (`--timeout`, `--connect`, `--ca-file`).
    pub net: crate::checks::RunOptions,
}

impl App {
    /// Opens the app on the rollout, where the operator left off.
    pub fn new(rollout: Rollout, color: bool) -> Self {
        let welcome = !rollout.state.ui.welcomed;
        let mut app = Self {
            rollout,
            color,
            focus: Focus::Steps,
            phase: 0,
            row: 0,
            scroll: 0,
            popup: welcome.then_some(Popup::Welcome),
            message: String::new(),
            quit: false,
            running: BTreeSet::new(),
            batch: (0, 0),
            spinner: 0,
            attest_evidence: Vec::new(),
            matches: Vec::new(),
            match_row: 0,
            quit_armed: false,
            net: crate::checks::RunOptions::default(),
        };
        if let Some(inst) = app.rollout.resume_point() {
            app.jump_to(&inst.key);
        }
        let notices = app.rollout.notices.join("; ");
        app.message = if notices.is_empty() {
            format!("log: {}", app.rollout.paths.log.display())
        } else {
            notices
        };
        app
    }

    /// Step instances of the selected phase.
    pub fn phase_steps(&self) -> Vec<Instance> {
        self.rollout.instances().into_iter().filter(|i| i.phase == self.phase).collect()
    }

    /// The selected step instance.
    pub fn current(&self) -> Option<Instance> {
        let steps = self.phase_steps();
        steps.get(self.row.min(steps.len().saturating_sub(1))).cloned()
    }

    fn jump_to(&mut self, key: &str) {
        let Ok(inst) = self.rollout.find(key) else { return };
        self.phase = inst.phase;
        self.row = self.phase_steps().iter().position(|i| i.key == inst.key).unwrap_or(0);
        self.scroll = 0;
    }

    /// Handles one event; returns requests for the event loop.
    pub fn handle(&mut self, event: Event) -> Vec<Request> {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Event::Key(_) | Event::Resize => Vec::new(),
            Event::CheckDone(_, result) => {
                self.batch.0 += 1;
                self.message =
                    format!("{}: {} — {}", result.name, result.outcome.as_str(), result.summary);
                Vec::new()
            }
            Event::ChecksFinished(by_step) => {
                let results = by_step.iter().flat_map(|(_, r)| r);
                let total = results.clone().count();
                let failed = results.filter(|r| r.outcome >= crate::checks::Outcome::Fail).count();
                self.running.clear();
                self.message = if let Err(e) = self.rollout.record_check_batch(by_step) {
                    format!("could not record the results: {}", first_line(&e.to_string()))
                } else if failed == 0 {
                    format!("{total} check(s) finished, none failed")
                } else {
                    format!(
                        "{total} check(s) finished, {failed} failed or could not tell — see the detail pane"
                    )
                };
                Vec::new()
            }
            Event::Terminate => {
                self.leave();
                Vec::new()
            }
        }
    }

    fn leave(&mut self) {
        if let Some(inst) = self.current() {
            self.rollout.remember_position(&inst.key);
        }
        self.quit = true;
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Request> {
        if key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char('c' | 'q'))
        {
            self.leave();
            return Vec::new();
        }
        if let Some(popup) = self.popup.take() {
            return self.on_popup_key(popup, key);
        }
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc if !self.running.is_empty() && !self.quit_armed => {
                self.quit_armed = true;
                self.message =
                    "checks are still running: press q again to quit without their results".into();
            }
            KeyCode::Char('q') | KeyCode::Esc => self.leave(),
            KeyCode::Char('?') | KeyCode::F(1) => self.popup = Some(Popup::Help),
            KeyCode::Tab | KeyCode::Right | KeyCode::Char('l') => {
                self.focus = match self.focus {
                    Focus::Phases => Focus::Steps,
                    Focus::Steps | Focus::Detail => Focus::Detail,
                };
            }
            KeyCode::BackTab | KeyCode::Left | KeyCode::Char('h') => {
                self.focus = match self.focus {
                    Focus::Detail => Focus::Steps,
                    Focus::Steps | Focus::Phases => Focus::Phases,
                };
            }
            KeyCode::Up | KeyCode::Char('k') => self.move_by(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_by(1),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::PageDown | KeyCode::Char(' ') => self.scroll = self.scroll.saturating_add(10),
            KeyCode::Home | KeyCode::Char('g') => self.scroll = 0,
            KeyCode::Char('n') => self.next_open(),
            KeyCode::Char('a') => self.begin_attest(),
            KeyCode::Char('w') => self.op(crate::engine::Rollout::start, "in progress"),
            KeyCode::Char('s') => self.prompt(PromptKind::SkipReason, String::new()),
            KeyCode::Char('r') => self.popup = Some(Popup::ConfirmReset),
            KeyCode::Char('p') => self.begin_apply(),
            KeyCode::Char('/') => {
                self.matches.clear();
                self.prompt(PromptKind::Search, String::new());
            }
            KeyCode::Char('v') => self.open_vars(),
            KeyCode::Char('e') => self.popup = Some(Popup::Export { selected: 0 }),
            KeyCode::Char('y') => return self.begin_copy(),
            KeyCode::Char('c') => return self.check_current(),
            KeyCode::Char('C') => return self.check_phase(),
            _ => {}
        }
        Vec::new()
    }

    fn move_by(&mut self, delta: isize) {
        match self.focus {
            Focus::Phases => {
                let n = self.rollout.runbook.phases.len();
                self.phase = step_index(self.phase, delta, n);
                self.row = 0;
                self.scroll = 0;
            }
            Focus::Steps => {
                let n = self.phase_steps().len();
                self.row = step_index(self.row, delta, n);
                self.scroll = 0;
            }
            Focus::Detail => {
                self.scroll = if delta < 0 {
                    self.scroll.saturating_sub(1)
                } else {
                    self.scroll.saturating_add(1)
                };
            }
        }
    }

    fn next_open(&mut self) {
        match self.rollout.next_open() {
            Some(inst) => {
                let key = inst.key.clone();
                self.jump_to(&key);
                self.message = format!("next open step: {key}");
            }
            None => self.message = "every step is closed".into(),
        }
    }

    fn prompt(&mut self, kind: PromptKind, initial: String) {
        if self.current().is_none() && kind != PromptKind::Search {
            return;
        }
        let cursor = initial.chars().count();
        self.popup = Some(Popup::Prompt { kind, input: initial, cursor });
    }

    fn op(&mut self, f: impl FnOnce(&mut Rollout, &str) -> crate::Result<()>, what: &str) {
        let Some(inst) = self.current() else { return };
        match f(&mut self.rollout, &inst.key) {
            Ok(()) => {
                self.message = format!("{}: {what}", inst.key);
                self.rollout.remember_position(&inst.key);
            }
            Err(e) => self.message = first_line(&e.to_string()),
        }
    }

    fn begin_attest(&mut self) {
        let Some(inst) = self.current() else { return };
        self.attest_evidence.clear();
        if self.rollout.step_of(&inst).evidence.is_empty() {
            self.prompt(
                PromptKind::AttestNote,
                self.rollout.record(&inst.key).note.unwrap_or_default(),
            );
        } else {
            let initial = self.evidence_default(&inst, 0);
            self.prompt(PromptKind::Evidence(0), initial);
        }
    }

    /// The recorded value of an evidence field, else what a check found under the same key.
    fn evidence_default(&self, inst: &Instance, index: usize) -> String {
        let step = self.rollout.step_of(inst);
        let Some(field) = step.evidence.get(index) else { return String::new() };
        let rec = self.rollout.record(&inst.key);
        rec.evidence
            .get(&field.key)
            .cloned()
            .or_else(|| rec.checks.iter().find_map(|c| c.evidence.get(&field.key).cloned()))
            .unwrap_or_default()
    }

    fn open_vars(&mut self) {
        let Some(inst) = self.current() else { return };
        let names: Vec<String> = self
            .rollout
            .step_of(&inst)
            .inputs
            .iter()
            .filter(|n| self.rollout.runbook.var(n).is_some_and(|d| d.derived.is_none()))
            .cloned()
            .collect();
        let names = if names.is_empty() {
            self.rollout
                .runbook
                .variables
                .iter()
                .filter(|d| d.derived.is_none())
                .map(|d| d.name.clone())
                .collect()
        } else {
            names
        };
        self.popup = Some(Popup::Vars { names, selected: 0 });
    }

    fn begin_copy(&mut self) -> Vec<Request> {
        let Some(inst) = self.current() else { return Vec::new() };
        let n = self.rollout.step_of(&inst).commands.len();
        match n {
            0 => {
                self.message = "this step has no PowerShell to copy".into();
                Vec::new()
            }
            1 => self.copy(0),
            _ => {
                self.popup = Some(Popup::Copy { selected: 0 });
                Vec::new()
            }
        }
    }

    fn copy(&mut self, index: usize) -> Vec<Request> {
        let Some(inst) = self.current() else { return Vec::new() };
        let Some(cmd) = self.rollout.step_of(&inst).commands.get(index) else { return Vec::new() };
        if let Err(var) = self.rollout.render_strict(&cmd.code, inst.host.as_deref()) {
            self.message = format!("not copied: `{var}` is not set; set it first with v");
            return Vec::new();
        }
        let code = self.rollout.render(&cmd.code, inst.host.as_deref());
        self.message = format!(
            "copied PowerShell {} ({} lines) to the clipboard via OSC 52 (if your terminal allows it)",
            index + 1,
            code.lines().count()
        );
        vec![Request::Copy(code)]
    }

    fn check_current(&mut self) -> Vec<Request> {
        let Some(inst) = self.current() else { return Vec::new() };
        self.start_checks(&[inst])
    }

    fn check_phase(&mut self) -> Vec<Request> {
        let list: Vec<Instance> =
            self.phase_steps().into_iter().filter(|i| self.rollout.applies(i)).collect();
        self.start_checks(&list)
    }

    fn start_checks(&mut self, list: &[Instance]) -> Vec<Request> {
        if !self.running.is_empty() {
            self.message = "checks are already running; wait for them to finish".into();
            return Vec::new();
        }
        let planned: Vec<Planned> = list.iter().flat_map(|i| self.rollout.plan_checks(i)).collect();
        if planned.is_empty() {
            self.message = "no live checks here; attest the step once you have done it (a)".into();
            return Vec::new();
        }
        self.running = planned.iter().map(|p| p.step.clone()).collect();
        self.batch = (0, planned.len());
        self.message = format!("running {} check(s)…", planned.len());
        vec![Request::RunChecks(planned)]
    }

    /// `p`: plan the step's file edit and ask with the diff; nothing is written yet.
    fn begin_apply(&mut self) {
        let Some(inst) = self.current() else { return };
        match crate::edit::step::plan(&self.rollout, &inst.key, None) {
            Ok(plan) if plan.is_noop() => {
                self.message = format!("{} already holds every value", plan.path.display());
            }
            Ok(plan) => self.popup = Some(Popup::ConfirmApply { plan: Box::new(plan), scroll: 0 }),
            Err(e) => self.message = first_line(&e.to_string()),
        }
    }

    fn on_popup_key(&mut self, popup: Popup, key: KeyEvent) -> Vec<Request> {
        match popup {
            Popup::ConfirmApply { plan, scroll } => {
                match key.code {
                    KeyCode::Char('y' | 'Y') => match crate::edit::write_with_backup(&plan) {
                        Ok(backup) => {
                            self.message = format!(
                                "wrote {}; backup {}; press c to check it",
                                plan.path.display(),
                                backup.display()
                            );
                        }
                        Err(e) => self.message = first_line(&e.to_string()),
                    },
                    KeyCode::Down | KeyCode::Char('j') => {
                        let scroll = scroll.saturating_add(1);
                        self.popup = Some(Popup::ConfirmApply { plan, scroll });
                    }
                    KeyCode::Up | KeyCode::Char('k') => {
                        let scroll = scroll.saturating_sub(1);
                        self.popup = Some(Popup::ConfirmApply { plan, scroll });
                    }
                    _ => self.message = "nothing was written".into(),
                }
                Vec::new()
            }
            Popup::Welcome | Popup::Help => {
                self.rollout.mark_welcomed();
                Vec::new()
            }
            Popup::ConfirmReset => {
                if matches!(key.code, KeyCode::Char('y' | 'Y')) {
                    self.op(crate::engine::Rollout::reset, "reset to pending");
                } else {
                    self.message = "reset cancelled".into();
                }
                Vec::new()
            }
            Popup::Copy { selected } => {
                let n = self.current().map_or(0, |i| self.rollout.step_of(&i).commands.len());
                match key.code {
                    KeyCode::Up | KeyCode::Char('k') => {
                        self.popup = Some(Popup::Copy { selected: step_index(selected, -1, n) });
                    }
                    KeyCode::Down | KeyCode::Char('j') => {
                        self.popup = Some(Popup::Copy { selected: step_index(selected, 1, n) });
                    }
                    KeyCode::Enter => return self.copy(selected),
                    KeyCode::Char(c) if c.is_ascii_digit() => {
                        let i = (c as usize).saturating_sub('1' as usize);
                        if i < n {
                            return self.copy(i);
                        }
                        self.popup = Some(Popup::Copy { selected });
                    }
                    KeyCode::Esc => {}
                    _ => self.popup = Some(Popup::Copy { selected }),
                }
                Vec::new()
            }
            Popup::Export { selected } => {
                let n = crate::report::FORMATS.len();
                match key.code {
                    KeyCode::Up | KeyCode::Char('k') => {
                        self.popup = Some(Popup::Export { selected: step_index(selected, -1, n) });
                    }
                    KeyCode::Down | KeyCode::Char('j') => {
                        self.popup = Some(Popup::Export { selected: step_index(selected, 1, n) });
                    }
                    KeyCode::Enter => {
                        let format = crate::report::FORMATS[selected.min(n - 1)];
                        let path = self.default_export_path(format);
                        let cursor = path.chars().count();
                        self.popup = Some(Popup::Prompt {
                            kind: PromptKind::ExportPath(format),
                            input: path,
                            cursor,
                        });
                    }
                    KeyCode::Esc => {}
                    _ => self.popup = Some(Popup::Export { selected }),
                }
                Vec::new()
            }
            Popup::Vars { names, selected } => {
                let n = names.len();
                match key.code {
                    KeyCode::Up | KeyCode::Char('k') => {
                        self.popup =
                            Some(Popup::Vars { names, selected: step_index(selected, -1, n) });
                    }
                    KeyCode::Down | KeyCode::Char('j') => {
                        self.popup =
                            Some(Popup::Vars { names, selected: step_index(selected, 1, n) });
                    }
                    KeyCode::Enter => {
                        if let Some(name) = names.get(selected) {
                            let current = self
                                .rollout
                                .state
                                .values
                                .get(name)
                                .map(crate::runbook::Value::display)
                                .unwrap_or_default();
                            let cursor = current.chars().count();
                            self.popup = Some(Popup::Prompt {
                                kind: PromptKind::SetValue(name.clone()),
                                input: current,
                                cursor,
                            });
                        }
                    }
                    KeyCode::Esc => {}
                    _ => self.popup = Some(Popup::Vars { names, selected }),
                }
                Vec::new()
            }
            Popup::Prompt { kind, mut input, mut cursor } => {
                if kind == PromptKind::Search && matches!(key.code, KeyCode::Up | KeyCode::Down) {
                    let n = self.matches.len();
                    self.match_row =
                        step_index(self.match_row, if key.code == KeyCode::Up { -1 } else { 1 }, n);
                    self.popup = Some(Popup::Prompt { kind, input, cursor });
                    return Vec::new();
                }
                match key.code {
                    KeyCode::Esc => {
                        self.attest_evidence.clear();
                        self.message = "cancelled".into();
                    }
                    KeyCode::Enter => self.submit(kind, input),
                    _ => {
                        edit_line(&mut input, &mut cursor, key);
                        if kind == PromptKind::Search {
                            self.search(&input);
                        }
                        self.popup = Some(Popup::Prompt { kind, input, cursor });
                    }
                }
                Vec::new()
            }
        }
    }

    /// `<state name>-record.<ext>` beside the state file.
    fn default_export_path(&self, format: &str) -> String {
        let state = &self.rollout.paths.state;
        let stem = state
            .file_stem()
            .map_or_else(|| "mfa-rollout".into(), |s| s.to_string_lossy().into_owned());
        state
            .with_file_name(format!("{stem}-record.{}", crate::report::extension(format)))
            .display()
            .to_string()
    }

    fn export(&mut self, format: &str, path: &str) {
        if path.is_empty() {
            self.message = "no file name given; nothing exported".into();
            return;
        }
        let record = crate::report::build(&self.rollout);
        let text = crate::report::render(&record, format).unwrap_or_default();
        let path = std::path::Path::new(path);
        self.message = match crate::report::write_file(&self.rollout, path, &text, false) {
            Ok(()) => {
                let full = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
                format!("wrote the {format} record to {}", full.display())
            }
            Err(e) => format!("not exported: {}", first_line(&e.to_string())),
        };
    }

    fn search(&mut self, text: &str) {
        let needle = text.to_lowercase();
        self.match_row = 0;
        self.matches = if needle.is_empty() {
            Vec::new()
        } else {
            self.rollout
                .instances()
                .into_iter()
                .filter(|i| {
                    let title =
                        self.rollout.render(&self.rollout.step_of(i).title, i.host.as_deref());
                    i.key.to_lowercase().contains(&needle) || title.to_lowercase().contains(&needle)
                })
                .map(|i| i.key)
                .collect()
        };
    }

    fn submit(&mut self, kind: PromptKind, input: String) {
        match kind {
            PromptKind::Evidence(index) => {
                let Some(inst) = self.current() else { return };
                let fields = self.rollout.step_of(&inst).evidence.clone();
                if let Some(f) = fields.get(index)
                    && !input.trim().is_empty()
                {
                    self.attest_evidence.push((f.key.clone(), input.trim().to_string()));
                }
                if index + 1 < fields.len() {
                    let initial = self.evidence_default(&inst, index + 1);
                    self.prompt(PromptKind::Evidence(index + 1), initial);
                } else {
                    self.prompt(
                        PromptKind::AttestNote,
                        self.rollout.record(&inst.key).note.unwrap_or_default(),
                    );
                }
            }
            PromptKind::AttestNote => {
                let evidence = std::mem::take(&mut self.attest_evidence).into_iter().collect();
                let note = Some(input);
                self.op(|r, k| r.attest(k, note, evidence), "attested done");
            }
            PromptKind::SkipReason => {
                if input.trim().is_empty() {
                    self.message = "a skip needs a reason; nothing changed".into();
                } else {
                    self.op(|r, k| r.skip(k, &input), "skipped");
                }
            }
            PromptKind::SetValue(name) => match self.rollout.set(&[(name.clone(), input)]) {
                Ok(()) => {
                    let v = self
                        .rollout
                        .value(&name)
                        .map_or_else(|| "(not set)".into(), |v| v.display());
                    self.message = format!("{name} = {v}");
                    let steps = self.phase_steps().len();
                    self.row = self.row.min(steps.saturating_sub(1));
                }
                Err(e) => self.message = first_line(&e.to_string()),
            },
            PromptKind::ExportPath(format) => self.export(format, input.trim()),
            PromptKind::Search => {
                if let Some(key) = self.matches.get(self.match_row).cloned() {
                    self.jump_to(&key);
                    self.focus = Focus::Steps;
                    self.message = format!("jumped to {key}");
                } else {
                    self.message = "no step matches".into();
                }
            }
        }
    }
}

fn step_index(current: usize, delta: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let next = current.saturating_add_signed(delta);
    next.min(len - 1)
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

/// A one-line editor: characters, Backspace, Delete, Left/Right, Home/End, Ctrl-U.
fn edit_line(input: &mut String, cursor: &mut usize, key: KeyEvent) {
    let byte = |s: &str, c: usize| s.char_indices().nth(c).map_or(s.len(), |(i, _)| i);
    match key.code {
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            input.clear();
            *cursor = 0;
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            let at = byte(input, *cursor);
            input.insert(at, c);
            *cursor += 1;
        }
        KeyCode::Backspace if *cursor > 0 => {
            let at = byte(input, *cursor - 1);
            input.remove(at);
            *cursor -= 1;
        }
        KeyCode::Delete if *cursor < input.chars().count() => {
            let at = byte(input, *cursor);
            input.remove(at);
        }
        KeyCode::Left => *cursor = cursor.saturating_sub(1),
        KeyCode::Right => *cursor = (*cursor + 1).min(input.chars().count()),
        KeyCode::Home => *cursor = 0,
        KeyCode::End => *cursor = input.chars().count(),
        _ => {}
    }
}
