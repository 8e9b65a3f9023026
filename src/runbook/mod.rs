//! The runbook as data: phases, steps, variables and profiles, loaded from the embedded
//! `screens/` and `profiles/` files or from a `--runbook DIR`, and validated at load time
//! (unique ids, known check kinds, known variables, well-formed placeholders).
//!
//! This module only reads and validates; it never touches the rollout's state.

pub mod template;
pub mod validate;

mod load;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use load::{load_dir, load_embedded};
pub use validate::VarKind;

/// A variable's value: one string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Str(String),
    List(Vec<String>),
}

impl Value {
    /// True when the value holds nothing.
    pub fn is_empty(&self) -> bool {
        match self {
            Self::Str(s) => s.trim().is_empty(),
            Self::List(l) => l.is_empty(),
        }
    }

    /// The items of a list, or the single string as a one-item list.
    pub fn items(&self) -> Vec<String> {
        match self {
            Self::Str(s) if s.is_empty() => Vec::new(),
            Self::Str(s) => vec![s.clone()],
            Self::List(l) => l.clone(),
        }
    }

    /// The value as shown to the operator.
    pub fn display(&self) -> String {
        match self {
            Self::Str(s) => s.clone(),
            Self::List(l) => l.join(", "),
        }
    }
}

/// Where the runbook's steps run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    PrimaryMfa,
    SecondaryMfa,
    Portal,
    Adfs,
    DomainController,
    Any,
}

impl Role {
    /// A short label for screens.
    pub fn label(self) -> &'static str {
        match self {
            Self::PrimaryMfa => "primary MFA server",
            Self::SecondaryMfa => "secondary MFA server",
            Self::Portal => "User Portal server",
            Self::Adfs => "AD FS server",
            Self::DomainController => "domain controller",
            Self::Any => "any server",
        }
    }
}

/// The first screen's text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct About {
    pub title: String,
    pub welcome: String,
}

/// One runbook variable.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VarDef {
    pub name: String,
    pub kind: VarKind,
    pub description: String,
    #[serde(default)]
    pub example: Option<String>,
    #[serde(default)]
    pub list: bool,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub derived: Option<String>,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
}

/// A condition under which a step applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applies {
    /// A boolean in the profile's policy must be true.
    Flag(String),
    /// A list variable must hold at least one item.
    NonEmpty(String),
}

/// A field of evidence the operator records.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceField {
    pub key: String,
    pub label: String,
}

/// A PowerShell snippet.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    pub title: String,
    pub code: String,
}

/// A live check: a kind plus string parameters (templates).
#[derive(Debug, Clone, Deserialize)]
pub struct CheckSpec {
    pub kind: String,
    pub name: String,
    #[serde(flatten)]
    pub params: BTreeMap<String, String>,
}

/// How a review item of the runbook is proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    Check,
    Evidence(String),
    Attest,
}

/// A review item and its proof.
#[derive(Debug, Clone)]
pub struct ReviewItem {
    pub item: String,
    pub proof: Proof,
}

/// One step of a phase.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub role: Role,
    pub why: String,
    pub instructions: String,
    pub notes: Vec<String>,
    pub inputs: Vec<String>,
    pub applies: Option<Applies>,
    pub repeat: Option<String>,
    pub evidence: Vec<EvidenceField>,
    pub commands: Vec<Command>,
    pub checks: Vec<CheckSpec>,
    pub review: Vec<ReviewItem>,
}

/// A phase: one screen file.
#[derive(Debug, Clone)]
pub struct Phase {
    pub id: String,
    pub title: String,
    pub order: i64,
    pub role: Role,
    pub summary: String,
    pub steps: Vec<Step>,
}

/// Profile policy.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub email_required: bool,
    #[serde(default)]
    pub min_secondaries: u32,
}

impl Policy {
    /// Looks a policy flag up by name.
    pub fn flag(&self, name: &str) -> Option<bool> {
        match name {
            "email_required" => Some(self.email_required),
            _ => None,
        }
    }
}

/// A deployment profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub policy: Policy,
    pub values: BTreeMap<String, Value>,
}

