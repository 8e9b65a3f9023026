//! Reads runbook files (embedded or from a folder) and validates them as a whole. Every
//! error names the file and line and what is wrong.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::template::placeholders;
use super::{
    About, Applies, CHECK_KINDS, CheckSpec, Command, EvidenceField, Phase, Policy, Profile, Proof,
    ReviewItem, Role, Runbook, Step, Value, VarDef,
};
use crate::error::{Error, Result, line_of};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// Loads the runbook compiled into this binary.
pub fn load_embedded() -> Result<Runbook> {
    let files: Vec<(String, String)> =
        embedded::FILES.iter().map(|(p, t)| ((*p).to_string(), (*t).to_string())).collect();
    build(&files, "embedded")
}

/// Loads a runbook from `dir/screens/*.toml` and `dir/profiles/*.toml`.
pub fn load_dir(dir: &Path) -> Result<Runbook> {
    let mut files = Vec::new();
    for folder in ["screens", "profiles"] {
        let sub = dir.join(folder);
        let entries = std::fs::read_dir(&sub).map_err(|e| {
            Error::Invalid(format!(
                "--runbook {}: cannot read {}: {e}\n  the folder must hold screens/ and profiles/ like the shipped runbook",
                dir.display(),
                sub.display()
            ))
        })?;
        let mut names: Vec<_> = entries
            .filter_map(std::result::Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        names.sort();
        for path in names {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            files.push((path.display().to_string(), text));
        }
    }
    build(&files, &dir.display().to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariables {
    variable: Vec<Spanned<VarDef>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    id: String,
    title: String,
    order: i64,
    role: Role,
    summary: String,
    step: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: String,
    title: String,
    #[serde(default)]
    role: Option<Role>,
    why: String,
    instructions: String,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    inputs: Vec<String>,
    #[serde(default)]
    applies: Option<String>,
    #[serde(default)]
    repeat: Option<String>,
    #[serde(default)]
    evidence: Vec<EvidenceField>,
    #[serde(default)]
    command: Vec<Command>,
    #[serde(default)]
    check: Vec<CheckSpec>,
    #[serde(default)]
    review: Vec<RawReview>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReview {
    item: String,
    proof: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    description: String,
    #[serde(default)]
    policy: Policy,
    #[serde(default)]
    values: toml::Table,
}

fn parse<'de, T: Deserialize<'de>>(file: &str, text: &'de str) -> Result<T> {
    toml::from_str(text).map_err(|e| Error::Runbook {
        file: file.to_string(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        message: e.message().to_string(),
    })
}

fn fail(file: &str, text: &str, offset: usize, message: impl Into<String>) -> Error {
    Error::Runbook { file: file.to_string(), line: line_of(text, offset), message: message.into() }
}

/// Byte offset of `needle` at or after `from`, or `from` when absent.
fn find_from(text: &str, from: usize, needle: &str) -> usize {
    text.get(from..).and_then(|t| t.find(needle)).map_or(from, |i| from + i)
}

fn build(files: &[(String, String)], source: &str) -> Result<Runbook> {
    let find = |suffix: &str| files.iter().find(|(p, _)| p.replace('\\', "/").ends_with(suffix));
    let missing = |what: &str| Error::Runbook {
        file: format!("{source}/{what}"),
        line: 1,
        message: format!("the runbook has no {what}"),
    };

    let (about_file, about_text) =
        find("screens/about.toml").ok_or_else(|| missing("screens/about.toml"))?;
    let about: About = parse(about_file, about_text)?;

    let (var_file, var_text) =
        find("screens/variables.toml").ok_or_else(|| missing("screens/variables.toml"))?;
    let raw_vars: RawVariables = parse(var_file, var_text)?;
    let variables = check_variables(var_file, var_text, raw_vars.variable)?;
    let known: HashSet<&str> = variables.iter().map(|v| v.name.as_str()).collect();

    let mut phases = Vec::new();
    let mut seen_steps: BTreeMap<String, String> = BTreeMap::new();
    for (file, text) in files {
        let unix = file.replace('\\', "/");
        if !unix.contains("screens/")
            || unix.ends_with("/about.toml")
            || unix.ends_with("/variables.toml")
        {
            continue;
        }
        let raw: RawPhase = parse(file, text)?;
        phases.push(check_phase(file, text, raw, &variables, &known, &mut seen_steps)?);
    }
    if phases.is_empty() {
        return Err(missing("phase files in screens/"));
    }
    phases.sort_by_key(|p| p.order);

    let mut profiles = Vec::new();
    for (file, text) in files.iter().filter(|(p, _)| p.replace('\\', "/").contains("profiles/")) {
        let raw: RawProfile = parse(file, text)?;
        profiles.push(check_profile(file, text, raw, &variables)?);
    }
    if profiles.is_empty() {
        return Err(missing("profiles/*.toml"));
    }

    let runbook = Runbook { about, variables, phases, profiles, source: source.to_string() };
    for profile in &runbook.profiles {
        for (name, value) in &profile.values {
            runbook.check_value(name, value).map_err(|m| {
                let (file, text) = find(&format!("profiles/{}.toml", profile.name))
                    .cloned()
                    .unwrap_or_else(|| (format!("profiles/{}.toml", profile.name), String::new()));
                let at = find_from(&text, 0, &format!("{name} ="));
                fail(&file, &text, at, m)
            })?;
        }
    }
    Ok(runbook)
}

fn check_variables(file: &str, text: &str, raw: Vec<Spanned<VarDef>>) -> Result<Vec<VarDef>> {
    let names: HashSet<String> = raw.iter().map(|v| v.get_ref().name.clone()).collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for spanned in raw {
        let at = spanned.span().start;
        let var = spanned.into_inner();
        if !var.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            || !var.name.starts_with(|c: char| c.is_ascii_lowercase())
        {
            return Err(fail(
                file,
                text,
                at,
                format!("variable name `{}` must be lower_snake_case", var.name),
            ));
        }
        if var.name == "host" {
            return Err(fail(
                file,
                text,
                at,
                "`host` is reserved for the server of a repeated step",
            ));
        }
        if !seen.insert(var.name.clone()) {
            return Err(fail(file, text, at, format!("variable `{}` is defined twice", var.name)));
        }
        if var.default.is_some() && var.derived.is_some() {
            return Err(fail(
                file,
                text,
                at,
                format!("`{}` has both a default and a derived value", var.name),
            ));
        }
        for template in var.default.iter().chain(var.derived.iter()) {
            let list = placeholders(template).map_err(|(_, m)| fail(file, text, at, m))?;
            if let Some(p) = list.iter().find(|p| !names.contains(&p.name)) {
                return Err(fail(
                    file,
                    text,
                    at,
                    format!("`{}` refers to unknown variable `{}`", var.name, p.name),
                ));
            }
            if list.iter().any(|p| p.name == var.name) {
                return Err(fail(file, text, at, format!("`{}` refers to itself", var.name)));
            }
        }
        if let Some(default) = var.default.as_deref().filter(|d| !d.contains("${"))
            && !var.list
        {
            super::validate::check(var.kind, default, var.min, var.max).map_err(|e| {
                fail(file, text, at, format!("`{}`: default `{default}` {e}", var.name))
            })?;
        }
        out.push(var);
    }
    if let Some(cycle) = template_cycle(&out) {
        let at = find_from(text, 0, &format!("name = \"{}\"", cycle[0]));
        return Err(fail(
            file,
            text,
            at,
            format!(
                "defaults or derived values refer to each other in a circle: {}",
                cycle.join(" → ")
            ),
        ));
    }
    Ok(out)
}

/// Depth-first walk for [`template_cycle`]: `path` is the chain being followed.
fn visit(
    name: &str,
    path: &mut Vec<String>,
    done: &mut HashSet<String>,
    deps: &dyn Fn(&str) -> Vec<String>,
) -> Option<Vec<String>> {
    if let Some(i) = path.iter().position(|p| p == name) {
        let mut cycle = path[i..].to_vec();
        cycle.push(name.to_string());
        return Some(cycle);
    }
    if done.contains(name) {
        return None;
    }
    path.push(name.to_string());
    for d in deps(name) {
        if let Some(c) = visit(&d, path, done, deps) {
            return Some(c);
        }
    }
    path.pop();
    done.insert(name.to_string());
    None
}

/// Finds a circle among default/derived templates (a → b → a), if any.
fn template_cycle(vars: &[VarDef]) -> Option<Vec<String>> {
    let deps = |name: &str| -> Vec<String> {
        vars.iter()
            .find(|v| v.name == name)
            .and_then(|v| v.default.as_ref().or(v.derived.as_ref()))
            .and_then(|t| placeholders(t).ok())
            .map(|list| list.into_iter().map(|p| p.name).collect())
            .unwrap_or_default()
    };
    let mut done = HashSet::new();
    vars.iter().find_map(|v| visit(&v.name, &mut Vec::new(), &mut done, &deps))
}

fn check_phase(
    file: &str,
    text: &str,
    raw: RawPhase,
    variables: &[VarDef],
    known: &HashSet<&str>,
    seen_steps: &mut BTreeMap<String, String>,
) -> Result<Phase> {
    let is_list = |name: &str| variables.iter().any(|v| v.name == name && v.list);
    let mut steps = Vec::new();
    for spanned in raw.step {
        let at = spanned.span().start;
        let s = spanned.into_inner();
        let err = |m: String| fail(file, text, at, m);

        let valid_id = s.id.split_once('.').is_some_and(|(a, b)| {
            a == a.to_ascii_lowercase()
                && !a.is_empty()
                && !b.is_empty()
                && s.id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        });
        if !valid_id {
            return Err(err(format!(
                "step id `{}` must look like `phase.name` (lowercase, digits, -)",
                s.id
            )));
        }
        if let Some(other) = seen_steps.insert(s.id.clone(), file.to_string()) {
            return Err(err(format!("step id `{}` is already used in {other}", s.id)));
        }

        let applies = match s.applies.as_deref() {
            None => None,
            Some(a) => match a.split_once(':') {
                Some(("flag", f)) if Policy::default().flag(f).is_some() => {
                    Some(Applies::Flag(f.to_string()))
                }
                Some(("nonempty", v)) if is_list(v) => Some(Applies::NonEmpty(v.to_string())),
                _ => {
                    return Err(err(format!(
                        "step `{}`: applies = `{a}` must be `flag:email_required` or `nonempty:<list variable>`",
                        s.id
                    )));
                }
            },
        };
        if let Some(r) = s.repeat.as_deref().filter(|r| !is_list(r)) {
            return Err(err(format!("step `{}`: repeat = `{r}` must name a list variable", s.id)));
        }
        if let Some(i) = s.inputs.iter().find(|i| !known.contains(i.as_str())) {
            return Err(err(format!(
                "step `{}`: input `{i}` is not a variable of this runbook",
                s.id
            )));
        }

        let mut texts: Vec<&str> = vec![&s.title, &s.why, &s.instructions];
        texts.extend(s.notes.iter().map(String::as_str));
        texts.extend(s.command.iter().flat_map(|c| [c.title.as_str(), c.code.as_str()]));
        texts.extend(s.check.iter().map(|c| c.name.as_str()));
        texts.extend(s.review.iter().map(|r| r.item.as_str()));
        texts.extend(s.evidence.iter().map(|e| e.label.as_str()));
        texts.extend(s.check.iter().flat_map(|c| c.params.values().map(String::as_str)));
        for t in texts {
            let list = placeholders(t).map_err(|(_, m)| err(format!("step `{}`: {m}", s.id)))?;
            for p in list {
                let ok =
                    known.contains(p.name.as_str()) || (p.name == "host" && s.repeat.is_some());
                if !ok {
                    let line_at = find_from(text, at, &format!("${{{}", p.name));
                    return Err(fail(
                        file,
                        text,
                        line_at,
                        format!("step `{}`: unknown variable `${{{}}}`", s.id, p.name),
                    ));
                }
                if p.name != "host" && !s.inputs.contains(&p.name) {
                    let line_at = find_from(text, at, &format!("${{{}", p.name));
                    return Err(fail(
                        file,
                        text,
                        line_at,
                        format!(
                            "step `{}` uses `${{{}}}` but does not list it in `inputs`",
                            s.id, p.name
                        ),
                    ));
                }
            }
        }

        for c in &s.check {
            let line_at = find_from(text, at, &format!("\"{}\"", c.kind));
            let Some((_, required, optional)) = CHECK_KINDS.iter().find(|(k, _, _)| *k == c.kind)
            else {
                let kinds: Vec<&str> = CHECK_KINDS.iter().map(|k| k.0).collect();
                return Err(fail(
                    file,
                    text,
                    line_at,
                    format!(
                        "step `{}`: unknown check kind `{}`; this build knows {}",
                        s.id,
                        c.kind,
                        kinds.join(", ")
                    ),
                ));
            };
            if let Some(r) = required.iter().find(|r| !c.params.contains_key(**r)) {
                return Err(fail(
                    file,
                    text,
                    line_at,
                    format!("step `{}`: {} check needs `{r}`", s.id, c.kind),
                ));
            }
            if let Some(p) = c
                .params
                .keys()
                .find(|p| !required.contains(&p.as_str()) && !optional.contains(&p.as_str()))
            {
                return Err(fail(
                    file,
                    text,
                    line_at,
                    format!("step `{}`: {} check has unknown parameter `{p}`", s.id, c.kind),
                ));
            }
        }

        let mut review = Vec::new();
        for r in s.review {
            let proof = match r.proof.split_once(':') {
                None if r.proof == "check" && !s.check.is_empty() => Proof::Check,
                None if r.proof == "attest" => Proof::Attest,
                Some(("evidence", k)) if s.evidence.iter().any(|e| e.key == k) => {
                    Proof::Evidence(k.to_string())
                }
                _ => {
                    return Err(err(format!(
                        "step `{}`: review proof `{}` must be `check` (the step has checks), `attest` or `evidence:<key of this step>`",
                        s.id, r.proof
                    )));
                }
            };
            review.push(ReviewItem { item: r.item, proof });
        }

        let mut keys = HashSet::new();
        if let Some(e) = s.evidence.iter().find(|e| !keys.insert(e.key.clone())) {
            return Err(err(format!("step `{}`: evidence key `{}` appears twice", s.id, e.key)));
        }

        steps.push(Step {
            id: s.id,
            title: s.title,
            role: s.role.unwrap_or(raw.role),
            why: s.why,
            instructions: s.instructions,
            notes: s.notes,
            inputs: s.inputs,
            applies,
            repeat: s.repeat,
            evidence: s.evidence,
            commands: s.command,
            checks: s.check,
            review,
        });
    }
    Ok(Phase {
        id: raw.id,
        title: raw.title,
        order: raw.order,
        role: raw.role,
        summary: raw.summary,
        steps,
    })
}

fn check_profile(file: &str, text: &str, raw: RawProfile, variables: &[VarDef]) -> Result<Profile> {
    let stem =
        Path::new(file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if raw.name != stem {
        return Err(fail(
            file,
            text,
            find_from(text, 0, "name"),
            format!("profile name `{}` must match its file name `{stem}`", raw.name),
        ));
    }
    let mut values = BTreeMap::new();
    for (name, value) in raw.values {
        let at = find_from(text, 0, &format!("{name} ="));
        if !variables.iter().any(|v| v.name == name) {
            return Err(fail(
                file,
                text,
                at,
                format!("`{name}` is not a variable of this runbook"),
            ));
        }
        let value = match value {
            toml::Value::String(s) => Value::Str(s),
            toml::Value::Integer(i) => Value::Str(i.to_string()),
            toml::Value::Array(items) => Value::List(
                items
                    .into_iter()
                    .map(|i| match i {
                        toml::Value::String(s) => Ok(s),
                        other => Err(fail(
                            file,
                            text,
                            at,
                            format!("`{name}`: list items must be strings, found {other}"),
                        )),
                    })
                    .collect::<Result<_>>()?,
            ),
            other => {
                return Err(fail(
                    file,
                    text,
                    at,
                    format!("`{name}` must be a string, number or list, found {other}"),
                ));
            }
        };
        values.insert(name, value);
    }
    Ok(Profile { name: raw.name, description: raw.description, policy: raw.policy, values })
}
