//! Draws an [`App`] snapshot. Layout at 80×24 and up:
//!
//! ```text
//! header: rollout, profile, progress
//! ┌Phases──────────┐┌Step detail─────────────────────────────┐
//! │ primary   3/6  ││ title, status, why, notes, instructions │
//! └────────────────┘│ values, PowerShell, checks, evidence   │
//! ┌Steps───────────┐│                                        │
//! │ ✔ primary.cert ││                                        │
//! └────────────────┘└────────────────────────────────────────┘
//! status line (messages, log path)
//! footer: keys
//! ```

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph, Wrap};

use super::app::{App, Focus, Popup, PromptKind};
use crate::checks::Outcome;
use crate::state::Status;
use crate::ui::detail::Detail;
use crate::ui::glyph;

/// The smallest terminal the wizard draws in.
pub const MIN_SIZE: (u16, u16) = (80, 24);

const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

struct Theme {
    color: bool,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color { Style::default().fg(c) } else { Style::default() }
    }
    fn status(&self, s: Status) -> Style {
        let c = match s {
            Status::Pending => Color::Gray,
            Status::InProgress => Color::Yellow,
            Status::Done => Color::Cyan,
            Status::Verified => Color::Green,
            Status::Failed => Color::Red,
            Status::Skipped => Color::Magenta,
            Status::NotApplicable => Color::DarkGray,
        };
        let base = self.fg(c);
        if !self.color && s == Status::Failed { base.add_modifier(Modifier::BOLD) } else { base }
    }
    fn outcome(&self, o: Outcome) -> Style {
        let c = match o {
            Outcome::Pass => Color::Green,
            Outcome::Warn => Color::Yellow,
            Outcome::Skip | Outcome::NotRun => Color::DarkGray,
            Outcome::Fail | Outcome::Error => Color::Red,
        };
        self.fg(c)
    }
    fn heading(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray)
        }
    }
    fn selected() -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let area = frame.area();
    let theme = Theme { color: app.color };
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let text = format!(
            "mfa-rollout needs a terminal of at least {}x{}; this one is {}x{}.\nEnlarge it, or run `mfa-rollout --plain`.\nPress q to quit.",
            MIN_SIZE.0, MIN_SIZE.1, area.width, area.height
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }

    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(10),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let left_width = (area.width / 3).clamp(30, 44);
    let [left, right] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Min(40)]).areas(body);
    let phase_rows = u16::try_from(app.rollout.runbook.phases.len()).unwrap_or(7) + 2;
    let [phases, steps] =
        Layout::vertical([Constraint::Length(phase_rows), Constraint::Min(5)]).areas(left);

    draw_header(frame, header, app, &theme);
    draw_phases(frame, phases, app, &theme);
    draw_steps(frame, steps, app, &theme);
    draw_detail(frame, right, app, &theme);
    draw_status(frame, status, app, &theme);
    draw_footer(frame, footer, &theme);
    if let Some(popup) = &app.popup {
        draw_popup(frame, area, app, popup, &theme);
    }
}

