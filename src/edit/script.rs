//! The adapter's Register script: its `Register-AdfsAuthenticationProvider` command must
//! pass `-ConfigurationFilePath '<full path of the adapter config>'`. The parameter is
//! appended once, at the end of the command (after any backtick continuation lines, before
//! a trailing comment); an existing parameter with another path has its argument replaced.
//! Comments and strings are not mistaken for the command.

use super::{EditError, Edited, Finding, Splice, Wanted, decode, splice};

pub const COMMAND: &str = "Register-AdfsAuthenticationProvider";
pub const PARAMETER: &str = "-ConfigurationFilePath";

/// A path quoted for PowerShell: single quotes, inner quotes doubled.
pub fn quote(path: &str) -> String {
    format!("'{}'", path.replace('\'', "''"))
}

/// One line of the script: where its code ends (before a comment and trailing blanks).
struct Line {
    number: usize,
    start: usize,
    code_end: usize,
    /// Ends with a backtick: the command continues on the next line.
    continues: bool,
}

/// The command: its lines.
struct Found {
    lines: Vec<Line>,
}

/// The argument of an existing `-ConfigurationFilePath`: its byte range and its value.
struct Argument {
    range: std::ops::Range<usize>,
    value: Option<String>,
}

fn scan(text: &str) -> Result<Found, EditError> {
    let mut commands: Vec<Vec<Line>> = Vec::new();
    let mut in_block = false;
    let mut current: Option<Vec<Line>> = None;
    let mut start = 0;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line_start = start;
        start += raw.len();
        let body = raw.trim_end_matches(['\n', '\r']);
        let (code_end, block_after) = code_extent(body, in_block);
        in_block = block_after;
        let code = &body[..code_end];
        let trimmed = code.trim_end();
        let continues = trimmed.ends_with('`');
        let line = Line {
            number: i + 1,
            start: line_start,
            code_end: line_start + trimmed.len(),
            continues,
        };
        if let Some(mut lines) = current.take() {
            let more = line.continues;
            lines.push(line);
            if more {
                current = Some(lines);
            } else {
                commands.push(lines);
            }
            continue;
        }
        if has_command(code) {
            if continues {
                current = Some(vec![line]);
            } else {
                commands.push(vec![line]);
            }
        }
    }
    if let Some(lines) = current {
        commands.push(lines);
    }
    match commands.len() {
        0 => Err(EditError::at(
            0,
            format!("no `{COMMAND}` command in the script; is this the adapter's Register script?"),
        )),
        1 => Ok(Found { lines: commands.remove(0) }),
        _ => Err(EditError::at(
            commands[1][0].number,
            format!(
                "`{COMMAND}` appears twice (lines {} and {}); edit the script by hand",
                commands[0][0].number, commands[1][0].number
            ),
        )),
    }
}

/// Where a line's code ends (the start of a `#` comment outside strings, or of a block
/// comment), and whether a `<# ... #>` block comment is still open at its end.
fn code_extent(line: &str, mut in_block: bool) -> (usize, bool) {
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut end = None;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        if in_block {
            if b == b'#' && bytes.get(i + 1) == Some(&b'>') {
                in_block = false;
                i += 2;
                continue;
            }
            if end.is_none() {
                end = Some(i);
            }
            i += 1;
            continue;
        }
        match quote {
            Some(q) => {
                if b == b'`' && q == b'"' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'`' => i += 1,
                b'<' if bytes.get(i + 1) == Some(&b'#') => {
                    in_block = true;
                    end.get_or_insert(i);
                    i += 1;
                }
                b'#' if i == 0 || bytes[i - 1].is_ascii_whitespace() => {
                    return (end.unwrap_or(i), in_block);
                }
                _ => {}
            },
        }
        i += 1;
    }
    (end.unwrap_or(line.len()), in_block)
}

