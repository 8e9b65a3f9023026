//! From a runbook step to a planned edit: which file (the step's variable or `--file`),
//! which values (the rollout's variables) and the SDK password (keyring or environment).
//! Shared by `mfa-rollout apply` and the wizard's apply key; writes nothing.

use std::path::{Path, PathBuf};

use super::{Plan, Target, Wanted};
use crate::Rollout;
use crate::error::{Error, Result};

/// Steps that have a file edit.
pub const STEPS: &[&str] = &["portal.web-config", "adfs.adapter-config", "adfs.register-script"];

/// The optional variable holding the adapter's client-certificate thumbprint.
pub const THUMBPRINT_VAR: &str = "sdk_client_thumbprint";

/// The target of a step, or an error naming the steps that have one.
pub fn target(r: &Rollout, step: &str) -> Result<Target> {
    let inst = r.find(step)?;
    let id = &r.step_of(&inst).id;
    Target::of_step(id).ok_or_else(|| {
        Error::Invalid(format!(
            "step `{id}` has no file edit; `apply` works on {}",
            STEPS.join(", ")
        ))
    })
}

/// The file a step edits: `--file` or the step's variable.
pub fn file(r: &Rollout, target: Target, given: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let var = target.variable();
    r.value(var)
        .map(|v| PathBuf::from(v.display()))
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or_else(|| {
            Error::Invalid(format!(
                "`{var}` is not set; `mfa-rollout set {var}=PATH`, or give --file PATH"
            ))
        })
}

/// The values the file should hold, from the rollout (password not included).
pub fn wanted(r: &Rollout) -> Wanted {
    let get = |name: &str| r.value(name).map(|v| v.display()).unwrap_or_default();
    Wanted {
        account: get("sdk_account_qualified"),
        url: get("sdk_url"),
        password: None,
        thumbprint: Some(get(THUMBPRINT_VAR)).filter(|t| !t.trim().is_empty()),
        config_path: get("adfs_adapter_config"),
    }
}

/// The SDK password from the environment or the keyring; an error says how to give it.
pub fn password(r: &Rollout) -> Result<String> {
    let name = "sdk_password";
    let domain = r.value("domain").map(|v| v.display()).filter(|d| !d.is_empty());
    let found = match domain {
        Some(d) => crate::secrets::get(&d, name)?,
        None => std::env::var(crate::secrets::env_var(name)).ok().filter(|v| !v.is_empty()),
    };
    found.ok_or_else(|| {
        Error::Secret(format!(
            "the SDK password is not stored: `mfa-rollout secret set {name}`, or set {} for this run",
            crate::secrets::env_var(name)
        ))
    })
}

/// Plans the edit of a step's file.
pub fn plan(r: &Rollout, step: &str, given: Option<&Path>) -> Result<Plan> {
    let target = target(r, step)?;
    let path = file(r, target, given)?;
    if !path.is_file() {
        return Err(Error::Invalid(format!(
            "{}: no such file here; run apply on the server that holds it, or give --file PATH",
            path.display()
        )));
    }
    let mut wanted = wanted(r);
    for (var, value) in [("sdk_account_qualified", &wanted.account), ("sdk_url", &wanted.url)] {
        if target != Target::Script && value.is_empty() {
            return Err(Error::Invalid(format!(
                "`{var}` has no value yet; set the values it is built from (`mfa-rollout vars`)"
            )));
        }
    }
    if target == Target::Script && wanted.config_path.is_empty() {
        return Err(Error::Invalid(
            "`adfs_adapter_config` is not set; `mfa-rollout set adfs_adapter_config=PATH`".into(),
        ));
    }
    if target.needs_password() {
        wanted.password = Some(password(r)?);
    }
    super::plan(target, &path, &wanted)
}