fn draw_header(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let progress = app.rollout.progress();
    let total: usize = progress.iter().map(|p| p.total).sum();
    let closed: usize = progress.iter().map(|p| p.closed).sum();
    let domain =
        app.rollout.value("domain").map_or_else(|| "(domain not set)".to_string(), |v| v.display());
    let main =
        format!("{domain} · {} profile · {closed}/{total} steps closed", app.rollout.state.profile);
    let file = app.rollout.paths.state.file_name().map(|n| n.to_string_lossy().into_owned());
    let mut spans = vec![Span::styled(" mfa-rollout ", theme.heading()), Span::raw(main.clone())];
    // The file name only when it fits whole.
    if let Some(file) = file
        && 13 + main.chars().count() + 3 + file.chars().count() <= usize::from(area.width)
    {
        spans.push(Span::styled(format!(" · {file}"), theme.fg(Color::DarkGray)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn block<'a>(title: &'a str, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default().borders(Borders::ALL).title(title).border_style(theme.border(focused))
}

fn draw_phases(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let progress = app.rollout.progress();
    let inner = area.width.saturating_sub(2) as usize;
    let items: Vec<ListItem<'_>> = app
        .rollout
        .runbook
        .phases
        .iter()
        .zip(&progress)
        .map(|(p, pr)| {
            let mark = if pr.failed > 0 {
                Span::styled("✘", theme.status(Status::Failed))
            } else if pr.closed == pr.total {
                Span::styled("✔", theme.status(Status::Verified))
            } else if pr.closed > 0 || pr.in_progress > 0 {
                Span::styled("◐", theme.status(Status::InProgress))
            } else {
                Span::styled("○", theme.status(Status::Pending))
            };
            let count = format!("{}/{}", pr.closed, pr.total);
            let name_width = inner.saturating_sub(count.len() + 3);
            Line::from(vec![
                mark,
                Span::raw(format!(" {:<name_width$} {count}", clip(&p.id, name_width))),
            ])
            .into()
        })
        .collect();
    let mut state = ListState::default().with_selected(Some(app.phase));
    let list = List::new(items)
        .block(block(" Phases ", app.focus == Focus::Phases, theme))
        .highlight_style(Theme::selected());
    frame.render_stateful_widget(list, area, &mut state);
}

fn draw_steps(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let inner = area.width.saturating_sub(4) as usize;
    let steps = app.phase_steps();
    let items: Vec<ListItem<'_>> = steps
        .iter()
        .map(|i| {
            let s = app.rollout.status(i);
            let g = if app.running.contains(&i.key) {
                SPINNER[app.spinner % SPINNER.len()]
            } else {
                glyph(s)
            };
            let title = app.rollout.render(&app.rollout.step_of(i).title, i.host.as_deref());
            // A repeated step names its server first, so the rows differ even when clipped.
            let label = i.host.as_ref().map_or(title.clone(), |h| {
                format!("[{}] {title}", h.split('.').next().unwrap_or(h))
            });
            Line::from(vec![
                Span::styled(g.to_string(), theme.status(s)),
                Span::raw(format!(" {}", clip(&label, inner))),
            ])
            .into()
        })
        .collect();
    let title = format!(" {} ", app.rollout.runbook.phases[app.phase].title);
    let mut state =
        ListState::default().with_selected(Some(app.row.min(steps.len().saturating_sub(1))));
    let list = List::new(items)
        .block(block(&title, app.focus == Focus::Steps, theme))
        .highlight_style(Theme::selected());
    frame.render_stateful_widget(list, area, &mut state);
}

/// The detail pane's lines, styled.
pub fn detail_lines(app: &App, theme_color: bool, width: usize) -> Vec<Line<'static>> {
    let theme = Theme { color: theme_color };
    let Some(inst) = app.current() else { return vec![Line::from("this phase has no steps")] };
    let d = Detail::of(&app.rollout, &inst);
    let mut out: Vec<Line<'static>> = Vec::new();
    let h = |t: &str| Line::from(Span::styled(t.to_string(), theme.heading()));

    out.push(Line::from(vec![
        Span::styled(d.title.clone(), Style::default().add_modifier(Modifier::BOLD)),
        Span::styled(format!("  [{}]", d.key), theme.fg(Color::DarkGray)),
    ]));
    out.push(Line::from(vec![
        Span::raw("status "),
        Span::styled(format!("{} {}", glyph(d.status), d.status), theme.status(d.status)),
        Span::raw(format!(" · runs on the {}", d.role)),
    ]));
    for r in &d.record {
        out.push(Line::from(Span::styled(r.clone(), theme.fg(Color::DarkGray))));
    }
    out.push(Line::from(vec![Span::styled("Why: ", theme.heading()), Span::raw(d.why.clone())]));
    for n in &d.notes {
        let (label, text) = crate::ui::detail::split_note(n);
        out.push(Line::from(vec![
            Span::styled(format!("{label}: "), theme.fg(Color::Yellow)),
            Span::raw(text.to_string()),
        ]));
    }
    out.push(Line::default());
    for line in reflow(&d.instructions) {
        out.push(markdown_line(&line, &theme));
    }
    if !d.values.is_empty() {
        out.push(Line::default());
        out.push(h("Values"));
        for (name, value, origin, _) in &d.values {
            let style = if origin == "not set" { theme.fg(Color::Red) } else { Style::default() };
            out.push(Line::from(vec![
                Span::raw(format!("  {name} = ")),
                Span::styled(value.clone(), style.add_modifier(Modifier::BOLD)),
                Span::styled(format!("  ({origin})"), theme.fg(Color::DarkGray)),
            ]));
        }
    }
    for (i, (title, code)) in d.commands.iter().enumerate() {
        out.push(Line::default());
        out.push(h(&format!("PowerShell {} — {title}  (y to copy)", i + 1)));
        for line in code.trim_end().lines() {
            hanging(&mut out, &format!("  {line}"), theme.fg(Color::LightBlue), width);
        }
    }
    if !d.checks.is_empty() {
        out.push(Line::default());
        out.push(h("Checks  (c runs them)"));
        for (name, last) in &d.checks {
            match last {
                None => out.push(Line::from(format!("  {name}: not run yet"))),
                Some(r) => {
                    out.push(Line::from(vec![
                        Span::styled(
                            format!("  {} ", r.outcome.as_str().to_uppercase()),
                            theme.outcome(r.outcome).add_modifier(Modifier::BOLD),
                        ),
                        Span::raw(format!("{name}: {}", r.summary)),
                    ]));
                    if !r.hint.is_empty() {
                        hanging(
                            &mut out,
                            &format!("    hint: {}", r.hint),
                            theme.fg(Color::Yellow),
                            width,
                        );
                    }
                    for (k, v) in &r.evidence {
                        hanging(
                            &mut out,
                            &format!("    {k}: {v}"),
                            theme.fg(Color::DarkGray),
                            width,
                        );
                    }
                    out.push(Line::from(Span::styled(
                        format!("    checked {}", r.at),
                        theme.fg(Color::DarkGray),
                    )));
                }
            }
        }
    }
    if !d.evidence.is_empty() {
        out.push(Line::default());
        out.push(h("Evidence  (a records it)"));
        for (key, label, value) in &d.evidence {
            out.push(Line::from(format!("  {label} [{key}]: {}", value.as_deref().unwrap_or("—"))));
        }
    }
    if !d.review.is_empty() {
        out.push(Line::default());
        out.push(h("Review"));
        for (item, how) in &d.review {
            out.push(Line::from(vec![
                Span::raw(format!("  • {item} ")),
                Span::styled(format!("[{how}]"), theme.fg(Color::DarkGray)),
            ]));
        }
    }
    out
}

/// Pushes `text` wrapped to `width`, continuation lines indented under the first one's
/// text, so wrapped code and evidence stay readable.
fn hanging(out: &mut Vec<Line<'static>>, text: &str, style: Style, width: usize) {
    let indent = text.chars().take_while(|c| *c == ' ').count() + 2;
    let chars: Vec<char> = text.chars().collect();
    if width <= indent + 10 || chars.len() <= width {
        out.push(Line::from(Span::styled(text.to_string(), style)));
        return;
    }
    let mut start = 0;
    let mut first = true;
    while start < chars.len() {
        let room = if first { width } else { width - indent };
        let mut end = (start + room).min(chars.len());
        if end < chars.len()
            && let Some(space) =
                chars[start..end].iter().rposition(|c| *c == ' ').filter(|p| *p > room / 2)
        {
            end = start + space + 1;
        }
        let piece: String = chars[start..end].iter().collect();
        let piece =
            if first { piece } else { format!("{}{}", " ".repeat(indent), piece.trim_start()) };
        out.push(Line::from(Span::styled(piece.trim_end().to_string(), style)));
        start = end;
        first = false;
    }
}

/// Joins Markdown's soft-wrapped lines into paragraphs, so the pane wraps them to its
/// own width; list items, headings, code and blank lines keep their own lines.
pub fn reflow(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut joinable = false;
    let mut fenced = false;
    for raw in text.trim_end().lines() {
        let trimmed = raw.trim_start();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            joinable = false;
            out.push(raw.to_string());
            continue;
        }
        let starts_block = fenced
            || trimmed.is_empty()
            || trimmed.starts_with('#')
            || trimmed.starts_with("- ")
            || trimmed.starts_with("* ")
            || trimmed.starts_with('>')
            || trimmed
                .split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
            || raw.starts_with("    ");
        match out.last_mut() {
            Some(last) if joinable && !starts_block => {
                last.push(' ');
                last.push_str(trimmed);
            }
            _ => out.push(raw.to_string()),
        }
        joinable = !fenced && !trimmed.is_empty() && !trimmed.starts_with('#');
    }
    out
}

fn markdown_line(line: &str, theme: &Theme) -> Line<'static> {
    if let Some(head) = line
        .strip_prefix("### ")
        .or_else(|| line.strip_prefix("## "))
        .or_else(|| line.strip_prefix("# "))
    {
        return Line::from(Span::styled(head.to_string(), theme.heading()));
    }
    let mut spans = Vec::new();
    let mut bold = false;
    let mut code = false;
    let mut buf = String::new();
    let mut chars = line.chars().peekable();
    let flush = |buf: &mut String, spans: &mut Vec<Span<'static>>, bold: bool, code: bool| {
        if buf.is_empty() {
            return;
        }
        let mut style = Style::default();
        if bold {
            style = style.add_modifier(Modifier::BOLD);
        }
        if code {
            style = theme.fg(Color::LightBlue);
        }
        spans.push(Span::styled(std::mem::take(buf), style));
    };
    while let Some(c) = chars.next() {
        if c == '*' && chars.peek() == Some(&'*') && !code {
            chars.next();
            flush(&mut buf, &mut spans, bold, code);
            bold = !bold;
        } else if c == '*'
            && !code
            && (chars.peek().is_some_and(|n| !n.is_whitespace())
                || buf.ends_with(|p: char| !p.is_whitespace()))
        {
            // Single-star emphasis: the marker is dropped, the text kept.
        } else if c == '`' {
            flush(&mut buf, &mut spans, bold, code);
            code = !code;
        } else {
            buf.push(c);
        }
    }
    flush(&mut buf, &mut spans, bold, code);
    Line::from(spans)
}

