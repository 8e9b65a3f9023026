//! The record as one self-contained HTML page: inline CSS, no script, no network fetch;
//! readable on a phone and printed on A4. The template is `assets/record.html`, embedded
//! in the binary and rendered with minijinja's HTML auto-escaping.

use minijinja::{Environment, context};

use super::{Record, open_first};

const TEMPLATE: &str = include_str!("../../assets/record.html");

/// Renders the record as HTML.
pub fn to_html(record: &Record) -> String {
    let mut env = Environment::new();
    // The template ships inside the binary and is rendered in tests, so a failure here is
    // a build defect; it still yields a readable page rather than a panic.
    if let Err(e) = env.add_template("record.html", TEMPLATE) {
        return fallback(&e);
    }
    let open =
        open_first(record).into_iter().filter(|s| !super::is_closed(&s.status)).collect::<Vec<_>>();
    env.get_template("record.html")
        .and_then(|t| t.render(context! { r => record, open => open }))
        .unwrap_or_else(|e| fallback(&e))
}

fn fallback(e: &minijinja::Error) -> String {
    let text = e.to_string().replace('&', "&amp;").replace('<', "&lt;");
    format!(
        "<!DOCTYPE html>\n<html><body><p>the record template failed: {text}</p></body></html>\n"
    )
}
