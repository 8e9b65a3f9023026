//! Protects what the operator sees and what each key does, on ratatui's `TestBackend`:
//! the 80×24 layout, the too-small notice, `NO_COLOR`, and the attest/skip/find/set flows.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use super::app::{App, Event, Popup};
use super::render;
use crate::engine::Rollout;
use crate::state::Status;

fn app(dir: &std::path::Path) -> App {
    let book = crate::runbook::load_embedded().unwrap();
    let rollout = Rollout::create(book, &dir.join("r.toml"), "demo", &[], false).unwrap();
    App::new(rollout, true)
}

fn key(app: &mut App, code: KeyCode) {
    app.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| render::draw(f, app)).unwrap();
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Replaces the parts of a screen that differ between runs (temp paths, ids).
fn stable(text: &str, dir: &std::path::Path) -> String {
    let text = text.replace(&dir.display().to_string(), "<dir>");
    text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

#[test]
fn first_screen_explains_the_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    assert_eq!(app.popup, Some(Popup::Welcome));
    let text = screen(&app, 100, 30);
    assert!(text.contains("2019"), "{text}");
    assert!(text.contains("2024"), "{text}");
}

#[test]
fn main_screen_at_80x24() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path());
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.popup, None);
    let text = screen(&app, 80, 24);
    insta::assert_snapshot!("main_80x24", stable(&text, dir.path()));
    for phase in ["primary", "portal-prereqs", "mfa-server", "secondary", "portal", "adfs", "test"]
    {
        assert!(text.contains(phase), "phase {phase} missing:\n{text}");
    }
    assert!(text.contains("primary.cert"));
    assert!(text.contains("? help"));
}

#[test]
fn too_small_terminal_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path());
    key(&mut app, KeyCode::Enter);
    let text = screen(&app, 70, 20);
    assert!(text.contains("at least 80x24"), "{text}");
    assert!(text.contains("70x20"), "{text}");
}

#[test]
fn no_color_draws_without_colours() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path());
    app.color = false;
    key(&mut app, KeyCode::Enter);
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    term.draw(|f| render::draw(f, &app)).unwrap();
    let buf = term.backend().buffer();
    for cell in buf.content() {
        assert_eq!(cell.fg, Color::Reset, "a coloured cell with NO_COLOR: {:?}", cell.symbol());
        assert_eq!(cell.bg, Color::Reset);
    }
}

#[test]
fn attest_with_evidence_and_note_by_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path());
    key(&mut app, KeyCode::Enter);
    let inst = app.current().unwrap();
    assert_eq!(inst.key, "primary.cert");
    key(&mut app, KeyCode::Char('a'));
    typed(&mut app, "1A2B");
    let fields = app.rollout.step_of(&inst).evidence.len();
    for _ in 0..fields {
        key(&mut app, KeyCode::Enter);
    }
    typed(&mut app, "enrolled from the WebServer template");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.popup, None);
    assert_eq!(app.rollout.status(&inst), Status::Done);
    let rec = app.rollout.record("primary.cert");
    assert_eq!(rec.note.as_deref(), Some("enrolled from the WebServer template"));
    assert_eq!(
        rec.evidence.get(&app.rollout.step_of(&inst).evidence[0].key).map(String::as_str),
        Some("1A2B")
    );
    assert!(screen(&app, 100, 30).contains("done"));
}

#[test]
fn escape_cancels_an_attest_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path());
    key(&mut app, KeyCode::Enter);
    let before = std::fs::read(dir.path().join("r.toml")).unwrap();
    key(&mut app, KeyCode::Char('a'));
    typed(&mut app, "x");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.popup, None);
    assert_eq!(app.rollout.status(&app.current().unwrap()), Status::Pending);
    assert_eq!(std::fs::read(dir.path().join("r.toml")).unwrap(), before);
}

#[test]
fn skip_needs_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path());
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('s'));
    key(&mut app, KeyCode::Enter);
    assert!(app.message.contains("needs a reason"), "{}", app.message);
    assert_eq!(app.rollout.status(&app.current().unwrap()), Status::Pending);
    key(&mut app, KeyCode::Char('s'));
    typed(&mut app, "certificate issued by the PKI team");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.rollout.status(&app.current().unwrap()), Status::Skipped);
}

