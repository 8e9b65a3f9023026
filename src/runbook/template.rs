//! `${var}` placeholders in runbook text: finding them (for load-time validation) and
//! filling them in (for screens, commands and check parameters).
//!
//! Syntax: `${name}` or `${name|filter|filter}`; `$${` is a literal `${`. Filters: `short`
//! (first DNS label), `upper`, `lower`, `pslist` (a PowerShell array literal `'a', 'b'`).
//! This module knows nothing about which variables exist; callers pass a lookup.

use crate::runbook::Value;

/// Filters a placeholder may apply, in the order written.
pub const FILTERS: &[&str] = &["short", "upper", "lower", "pslist"];

/// One `${...}` occurrence in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub name: String,
    pub filters: Vec<String>,
    /// Byte offset of the `$` in the text.
    pub offset: usize,
}

/// Lists every placeholder in `text`, or describes the first malformed one.
pub fn placeholders(text: &str) -> Result<Vec<Placeholder>, (usize, String)> {
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(pos) = text[rest..].find("${") {
        let start = rest + pos;
        if start > 0 && text.as_bytes()[start - 1] == b'$' {
            rest = start + 2;
            continue;
        }
        let Some(len) = text[start + 2..].find('}') else {
            return Err((start, "a `${` placeholder is not closed with `}`".into()));
        };
        let inner = &text[start + 2..start + 2 + len];
        let mut parts = inner.split('|').map(str::trim);
        let name = parts.next().unwrap_or_default().to_string();
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err((
                start,
                format!(
                    "`${{{inner}}}` is not a variable placeholder (write a literal `${{` as `$${{`)"
                ),
            ));
        }
        let filters: Vec<String> = parts.map(str::to_string).collect();
        if let Some(bad) = filters.iter().find(|f| !FILTERS.contains(&f.as_str())) {
            return Err((
                start,
                format!(
                    "unknown filter `{bad}` in `${{{inner}}}`; filters are {}",
                    FILTERS.join(", ")
                ),
            ));
        }
        found.push(Placeholder { name, filters, offset: start });
        rest = start + 2 + len + 1;
    }
    Ok(found)
}

/// Fills every placeholder with `lookup(name)`; a name it cannot resolve is reported.
pub fn render(text: &str, lookup: &dyn Fn(&str) -> Option<Value>) -> Result<String, String> {
    let found = placeholders(text).map_err(|(_, m)| m)?;
    let mut out = String::with_capacity(text.len());
    let mut consumed = 0;
    for ph in found {
        out.push_str(&unescape(&text[consumed..ph.offset]));
        let value = lookup(&ph.name).ok_or_else(|| ph.name.clone())?;
        out.push_str(&apply_filters(value, &ph.filters));
        let close = text[ph.offset..].find('}').map_or(text.len(), |i| ph.offset + i + 1);
        consumed = close;
    }
    out.push_str(&unescape(&text[consumed..]));
    Ok(out)
}

/// Like [`render`], but shows a visible marker for values that are not set.
pub fn render_lenient(text: &str, lookup: &dyn Fn(&str) -> Option<Value>) -> String {
    render(text, &|name| {
        Some(lookup(name).unwrap_or_else(|| Value::Str(format!("<{name}: not set>"))))
    })
    .unwrap_or_else(|_| text.to_string())
}

fn unescape(text: &str) -> String {
    text.replace("$${", "${")
}

fn apply_filters(value: Value, filters: &[String]) -> String {
    let mut items = match value {
        Value::Str(s) => vec![s],
        Value::List(l) => l,
    };
    let mut pslist = false;
    for f in filters {
        match f.as_str() {
            "short" => {
                items = items
                    .into_iter()
                    .map(|s| s.split('.').next().unwrap_or_default().to_string())
                    .collect();
            }
            "upper" => items = items.into_iter().map(|s| s.to_uppercase()).collect(),
            "lower" => items = items.into_iter().map(|s| s.to_lowercase()).collect(),
            _ => pslist = true,
        }
    }
    if pslist {
        items.iter().map(|s| format!("'{}'", s.replace('\'', "''"))).collect::<Vec<_>>().join(", ")
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<Value> {
        match name {
            "fqdn" => Some(Value::Str("app1.corp.contoso.com".into())),
            "hosts" => Some(Value::List(vec!["a.x".into(), "b'c.x".into()])),
            _ => None,
        }
    }

    #[test]
    fn renders_values_and_filters() {
        let cases = [
            ("plain text", "plain text"),
            ("PFWSDK_${fqdn|short|upper}", "PFWSDK_APP1"),
            ("${hosts}", "a.x, b'c.x"),
            ("@(${hosts|short|pslist})", "@('a', 'b''c')"),
            ("literal $${env:Path} and ${fqdn}", "literal ${env:Path} and app1.corp.contoso.com"),
        ];
        for (input, want) in cases {
            assert_eq!(render(input, &lookup).as_deref(), Ok(want), "input {input}");
        }
    }

    #[test]
    fn reports_unknown_and_malformed_placeholders() {
        assert_eq!(render("${nope}", &lookup), Err("nope".to_string()));
        assert!(placeholders("${env:Path}").is_err());
        assert!(placeholders("${fqdn|shout}").is_err());
        assert!(placeholders("${fqdn").is_err());
        assert_eq!(render_lenient("x ${nope}", &lookup), "x <nope: not set>");
    }
}
