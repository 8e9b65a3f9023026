//! The AD FS adapter's `MultiFactorAuthenticationAdfsAdapter.config`: elements
//! `UseWebServiceSdk`, `WebServiceSdkUrl`, `WebServiceSdkUsername`, `WebServiceSdkPassword`
//! and, for client-certificate sign-in, `WebServiceSdkCertificateThumbprint`. Each is found
//! by local name anywhere in the file; its text is replaced, nothing else. An element that
//! is absent is added after the last one present, on its own line.

use std::fmt::Write as _;

use roxmltree::{Document, Node};

use super::{
    EditError, Edited, Finding, Splice, Wanted, decode, escape_text, indent_before, judge_password,
    judge_url, judge_value, line_of_node, newline_of, parse_xml, set_element_text, splice,
};

pub const USE_SDK: &str = "UseWebServiceSdk";
pub const URL: &str = "WebServiceSdkUrl";
pub const USERNAME: &str = "WebServiceSdkUsername";
pub const PASSWORD: &str = "WebServiceSdkPassword";
pub const THUMBPRINT: &str = "WebServiceSdkCertificateThumbprint";

/// Refuses a password the adapter cannot use (`&`).
pub fn check_password(password: &str) -> Result<(), EditError> {
    if password.contains('&') {
        return Err(EditError::at(
            0,
            "the SDK password contains `&`, which the AD FS adapter cannot use; change the SDK account's password (store it with `mfa-rollout secret set sdk_password`, and update every portal web.config)",
        ));
    }
    Ok(())
}

/// A thumbprint as Windows shows it (upper-case hex, no spaces), or why it is not one.
pub fn normalize_thumbprint(text: &str) -> Result<String, EditError> {
    let t: String = text.chars().filter(|c| !c.is_whitespace() && *c != ':').collect();
    if t.len() != 40 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(EditError::at(
            0,
            format!("`{text}` is not a certificate thumbprint (40 hex digits)"),
        ));
    }
    Ok(t.to_ascii_uppercase())
}

fn element<'a, 'i>(doc: &'a Document<'i>, name: &str) -> Result<Option<Node<'a, 'i>>, EditError> {
    let hits: Vec<_> = doc
        .root_element()
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == name)
        .collect();
    if let [_, second, ..] = hits.as_slice() {
        return Err(EditError::at(
            line_of_node(doc, *second),
            format!("<{name}> appears twice; remove one, then try again"),
        ));
    }
    Ok(hits.first().copied())
}

/// The values to write, in file order.
fn wanted_values(wanted: &Wanted) -> Result<Vec<(&'static str, String)>, EditError> {
    let password = wanted.password.clone().unwrap_or_default();
    check_password(&password)?;
    let mut list = vec![
        (USE_SDK, "true".to_string()),
        (URL, wanted.url.clone()),
        (USERNAME, wanted.account.clone()),
        (PASSWORD, password),
    ];
    if let Some(t) = wanted.thumbprint.as_deref().filter(|t| !t.trim().is_empty()) {
        list.push((THUMBPRINT, normalize_thumbprint(t)?));
    }
    Ok(list)
}

/// Plans the edit.
pub fn edit(bytes: &[u8], wanted: &Wanted) -> Result<Edited, EditError> {
    let values = wanted_values(wanted)?;
    let dec = decode(bytes)?;
    let doc = parse_xml(dec.text)?;

    let mut splices = Vec::new();
    let mut changed = Vec::new();
    let mut missing = Vec::new();
    let mut secrets = super::secret_forms(wanted.password.as_deref().unwrap_or_default());
    if let Some(node) = element(&doc, PASSWORD)? {
        secrets.extend(super::secret_forms(&super::element_text(&doc, node, PASSWORD)?));
        let inner = node.children().map(|c| dec.text[c.range()].to_string());
        secrets.extend(inner);
    }
    let mut last_present: Option<Node<'_, '_>> = None;
    for (name, value) in &values {
        match element(&doc, name)? {
            Some(node) => {
                if let Some(s) = set_element_text(&doc, dec.text, node, name, value)? {
                    splices.push(s);
                    changed.push((*name).to_string());
                }
                if last_present.is_none_or(|l| l.range().end < node.range().end) {
                    last_present = Some(node);
                }
            }
            None => missing.push((*name, value.clone())),
        }
    }
    if !missing.is_empty() {
        let Some(last) = last_present else {
            return Err(EditError::at(
                line_of_node(&doc, doc.root_element()),
                format!(
                    "none of the adapter's elements ({USE_SDK}, {URL}, ...) is in the file; is this MultiFactorAuthenticationAdfsAdapter.config?"
                ),
            ));
        };
        let indent = indent_before(dec.text, last.range().start).unwrap_or("  ");
        let nl = newline_of(dec.text);
        let at = last.range().end;
        let mut with = String::new();
        for (n, v) in &missing {
            let _ = write!(with, "{nl}{indent}<{n}>{}</{n}>", escape_text(v));
        }
        splices.push(Splice { range: at..at, with });
        changed.extend(missing.iter().map(|(n, _)| (*n).to_string()));
    }
    secrets.retain(|s| !s.trim().is_empty());
    Ok(Edited { bytes: splice(bytes, &dec, splices), changed, secrets })
}

/// Reads the values and judges them.
pub fn inspect(bytes: &[u8], wanted: &Wanted) -> Result<Vec<Finding>, EditError> {
    let dec = decode(bytes)?;
    let doc = parse_xml(dec.text)?;
    let text_of = |name: &str| -> Result<Option<String>, EditError> {
        element(&doc, name)?
            .map(|n| super::element_text(&doc, n, name).map(|t| t.trim().to_string()))
            .transpose()
    };
    let mut out = Vec::new();
    let use_sdk = text_of(USE_SDK)?.map(|v| v.to_ascii_lowercase());
    out.push(judge_value(USE_SDK, use_sdk.as_deref(), "true"));
    out.extend(judge_url(URL, text_of(URL)?.as_deref(), &wanted.url));
    out.push(judge_value(USERNAME, text_of(USERNAME)?.as_deref(), &wanted.account));
    let password =
        element(&doc, PASSWORD)?.map(|n| super::element_text(&doc, n, PASSWORD)).transpose()?;
    out.push(judge_password(PASSWORD, password.as_deref(), wanted.password.as_deref()));
    if let Some(p) = password.as_deref()
        && p.contains('&')
    {
        out.push(Finding::Problem {
            name: PASSWORD.into(),
            reason: "contains `&`, which the adapter cannot use".into(),
        });
    }
    let found = text_of(THUMBPRINT)?;
    match wanted.thumbprint.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(t) => {
            let expected = normalize_thumbprint(t).unwrap_or_else(|_| t.to_string());
            let found = found.map(|f| f.replace(' ', "").to_ascii_uppercase());
            out.push(judge_value(THUMBPRINT, found.as_deref(), &expected));
        }
        None => {
            if let Some(f) = found.filter(|f| !f.is_empty()) {
                out.push(Finding::Set { name: THUMBPRINT.into(), value: f });
            }
        }
    }
    Ok(out)
}
