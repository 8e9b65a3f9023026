//! The User Portal's web.config: three `<appSettings><add key=".." value=".."/>` keys and
//! the `pfup_pfwssdk_PfWsSdk` setting, found by name anywhere under `applicationSettings`
//! (the wrapper element's name is not public). Only the value bytes are replaced; a key
//! that is absent is added after the last `<add>`, with that line's indentation.

use std::fmt::Write as _;

use roxmltree::{Document, Node};

use super::{
    Decoded, EditError, Edited, Finding, Splice, Wanted, decode, escape_attr, indent_before,
    judge_password, judge_url, judge_value, line_of_node, newline_of, parse_xml, set_element_text,
    splice,
};

pub const USE_SDK: &str = "USE_WEB_SERVICE_SDK";
pub const USERNAME: &str = "WEB_SERVICE_SDK_AUTHENTICATION_USERNAME";
pub const PASSWORD: &str = "WEB_SERVICE_SDK_AUTHENTICATION_PASSWORD";
pub const URL_SETTING: &str = "pfup_pfwssdk_PfWsSdk";

/// Refuses a password the portal cannot use: `<` followed by a letter trips ASP.NET
/// request validation.
pub fn check_password(password: &str) -> Result<(), EditError> {
    let bytes = password.as_bytes();
    if bytes.windows(2).any(|w| w[0] == b'<' && w[1].is_ascii_alphabetic()) {
        return Err(EditError::at(
            0,
            "the SDK password has `<` followed by a letter, which ASP.NET request validation refuses; change the SDK account's password (and store it with `mfa-rollout secret set sdk_password`)",
        ));
    }
    Ok(())
}