/// The whole runbook.
#[derive(Debug, Clone)]
pub struct Runbook {
    pub about: About,
    pub variables: Vec<VarDef>,
    pub phases: Vec<Phase>,
    pub profiles: Vec<Profile>,
    /// "embedded" or the folder it was loaded from.
    pub source: String,
}

/// Check kinds this build can run.
pub const CHECK_KINDS: &[(&str, &[&str], &[&str])] = &[
    // (kind, required parameters, optional parameters)
    ("tls", &["host"], &["port", "also_names"]),
    ("http-basic", &["url", "user"], &["secret", "group"]),
    ("https", &["url"], &[]),
    ("smtp", &["host"], &["from", "rcpt"]),
    ("tcp", &["hosts"], &["port"]),
    ("dns-a", &["host", "address"], &["server"]),
    ("ldap-group", &["group", "domain"], &["members", "computers", "url", "bind", "dns_server"]),
    ("ldap-account", &["account", "domain"], &["url", "bind", "dns_server"]),
    ("ldap-sync", &["group", "domain"], &["whfb_group", "url", "bind", "dns_server"]),
    ("ldap-replication", &["account", "domain"], &["url", "bind", "dns_server"]),
    ("file", &["path", "format"], &["account", "url", "config", "thumbprint"]),
    ("powershell", &["probe"], &["host", "also_names", "features", "site", "service", "url"]),
];

impl Runbook {
    /// Finds a variable definition.
    pub fn var(&self, name: &str) -> Option<&VarDef> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// Finds a profile.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// Finds a step definition by id, with its phase index.
    pub fn step(&self, id: &str) -> Option<(usize, &Step)> {
        self.phases
            .iter()
            .enumerate()
            .find_map(|(i, p)| p.steps.iter().find(|s| s.id == id).map(|s| (i, s)))
    }

    /// Validates one value for a variable; the reason names the variable.
    pub fn check_value(&self, name: &str, value: &Value) -> Result<(), String> {
        let def = self.var(name).ok_or_else(|| {
            format!("`{name}` is not a variable of this runbook; list them with `mfa-rollout vars`")
        })?;
        if def.derived.is_some() {
            return Err(format!("`{name}` is computed from other values and cannot be set"));
        }
        match (value, def.list) {
            (Value::Str(s), false) => {
                if s.trim().is_empty() {
                    return if def.optional {
                        Ok(())
                    } else {
                        Err(format!("`{name}` may not be empty"))
                    };
                }
                if s.contains(',') && !matches!(def.kind, VarKind::Text | VarKind::Name) {
                    return Err(format!("`{name}` takes one value, not a list: `{s}`"));
                }
                validate::check(def.kind, s, def.min, def.max)
                    .map_err(|e| format!("`{name}` = `{s}` {e}"))
            }
            (Value::List(items), true) => {
                if items.is_empty() && !def.optional {
                    return Err(format!("`{name}` needs at least one item"));
                }
                let mut seen = std::collections::HashSet::new();
                for s in items {
                    validate::check(def.kind, s, def.min, def.max)
                        .map_err(|e| format!("`{name}` item `{s}` {e}"))?;
                    if !seen.insert(s.to_ascii_lowercase()) {
                        return Err(format!("`{name}` lists `{s}` twice"));
                    }
                }
                Ok(())
            }
            (Value::Str(_), true) => {
                Err(format!("`{name}` is a list; write items separated by commas"))
            }
            (Value::List(_), false) => Err(format!("`{name}` takes one value, not a list")),
        }
    }

    /// Parses the operator's text for a variable (lists are comma-separated).
    pub fn parse_value(&self, name: &str, text: &str) -> Result<Value, String> {
        let def = self.var(name).ok_or_else(|| {
            format!("`{name}` is not a variable of this runbook; list them with `mfa-rollout vars`")
        })?;
        let text =
            if def.kind == VarKind::Netbios { text.to_ascii_uppercase() } else { text.to_string() };
        let value = if def.list {
            Value::List(
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            )
        } else {
            Value::Str(text.trim().to_string())
        };
        self.check_value(name, &value)?;
        Ok(value)
    }
}
