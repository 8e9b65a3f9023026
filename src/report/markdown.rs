//! The record as Markdown: a change-board-readable checklist, open items first.

use std::fmt::Write as _;

use super::Record;

/// Renders the record as Markdown.
pub fn to_markdown(r: &Record) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# MFA rollout record\n");
    let _ = writeln!(out, "| | |\n|---|---|");
    for (k, v) in [
        ("Rollout", r.rollout.as_str()),
        ("Profile", r.profile.as_str()),
        ("Created", r.created.as_str()),
        ("Exported", r.exported_at.as_str()),
        ("Tool", r.tool.as_str()),
    ] {
        let _ = writeln!(out, "| {k} | {} |", cell(v));
    }
    let _ = writeln!(
        out,
        "| Progress | {} of {} steps closed, {} open |",
        r.totals.closed, r.totals.steps, r.totals.open
    );

    let _ = writeln!(out, "\n## Summary\n\n| Phase | Closed | Total |\n|---|---|---|");
    for p in &r.phases {
        let _ = writeln!(out, "| {} | {} | {} |", cell(&p.title), p.closed, p.total);
    }

    let open: Vec<_> =
        r.phases.iter().flat_map(|p| &p.steps).filter(|s| !closed(&s.status)).collect();
    if !open.is_empty() {
        let _ = writeln!(out, "\n## Open items\n");
        for s in open {
            let _ = writeln!(out, "- `{}` {} — **{}**", s.key, s.title, s.status);
        }
    }

    for p in &r.phases {
        let _ = writeln!(out, "\n## {} ({})\n", p.title, p.role);
        for s in &p.steps {
            let _ = writeln!(out, "### `{}` {}\n", s.key, s.title);
            let _ = write!(out, "- Status: **{}**", s.status);
            if let Some(by) = &s.by {
                let _ = write!(out, " by {by}");
            }
            if let Some(h) = &s.on_host {
                let _ = write!(out, " on {h}");
            }
            if let Some(at) = &s.at {
                let _ = write!(out, " at {at}");
            }
            out.push('\n');
            if let Some(n) = &s.note {
                let _ = writeln!(out, "- Note: {}", n.replace('\n', " "));
            }
            if let Some(reason) = &s.reason {
                let _ = writeln!(out, "- Skipped because: {}", reason.replace('\n', " "));
            }
            for (k, v) in &s.evidence {
                let _ = writeln!(out, "- Evidence `{k}`: {}", v.replace('\n', " "));
            }
            for c in &s.checks {
                let _ = writeln!(
                    out,
                    "- Check {} — {}: {} ({})",
                    c.name,
                    c.outcome.as_str(),
                    c.summary,
                    c.at
                );
                if !c.hint.is_empty() {
                    let _ = writeln!(out, "  - Hint: {}", c.hint);
                }
                for (k, v) in &c.evidence {
                    let _ = writeln!(out, "  - {k}: {v}");
                }
            }
            out.push('\n');
        }
    }
    let _ = writeln!(
        out,
        "---\n\nJournal: {} entries, final hash `{}`{}\n\n`{}`",
        r.journal.entries,
        r.journal.head,
        if r.journal.intact {
            ""
        } else {
            " (the journal chain is BROKEN: run `mfa-rollout verify`)"
        },
        r.journal.marker
    );
    out
}

fn closed(status: &str) -> bool {
    matches!(status, "done" | "verified" | "skipped" | "n/a")
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}
