//! Variable values as the rollout sees them: what the operator set, else a derived or
//! default value computed from the others; and the rules that span several variables.

use std::collections::BTreeMap;

use super::Rollout;
use crate::error::{Error, Result, line_of};
use crate::runbook::{Value, template};

impl Rollout {
    /// The value of a variable, or `None` when it is not set and has no default.
    pub fn value(&self, name: &str) -> Option<Value> {
        self.value_depth(name, 0)
    }

    fn value_depth(&self, name: &str, depth: usize) -> Option<Value> {
        if depth > 8 {
            return None;
        }
        if let Some(v) = self.state.values.get(name).filter(|v| !v.is_empty()) {
            return Some(v.clone());
        }
        let def = self.runbook.var(name)?;
        let template = def.derived.as_ref().or(def.default.as_ref())?;
        template::render(template, &|n| self.value_depth(n, depth + 1)).ok().map(Value::Str)
    }

    /// Where a value comes from: "set", "default", "derived" or "not set".
    pub fn value_origin(&self, name: &str) -> &'static str {
        let Some(def) = self.runbook.var(name) else { return "unknown" };
        if self.state.values.get(name).is_some_and(|v| !v.is_empty()) {
            "set"
        } else if def.derived.is_some() {
            "derived"
        } else if def.default.is_some() && self.value(name).is_some() {
            "default"
        } else {
            "not set"
        }
    }

    /// Fills `${var}` placeholders, with `${host}` for a repeated step's server; values
    /// that are not set show as a visible marker.
    pub fn render(&self, text: &str, host: Option<&str>) -> String {
        template::render_lenient(text, &|name| {
            if name == "host" { host.map(|h| Value::Str(h.to_string())) } else { self.value(name) }
        })
    }

    /// Fills placeholders strictly: the first variable without a value is the error.
    pub fn render_strict(
        &self,
        text: &str,
        host: Option<&str>,
    ) -> std::result::Result<String, String> {
        template::render(text, &|name| {
            if name == "host" { host.map(|h| Value::Str(h.to_string())) } else { self.value(name) }
        })
    }

    /// Required variables that have no value yet.
    pub fn missing_values(&self) -> Vec<String> {
        let mut missing: Vec<String> = self
            .runbook
            .variables
            .iter()
            .filter(|v| !v.optional && v.derived.is_none() && self.value(&v.name).is_none())
            .map(|v| v.name.clone())
            .collect();
        // A profile that needs secondaries (production) counts them as still to set.
        let have = self.value("mfa_secondaries").map_or(0, |v| v.items().len());
        if have < self.state.policy.min_secondaries as usize {
            missing.push("mfa_secondaries".into());
        }
        missing
    }

    /// Rules across variables: run before any set is recorded.
    pub(super) fn check_values(&self, values: &BTreeMap<String, Value>) -> Result<()> {
        let get = |name: &str| values.get(name).map(Value::display).unwrap_or_default();
        let (sync, whfb) = (get("sync_group"), get("whfb_group"));
        let whfb = if whfb.is_empty() { self.default_of("whfb_group") } else { whfb };
        if !sync.is_empty() && sync.eq_ignore_ascii_case(&whfb) {
            return Err(Error::Invalid(format!(
                "sync_group and whfb_group are both `{sync}`: the group synchronised to the MFA server must differ from the Windows Hello for Business users group, so users can enrol in MFA before they are given Windows Hello"
            )));
        }
        let min = self.state.policy.min_secondaries as usize;
        if let Some(list) = values.get("mfa_secondaries")
            && list.items().len() < min
        {
            return Err(Error::Invalid(format!(
                "the {} profile needs at least {min} secondary MFA server(s) (at least {} MFA servers in all); list them in mfa_secondaries",
                self.state.profile,
                min + 1
            )));
        }
        if let Some(list) = values.get("mfa_secondaries")
            && let Some(primary) = values.get("mfa_fqdn").map(Value::display)
            && list.items().iter().any(|s| s.eq_ignore_ascii_case(&primary))
        {
            return Err(Error::Invalid(format!(
                "mfa_secondaries lists the primary server {primary}; list only the other MFA servers"
            )));
        }
        Ok(())
    }

    fn default_of(&self, name: &str) -> String {
        self.runbook.var(name).and_then(|d| d.default.clone()).unwrap_or_default()
    }

    /// Validates values read from a (possibly hand-edited) state file.
    pub(super) fn check_loaded_values(&self) -> Result<()> {
        let text = std::fs::read_to_string(&self.paths.state).unwrap_or_default();
        let corrupt = |name: &str, message: String| Error::StateCorrupt {
            path: self.paths.state.clone(),
            line: text.find(&format!("\n{name} =")).map_or(1, |i| line_of(&text, i + 1)),
            message,
        };
        for (name, value) in &self.state.values {
            self.runbook.check_value(name, value).map_err(|m| corrupt(name, m))?;
        }
        // Rules that span values, as `set` enforces them, for a hand-edited file too.
        self.check_values(&self.state.values).map_err(|e| {
            let message = e.to_string();
            let name = ["sync_group", "whfb_group", "mfa_secondaries"]
                .into_iter()
                .find(|n| message.contains(n) && self.state.values.contains_key(*n))
                .unwrap_or("values");
            corrupt(name, message)
        })?;
        if self.runbook.profile(&self.state.profile).is_none() {
            let at = text.find("\nprofile =").map_or(1, |i| line_of(&text, i + 1));
            return Err(Error::StateCorrupt {
                path: self.paths.state.clone(),
                line: at,
                message: format!(
                    "profile `{}` is not one of this runbook's profiles",
                    self.state.profile
                ),
            });
        }
        Ok(())
    }
}
