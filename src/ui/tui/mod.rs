//! The full-screen wizard (ratatui + crossterm). This file owns the terminal: raw mode
//! and the alternate screen, restored on every way out (quit, error, panic, Ctrl-C,
//! SIGTERM); an event loop that blocks while idle (no CPU use) and wakes only to animate
//! the spinner while checks run; and the threads that read keys and run checks.

pub mod app;
pub mod render;

use std::io::{Write, stdout};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use crossterm::event::{self, Event as TermEvent};
use crossterm::{execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::Rollout;
use crate::checks::{self, CheckResult, Planned, RunOptions};
use crate::error::{Error, Result};
use app::{App, Event, Request};

/// Restores the terminal when dropped.
struct Guard;

impl Guard {
    fn enter() -> std::io::Result<Self> {
        terminal::enable_raw_mode()?;
        let guard = Self;
        execute!(stdout(), terminal::EnterAlternateScreen, crossterm::cursor::Hide)?;
        Ok(guard)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(stdout(), terminal::LeaveAlternateScreen, crossterm::cursor::Show);
}

/// Runs the wizard until the operator quits.
pub fn run(rollout: Rollout, color: bool, opts: RunOptions) -> Result<u8> {
    let term_err = |e: std::io::Error| {
        Error::Invalid(format!("cannot drive this terminal: {e}; try `mfa-rollout --plain`"))
    };
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));

    let guard = Guard::enter().map_err(term_err)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(stdout())).map_err(term_err)?;
    let (tx, rx) = mpsc::channel();
    spawn_input(tx.clone());
    watch_signals(&tx);

    let mut app = App::new(rollout, color);
    app.net = opts;
    let result = event_loop(&mut terminal, &mut app, &tx, &rx);
    drop(guard);
    result.map_err(term_err)?;
    Ok(0)
}

fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<std::io::Stdout>>,
    app: &mut App,
    tx: &Sender<Event>,
    rx: &Receiver<Event>,
) -> std::io::Result<()> {
    loop {
        terminal.draw(|f| render::draw(f, app))?;
        if app.quit {
            return Ok(());
        }
        let event = if app.running.is_empty() {
            match rx.recv() {
                Ok(e) => e,
                Err(_) => return Ok(()),
            }
        } else {
            match rx.recv_timeout(Duration::from_millis(120)) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => {
                    app.spinner = app.spinner.wrapping_add(1);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
        };
        for request in app.handle(event) {
            match request {
                Request::RunChecks(planned) => {
                    spawn_checks(planned, check_options(app), tx.clone());
                }
                Request::Copy(text) => copy_osc52(&text)?,
            }
        }
    }
}

fn check_options(app: &App) -> RunOptions {
    RunOptions { renewal_lead_days: app.rollout.renewal_lead_days(), ..app.net.clone() }
}

fn spawn_input(tx: Sender<Event>) {
    std::thread::spawn(move || {
        loop {
            let event = match event::read() {
                Ok(TermEvent::Key(k)) => Event::Key(k),
                Ok(TermEvent::Resize(..)) => Event::Resize,
                Ok(_) => continue,
                Err(_) => Event::Terminate,
            };
            let stop = matches!(event, Event::Terminate);
            if tx.send(event).is_err() || stop {
                return;
            }
        }
    });
}

#[cfg(unix)]
fn watch_signals(tx: &Sender<Event>) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]) else {
        return;
    };
    let tx = tx.clone();
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = tx.send(Event::Terminate);
        }
    });
}

#[cfg(not(unix))]
fn watch_signals(_tx: &Sender<Event>) {
    // Ctrl-C arrives as a key in raw mode; a console close ends the process, and the
    // state is saved after every change, so nothing is lost.
}

fn spawn_checks(planned: Vec<Planned>, opts: RunOptions, tx: Sender<Event>) {
    std::thread::spawn(move || {
        let steps: Vec<String> = planned.iter().map(|p| p.step.clone()).collect();
        let progress = tx.clone();
        let on_done: checks::OnDone = Arc::new(move |i, r| {
            let _ = progress.send(Event::CheckDone(i, Box::new(r.clone())));
        });
        let results = checks::run_all(planned, &opts, &on_done).unwrap_or_default();
        let mut by_step: Vec<(String, Vec<CheckResult>)> = Vec::new();
        for (step, r) in steps.into_iter().zip(results) {
            match by_step.iter_mut().find(|(s, _)| *s == step) {
                Some((_, list)) => list.push(r),
                None => by_step.push((step, vec![r])),
            }
        }
        let _ = tx.send(Event::ChecksFinished(by_step));
    });
}

/// Puts text on the clipboard through the terminal (OSC 52), which also works over SSH.
fn copy_osc52(text: &str) -> std::io::Result<()> {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let mut out = stdout();
    write!(out, "\x1b]52;c;{encoded}\x07")?;
    out.flush()
}

#[cfg(test)]
mod tests;
