//! The record as `JUnit` XML, for CI dashboards: one test suite per phase, one test case per
//! step instance. Done and verified pass; failed and still-open steps are failures (an
//! open step is unfinished work); skipped and n/a steps are skipped, with the reason.

use std::fmt::Write as _;

use super::{Record, StepRecord};

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect()
}

fn detail(s: &StepRecord) -> String {
    let mut out = String::new();
    for c in &s.checks {
        let _ = writeln!(out, "{} {}: {}", c.outcome.as_str(), c.name, c.summary);
        if !c.hint.is_empty() {
            let _ = writeln!(out, "  hint: {}", c.hint);
        }
    }
    if let Some(n) = &s.note {
        let _ = writeln!(out, "note: {n}");
    }
    for (k, v) in &s.evidence {
        let _ = writeln!(out, "{k}: {v}");
    }
    out
}

/// Renders the record as `JUnit` XML.
pub fn to_junit(r: &Record) -> String {
    let count = |f: &dyn Fn(&str) -> bool| {
        r.phases.iter().flat_map(|p| &p.steps).filter(|s| f(&s.status)).count()
    };
    let failures = count(&|s| matches!(s, "failed" | "pending" | "in-progress"));
    let skipped = count(&|s| matches!(s, "skipped" | "n/a"));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"mfa-rollout {}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
        xml(&r.rollout),
        r.totals.steps
    );
    let _ = writeln!(out, "  <!-- {} -->", r.journal.marker);
    for p in &r.phases {
        let pf = p
            .steps
            .iter()
            .filter(|s| matches!(s.status.as_str(), "failed" | "pending" | "in-progress"))
            .count();
        let ps = p.steps.iter().filter(|s| matches!(s.status.as_str(), "skipped" | "n/a")).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{pf}\" skipped=\"{ps}\">",
            xml(&p.title),
            p.steps.len()
        );
        let _ = writeln!(
            out,
            "    <properties><property name=\"rollout\" value=\"{}\"/><property name=\"profile\" value=\"{}\"/><property name=\"journal\" value=\"{}\"/></properties>",
            xml(&r.rollout),
            xml(&r.profile),
            xml(&r.journal.marker)
        );
        for s in &p.steps {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{} {}\"",
                xml(&p.id),
                xml(&s.key),
                xml(&s.title)
            );
            let body = xml(&detail(s));
            match s.status.as_str() {
                "failed" => {
                    let first = s
                        .checks
                        .iter()
                        .find(|c| c.outcome.as_str() == "fail")
                        .map_or("a check failed", |c| c.summary.as_str());
                    let _ = writeln!(
                        out,
                        ">\n      <failure type=\"failed\" message=\"{}\">{body}</failure>\n    </testcase>",
                        xml(first)
                    );
                }
                "pending" | "in-progress" => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure type=\"open\" message=\"step is {}\">{body}</failure>\n    </testcase>",
                        s.status
                    );
                }
                "skipped" | "n/a" => {
                    let why =
                        s.reason.clone().unwrap_or_else(|| "does not apply to this rollout".into());
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml(&why)
                    );
                }
                _ if body.is_empty() => {
                    let _ = writeln!(out, "/>");
                }
                _ => {
                    let _ =
                        writeln!(out, ">\n      <system-out>{body}</system-out>\n    </testcase>");
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