#[test]
fn find_jumps_to_a_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path());
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "adfs.restart");
    assert_eq!(app.matches, vec!["adfs.restart".to_string()]);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.current().unwrap().key, "adfs.restart");
}

#[test]
fn editing_a_value_refuses_a_bad_one_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path());
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('v'));
    let Some(Popup::Vars { names, .. }) = app.popup.clone() else { panic!("no value picker") };
    assert!(names.contains(&"mfa_fqdn".to_string()), "{names:?}");
    let row = names.iter().position(|n| n == "mfa_fqdn").unwrap();
    for _ in 0..row {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    app.handle(Event::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
    typed(&mut app, "10.0.0.5");
    key(&mut app, KeyCode::Enter);
    assert!(app.message.contains("IP address"), "{}", app.message);
    assert_eq!(app.rollout.value("mfa_fqdn").unwrap().display(), "mfa.corp.contoso.com");
}

#[test]
fn opens_where_the_operator_left_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = app(dir.path());
    key(&mut first, KeyCode::Enter);
    key(&mut first, KeyCode::Char('/'));
    typed(&mut first, "portal.dns");
    key(&mut first, KeyCode::Enter);
    key(&mut first, KeyCode::Char('q'));
    assert!(first.quit);
    drop(first);

    let book = crate::runbook::load_embedded().unwrap();
    let reopened = Rollout::open(book, &dir.path().join("r.toml"), crate::Access::Write).unwrap();
    let second = App::new(reopened, true);
    assert_eq!(second.popup, None, "the welcome screen shows only once");
    assert_eq!(second.current().unwrap().key, "portal.dns");
}

#[test]
fn export_dialog_writes_beside_the_state_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path());
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('e'));
    assert_eq!(app.popup, Some(Popup::Export { selected: 0 }));
    key(&mut app, KeyCode::Down); // html
    key(&mut app, KeyCode::Enter);
    let Some(Popup::Prompt { input, .. }) = app.popup.clone() else { panic!("no path prompt") };
    assert!(input.ends_with("r-record.html"), "{input}");
    key(&mut app, KeyCode::Enter);
    assert!(app.message.starts_with("wrote the html record to"), "{}", app.message);
    let html = std::fs::read_to_string(dir.path().join("r-record.html")).unwrap();
    assert!(html.contains("MFA rollout record"));

    key(&mut app, KeyCode::Char('e'));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    assert!(app.message.contains("exists"), "{}", app.message);
}

#[test]
fn p_shows_the_file_edit_and_y_writes_it_with_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path());
    key(&mut app, KeyCode::Esc);
    let script = dir.path().join("Register.ps1");
    std::fs::copy("tests/fixtures/edit/register.ps1", &script).unwrap();
    let config = r"C:\Program Files\Multi-Factor Authentication Server\Adapter.config";
    app.rollout
        .set(&[
            ("adfs_register_script".into(), script.display().to_string()),
            ("adfs_adapter_config".into(), config.into()),
        ])
        .unwrap();
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "adfs.register-script");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.current().unwrap().key, "adfs.register-script");

    key(&mut app, KeyCode::Char('p'));
    assert!(matches!(app.popup, Some(Popup::ConfirmApply { .. })), "{}", app.message);
    let text = screen(&app, 120, 30);
    assert!(text.contains("+Register-AdfsAuthenticationProvider"), "{text}");
    assert!(text.contains("y = write"), "{text}");

    key(&mut app, KeyCode::Char('y'));
    assert!(app.message.contains("backup"), "{}", app.message);
    let edited = std::fs::read_to_string(&script).unwrap();
    assert!(edited.contains(&format!("-ConfigurationFilePath '{config}'")));

    // A second `p` finds nothing to do; a step without an edit says so.
    key(&mut app, KeyCode::Char('p'));
    assert!(app.popup.is_none() && app.message.contains("already holds"), "{}", app.message);
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "portal.dns");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('p'));
    assert!(app.message.contains("has no file edit"), "{}", app.message);
}