/// The parts of a web.config the edit touches.
struct Parts<'a, 'i> {
    app_settings: Node<'a, 'i>,
    /// (key, the `add` element) for each of the three keys, when present.
    keys: Vec<(&'static str, Option<Node<'a, 'i>>)>,
    /// The `<value>` element of the URL setting.
    url_value: Node<'a, 'i>,
}

fn find<'a, 'i>(doc: &'a Document<'i>) -> Result<Parts<'a, 'i>, EditError> {
    let root = doc.root_element();
    let sections: Vec<_> = root.descendants().filter(|n| n.has_tag_name("appSettings")).collect();
    let app_settings = match sections.as_slice() {
        [] => {
            return Err(EditError::at(
                line_of_node(doc, root),
                "no <appSettings> section; is this the User Portal's web.config?",
            ));
        }
        [one] => *one,
        [_, second, ..] => {
            return Err(EditError::at(
                line_of_node(doc, *second),
                "a second <appSettings> section; keep one, then try again",
            ));
        }
    };

    let mut keys = Vec::new();
    for key in [USE_SDK, USERNAME, PASSWORD] {
        let hits: Vec<_> = app_settings
            .children()
            .filter(|n| n.has_tag_name("add"))
            .filter(|n| n.attribute("key").is_some_and(|k| k.eq_ignore_ascii_case(key)))
            .collect();
        if let [_, second, ..] = hits.as_slice() {
            return Err(EditError::at(
                line_of_node(doc, *second),
                format!("key `{key}` appears twice in <appSettings>; remove one, then try again"),
            ));
        }
        keys.push((key, hits.first().copied()));
    }

    let app: Vec<_> =
        root.descendants().filter(|n| n.has_tag_name("applicationSettings")).collect();
    if app.is_empty() {
        return Err(EditError::at(
            line_of_node(doc, root),
            "no <applicationSettings> section, so no place for the SDK URL; is this the User Portal's web.config?",
        ));
    }
    let settings: Vec<_> = app
        .iter()
        .flat_map(roxmltree::Node::descendants)
        .filter(|n| n.has_tag_name("setting") && n.attribute("name") == Some(URL_SETTING))
        .collect();
    let setting = match settings.as_slice() {
        [] => {
            return Err(EditError::at(
                line_of_node(doc, app[0]),
                format!("no setting `{URL_SETTING}` under <applicationSettings>"),
            ));
        }
        [one] => *one,
        [_, second, ..] => {
            return Err(EditError::at(
                line_of_node(doc, *second),
                format!("setting `{URL_SETTING}` appears twice; remove one, then try again"),
            ));
        }
    };
    let values: Vec<_> = setting.children().filter(|n| n.has_tag_name("value")).collect();
    let url_value = match values.as_slice() {
        [one] => *one,
        [] => {
            return Err(EditError::at(
                line_of_node(doc, setting),
                format!("setting `{URL_SETTING}` has no <value> element"),
            ));
        }
        [_, second, ..] => {
            return Err(EditError::at(
                line_of_node(doc, *second),
                format!("setting `{URL_SETTING}` has two <value> elements"),
            ));
        }
    };
    Ok(Parts { app_settings, keys, url_value })
}

/// Plans the edit: the three keys and the URL.
pub fn edit(bytes: &[u8], wanted: &Wanted) -> Result<Edited, EditError> {
    let password = wanted.password.as_deref().unwrap_or_default();
    check_password(password)?;
    let dec = decode(bytes)?;
    let doc = parse_xml(dec.text)?;
    let parts = find(&doc)?;

    let mut splices = Vec::new();
    let mut changed = Vec::new();
    let mut missing = Vec::new();
    let mut secrets = super::secret_forms(password);
    for (key, node) in &parts.keys {
        if *key == PASSWORD
            && let Some(attr) = node.and_then(|n| n.attributes().find(|a| a.name() == "value"))
        {
            secrets.extend(super::secret_forms(attr.value()));
            secrets.push(dec.text[attr.range_value()].to_string());
        }
        let value = match *key {
            USE_SDK => "true",
            USERNAME => wanted.account.as_str(),
            _ => password,
        };
        match node {
            Some(add) => {
                if let Some(s) = set_attr(&doc, &dec, *add, key, value)? {
                    splices.push(s);
                    changed.push((*key).to_string());
                }
            }
            None => missing.push((*key, value)),
        }
    }
    if !missing.is_empty() {
        splices.push(insert_keys(&doc, &dec, parts.app_settings, &missing)?);
        changed.extend(missing.iter().map(|(k, _)| (*k).to_string()));
    }
    if let Some(s) = set_element_text(&doc, dec.text, parts.url_value, URL_SETTING, &wanted.url)? {
        splices.push(s);
        changed.push(URL_SETTING.to_string());
    }
    secrets.retain(|s| !s.is_empty());
    Ok(Edited { bytes: splice(bytes, &dec, splices), changed, secrets })
}

/// Reads the values and judges them.
pub fn inspect(bytes: &[u8], wanted: &Wanted) -> Result<Vec<Finding>, EditError> {
    let dec = decode(bytes)?;
    let doc = parse_xml(dec.text)?;
    let parts = find(&doc)?;
    let mut out = Vec::new();
    for (key, node) in &parts.keys {
        let found = node.and_then(|n| n.attribute("value"));
        out.push(match *key {
            USE_SDK => judge_value(key, found.map(str::to_ascii_lowercase).as_deref(), "true"),
            USERNAME => judge_value(key, found, &wanted.account),
            _ => judge_password(key, found, wanted.password.as_deref()),
        });
    }
    let url = super::element_text(&doc, parts.url_value, URL_SETTING)?;
    out.extend(judge_url(URL_SETTING, Some(url.trim()), &wanted.url));
    Ok(out)
}

/// A splice setting an `add` element's `value` attribute; `None` when it already holds it.
fn set_attr(
    doc: &Document<'_>,
    dec: &Decoded<'_>,
    add: Node<'_, '_>,
    key: &str,
    value: &str,
) -> Result<Option<Splice>, EditError> {
    let Some(attr) = add.attributes().find(|a| a.name() == "value") else {
        // <add key="K" />: add the attribute after the last one, before the tag's end.
        let last_attr = add.attributes().next_back();
        let last = last_attr.as_ref().map_or(add.range().start + 4, |a| a.range().end);
        let quote = last_attr.map_or('"', |a| quote_of(dec, a.range_value()));
        return Ok(Some(Splice {
            range: last..last,
            with: format!(" value={quote}{}{quote}", escape_attr(value, quote)),
        }));
    };
    if attr.value() == value {
        return Ok(None);
    }
    let range = attr.range_value();
    if range.start > dec.text.len() || range.end > dec.text.len() {
        return Err(EditError::at(
            line_of_node(doc, add),
            format!("cannot locate the value of `{key}`"),
        ));
    }
    let quote = quote_of(dec, range.clone());
    Ok(Some(Splice { range, with: escape_attr(value, quote) }))
}

fn quote_of(dec: &Decoded<'_>, value: std::ops::Range<usize>) -> char {
    dec.text[..value.start].chars().next_back().filter(|c| *c == '\'').unwrap_or('"')
}

/// Adds absent keys after the last `<add>` of `<appSettings>`, one per line.
fn insert_keys(
    doc: &Document<'_>,
    dec: &Decoded<'_>,
    section: Node<'_, '_>,
    keys: &[(&str, &str)],
) -> Result<Splice, EditError> {
    let Some(last) = section.children().rfind(Node::is_element) else {
        return Err(EditError::at(
            line_of_node(doc, section),
            format!(
                "<appSettings> holds no keys, so `{}` has no place to go; add it by hand",
                keys[0].0
            ),
        ));
    };
    let indent = indent_before(dec.text, last.range().start).unwrap_or("    ");
    let nl = newline_of(dec.text);
    let at = last.range().end;
    let mut with = String::new();
    for (k, v) in keys {
        let _ = write!(with, "{nl}{indent}<add key=\"{k}\" value=\"{}\" />", escape_attr(v, '"'));
    }
    Ok(Splice { range: at..at, with })
}