fn draw_detail(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let lines = detail_lines(app, theme.color, usize::from(area.width.saturating_sub(2)));
    let para = Paragraph::new(Text::from(lines))
        .block(block(" Step ", app.focus == Focus::Detail, theme))
        .wrap(Wrap { trim: false })
        .scroll((app.scroll, 0));
    frame.render_widget(para, area);
}

fn draw_status(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let mut spans = Vec::new();
    if !app.running.is_empty() {
        spans.push(Span::styled(
            format!(
                " {} checking {}/{} ",
                SPINNER[app.spinner % SPINNER.len()],
                app.batch.0,
                app.batch.1
            ),
            theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
    }
    spans.push(Span::raw(format!(" {}", app.message)));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

const KEYS: &[(&str, &str)] = &[
    ("?", "help"),
    ("q", "quit"),
    ("↑↓", "move"),
    ("←→", "pane"),
    ("a", "attest"),
    ("s", "skip"),
    ("c", "check"),
    ("y", "copy"),
    ("/", "find"),
    ("v", "values"),
    ("e", "export"),
    ("n", "next"),
];

fn draw_footer(frame: &mut Frame<'_>, area: Rect, theme: &Theme) {
    let mut spans = Vec::new();
    let mut width = 0usize;
    for (key, what) in KEYS {
        let len = key.chars().count() + what.len() + 3;
        if width + len > area.width as usize {
            break;
        }
        width += len;
        spans.push(Span::styled(
            format!(" {key}"),
            theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::raw(format!(" {what} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Every key, for the help popup.
pub const HELP: &[(&str, &str)] = &[
    ("↑ ↓  j k", "move in the focused pane (phases, steps, or scroll the detail)"),
    ("← →  h l  Tab", "focus the phases, steps or detail pane"),
    ("PgUp PgDn Space g", "scroll the detail pane"),
    ("n", "jump to the next open step"),
    ("/", "find a step by id or title, Enter jumps"),
    ("a", "attest the step done: evidence fields, then a note"),
    ("w", "mark the step in progress"),
    ("s", "skip the step, with a reason"),
    ("r", "reset the step to pending"),
    ("p", "apply the step's file edit (web.config, adapter config, script)"),
    ("c", "run this step's live checks in the background"),
    ("C", "run every check of this phase"),
    ("y", "copy a PowerShell command (OSC 52 clipboard)"),
    ("v", "edit a value this step uses"),
    ("e", "export the record (md, html, json, junit, ics)"),
    ("?  F1", "this help"),
    ("q  Esc  Ctrl-C", "quit (where you are is remembered)"),
];

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width.saturating_sub(2));
    let h = height.min(area.height.saturating_sub(2));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn draw_popup(frame: &mut Frame<'_>, area: Rect, app: &App, popup: &Popup, theme: &Theme) {
    match popup {
        Popup::Welcome => {
            let about = &app.rollout.runbook.about;
            let mut lines: Vec<Line<'static>> =
                reflow(&about.welcome).iter().map(|l| markdown_line(l, theme)).collect();
            lines.push(Line::default());
            lines.push(Line::from(Span::styled("Press any key to start.", theme.heading())));
            let rect = centered(area, 76, 20);
            frame.render_widget(Clear, rect);
            let title = format!(" {} ", about.title);
            frame.render_widget(
                Paragraph::new(lines).wrap(Wrap { trim: false }).block(block(&title, true, theme)),
                rect,
            );
        }
        Popup::Help => {
            let mut lines: Vec<Line<'static>> = HELP
                .iter()
                .map(|(k, d)| {
                    Line::from(vec![
                        Span::styled(format!("{k:<18}"), theme.fg(Color::Yellow)),
                        Span::raw((*d).to_string()),
                    ])
                })
                .collect();
            lines.push(Line::default());
            lines.push(Line::from(
                "Status: ○ pending ◐ in progress ● done ✔ verified ✘ failed ↷ skipped – n/a",
            ));
            lines.push(Line::from(format!("Log: {}", app.rollout.paths.log.display())));
            lines.push(Line::from(Span::styled("Press any key to close.", theme.heading())));
            let rect = centered(area, 78, 22);
            frame.render_widget(Clear, rect);
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .block(block(" Keys ", true, theme)),
                rect,
            );
        }
        Popup::ConfirmApply { plan, scroll } => {
            let title = format!(" Apply to {} ", plan.path.display());
            let mut text = format!("Changes: {}\n\n{}", plan.changed.join(", "), plan.diff());
            text.push_str(
                "\ny = write (the file is backed up first), j/k scroll, any other key = cancel",
            );
            let rect = centered(area, 100, area.height.saturating_sub(2));
            frame.render_widget(Clear, rect);
            frame.render_widget(
                Paragraph::new(text).scroll((*scroll, 0)).block(block(&title, true, theme)),
                rect,
            );
        }
        Popup::ConfirmReset => {
            let key = app.current().map(|i| i.key).unwrap_or_default();
            let rect = centered(area, 60, 5);
            frame.render_widget(Clear, rect);
            let text = format!(
                "Put {key} back to pending?\nEvidence and check results are kept.  y = yes, any other key = no"
            );
            frame.render_widget(
                Paragraph::new(text).wrap(Wrap { trim: true }).block(block(" Reset ", true, theme)),
                rect,
            );
        }
        Popup::Copy { selected } => {
            let Some(inst) = app.current() else { return };
            let items: Vec<ListItem<'_>> = app
                .rollout
                .step_of(&inst)
                .commands
                .iter()
                .enumerate()
                .map(|(i, c)| ListItem::new(format!("{} {}", i + 1, c.title)))
                .collect();
            let rect = centered(area, 64, u16::try_from(items.len()).unwrap_or(8) + 2);
            frame.render_widget(Clear, rect);
            let mut state = ListState::default().with_selected(Some(*selected));
            let list = List::new(items)
                .block(block(" Copy which command? ", true, theme))
                .highlight_style(Theme::selected());
            frame.render_stateful_widget(list, rect, &mut state);
        }
        Popup::Export { selected } => {
            let labels = [
                "md     Markdown checklist",
                "html   one self-contained page (print on A4, read on a phone)",
                "json   the record for tools (versioned)",
                "junit  one test case per step, for a CI dashboard",
                "ics    certificate renewal reminders for your calendar",
            ];
            let items: Vec<ListItem<'_>> = labels.iter().map(|l| ListItem::new(*l)).collect();
            let rect = centered(area, 70, u16::try_from(items.len()).unwrap_or(5) + 2);
            frame.render_widget(Clear, rect);
            let mut state = ListState::default().with_selected(Some(*selected));
            let list = List::new(items)
                .block(block(" Export the record as… (Enter) ", true, theme))
                .highlight_style(Theme::selected());
            frame.render_stateful_widget(list, rect, &mut state);
        }
        Popup::Vars { names, selected } => {
            let items: Vec<ListItem<'_>> = names
                .iter()
                .map(|n| {
                    let v =
                        app.rollout.value(n).map_or_else(|| "(not set)".into(), |v| v.display());
                    ListItem::new(format!("{n:<22} {v}"))
                })
                .collect();
            let rect = centered(area, 72, u16::try_from(items.len()).unwrap_or(10).min(16) + 2);
            frame.render_widget(Clear, rect);
            let mut state = ListState::default().with_selected(Some(*selected));
            let list = List::new(items)
                .block(block(" Edit which value? (Enter) ", true, theme))
                .highlight_style(Theme::selected());
            frame.render_stateful_widget(list, rect, &mut state);
        }
        Popup::Prompt { kind, input, cursor } => {
            draw_prompt(frame, area, app, kind, input, *cursor, theme);
        }
    }
}

fn draw_prompt(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &App,
    kind: &PromptKind,
    input: &str,
    cursor: usize,
    theme: &Theme,
) {
    let inst = app.current();
    let (title, help) = match kind {
        PromptKind::Evidence(i) => {
            let field =
                inst.as_ref().and_then(|x| app.rollout.step_of(x).evidence.get(*i).cloned());
            let label = field.map(|f| f.label).unwrap_or_default();
            (
                format!(" Attest: {label} "),
                "Enter next (empty = not recorded) · Esc cancel".to_string(),
            )
        }
        PromptKind::AttestNote => {
            (" Attest: note (optional) ".into(), "Enter attest · Esc cancel".into())
        }
        PromptKind::SkipReason => {
            (" Skip: why is this step not needed? ".into(), "Enter skip · Esc cancel".into())
        }
        PromptKind::SetValue(name) => {
            let desc =
                app.rollout.runbook.var(name).map(|d| d.description.clone()).unwrap_or_default();
            (
                format!(" Set {name} "),
                format!(
                    "{desc}{} · Enter save · Esc cancel",
                    if app.rollout.runbook.var(name).is_some_and(|d| d.list) {
                        " · a list: separate items with commas"
                    } else {
                        ""
                    }
                ),
            )
        }
        PromptKind::ExportPath(format) => (
            format!(" Export the {format} record to "),
            "an existing file is not overwritten · Enter write · Esc cancel".into(),
        ),
        PromptKind::Search => (
            " Find a step ".into(),
            "type part of an id or title · ↑↓ choose · Enter jump · Esc cancel".into(),
        ),
    };
    let rect_width = 74u16.min(area.width.saturating_sub(2));
    let inner = usize::from(rect_width.saturating_sub(2)).max(10);
    let mut lines: Vec<Line<'static>> = wrap_words(&help, inner)
        .into_iter()
        .map(|l| Line::from(l).style(theme.fg(Color::DarkGray)))
        .collect();
    lines.push(input_line(input, cursor, inner));
    if *kind == PromptKind::Search {
        for (i, key) in app.matches.iter().take(10).enumerate() {
            let style = if i == app.match_row { Theme::selected() } else { Style::default() };
            lines.push(Line::from(Span::styled(format!("  {key}"), style)));
        }
        if app.matches.len() > 10 {
            lines.push(Line::from(format!("  … {} more", app.matches.len() - 10)));
        }
    }
    let height = u16::try_from(lines.len()).unwrap_or(4) + 2;
    let rect = centered(area, rect_width, height.max(4));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(block(&title, true, theme)),
        rect,
    );
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Splits text into lines of at most `width` characters at spaces.
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push(line);
    out
}

/// The text field: `> ` and the input, scrolled so the cursor stays in view.
fn input_line(input: &str, cursor: usize, width: usize) -> Line<'static> {
    let room = width.saturating_sub(3).max(1);
    let chars: Vec<char> = input.chars().collect();
    let start = cursor.saturating_sub(room.saturating_sub(1));
    let visible = |from: usize, to: usize| -> String {
        chars.get(from.min(chars.len())..to.min(chars.len())).unwrap_or_default().iter().collect()
    };
    let at = visible(cursor, cursor + 1);
    Line::from(vec![
        Span::raw(if start > 0 { "…" } else { ">" }.to_string() + " "),
        Span::raw(visible(start, cursor)),
        Span::styled(
            if at.is_empty() { " ".to_string() } else { at },
            Style::default().add_modifier(Modifier::REVERSED),
        ),
        Span::raw(visible(cursor + 1, start + room)),
    ])
}