/// Positions (in `code`) of `word` as a whole word outside quotes, case-insensitively.
fn find_word(code: &str, word: &str) -> Vec<usize> {
    let lower = code.to_ascii_lowercase();
    let word = word.to_ascii_lowercase();
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if b == b'\'' || b == b'"' {
            quote = Some(b);
            i += 1;
            continue;
        }
        let before_ok = i == 0 || !is_word(bytes[i - 1]);
        if before_ok && lower[i..].starts_with(&word) {
            let after = i + word.len();
            if after >= bytes.len() || !is_word(bytes[after]) {
                out.push(i);
                i = after;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn has_command(code: &str) -> bool {
    !find_word(code, COMMAND).is_empty()
}

/// Finds `-ConfigurationFilePath` in the command and reads its argument.
fn argument(text: &str, found: &Found) -> Result<Option<Argument>, EditError> {
    let mut hits = Vec::new();
    for line in &found.lines {
        let code = &text[line.start..line.code_end];
        for at in find_word(code, PARAMETER) {
            hits.push((line, line.start + at));
        }
    }
    let Some((line, at)) = hits.first().copied() else { return Ok(None) };
    if hits.len() > 1 {
        return Err(EditError::at(
            hits[1].0.number,
            format!("`{PARAMETER}` is given twice; edit the script by hand"),
        ));
    }
    let code = &text[..line.code_end];
    let mut i = at + PARAMETER.len();
    if code.as_bytes().get(i) == Some(&b':') {
        i += 1;
    }
    while code.as_bytes().get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
        i += 1;
    }
    let rest = &code[i..];
    let (len, value) = match rest.as_bytes().first() {
        None => {
            return Err(EditError::at(
                line.number,
                format!("`{PARAMETER}` has no path after it on its line; edit the script by hand"),
            ));
        }
        Some(b'\'') => {
            let mut j = 1;
            let bytes = rest.as_bytes();
            loop {
                match bytes.get(j) {
                    None => return Err(EditError::at(line.number, "an unclosed quote")),
                    Some(b'\'') if bytes.get(j + 1) == Some(&b'\'') => j += 2,
                    Some(b'\'') => break,
                    Some(_) => j += 1,
                }
            }
            (j + 1, Some(rest[1..j].replace("''", "'")))
        }
        Some(b'"') => {
            let close = rest[1..].find('"').map(|k| k + 1);
            let Some(close) = close else {
                return Err(EditError::at(line.number, "an unclosed quote"));
            };
            let inner = &rest[1..close];
            (close + 1, (!inner.contains('$')).then(|| inner.to_string()))
        }
        Some(_) => {
            let len = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
            let word = &rest[..len];
            (len, (!word.starts_with('$') && !word.starts_with('(')).then(|| word.to_string()))
        }
    };
    Ok(Some(Argument { range: i..i + len, value }))
}

fn same_path(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Plans the edit.
pub fn edit(bytes: &[u8], wanted: &Wanted) -> Result<Edited, EditError> {
    let dec = decode(bytes)?;
    let found = scan(dec.text)?;
    let path = wanted.config_path.as_str();
    let change = match argument(dec.text, &found)? {
        Some(Argument { value: Some(v), .. }) if same_path(&v, path) => None,
        Some(Argument { value: None, .. }) => {
            return Err(EditError::at(
                found.lines[0].number,
                format!(
                    "`{PARAMETER}` takes its path from a variable or expression; set it to {} by hand",
                    quote(path)
                ),
            ));
        }
        Some(Argument { range, .. }) => Some(Splice { range, with: quote(path) }),
        None => {
            let last = found.lines.last().map_or(0, |l| l.code_end);
            Some(Splice { range: last..last, with: format!(" {PARAMETER} {}", quote(path)) })
        }
    };
    let changed = if change.is_some() { vec![PARAMETER.to_string()] } else { Vec::new() };
    Ok(Edited {
        bytes: splice(bytes, &dec, change.into_iter().collect()),
        changed,
        secrets: Vec::new(),
    })
}

/// Reads the command and judges its `-ConfigurationFilePath`.
pub fn inspect(bytes: &[u8], wanted: &Wanted) -> Result<Vec<Finding>, EditError> {
    let dec = decode(bytes)?;
    let found = scan(dec.text)?;
    let name = format!("{COMMAND} {PARAMETER}");
    Ok(vec![match argument(dec.text, &found)? {
        None => Finding::Missing { name },
        Some(Argument { value: None, .. }) => Finding::Problem {
            name,
            reason: "takes its path from a variable or expression; cannot tell which file".into(),
        },
        Some(Argument { value: Some(v), .. }) if same_path(&v, &wanted.config_path) => {
            Finding::Set { name, value: v }
        }
        Some(Argument { value: Some(v), .. }) => {
            Finding::Wrong { name, expected: wanted.config_path.clone(), found: v, secret: false }
        }
    }])
}
