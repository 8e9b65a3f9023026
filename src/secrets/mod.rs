//! Secrets (the SDK account's password, the directory bind password) live in the OS
//! keyring: Windows Credential Manager, macOS Keychain, or the Linux kernel keyring. When
//! no keyring is available the tool says so and reads `MFA_ROLLOUT_SECRET_<NAME>`
//! instead. A secret is never written to the state, the journal, the log or an export.

mod store;

use crate::error::{Error, Result};

/// The secrets this runbook knows, with what they are for.
pub const NAMES: &[(&str, &str)] = &[
    ("sdk_password", "password of the Web Service SDK account (sdk_account)"),
    ("ldap_password", "password of the directory bind account (ldap_bind)"),
];

/// The environment variable that can carry a secret, e.g. `MFA_ROLLOUT_SECRET_SDK_PASSWORD`.
pub fn env_var(name: &str) -> String {
    format!("MFA_ROLLOUT_SECRET_{}", name.to_ascii_uppercase())
}

/// Refuses names this runbook does not use.
pub fn check_name(name: &str) -> Result<()> {
    if NAMES.iter().any(|(n, _)| *n == name) {
        return Ok(());
    }
    let known: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
    Err(Error::Invalid(format!("unknown secret `{name}`; secrets are: {}", known.join(", "))))
}

/// Stores a secret for a rollout's domain in the OS keyring.
pub fn set(domain: &str, name: &str, secret: &str) -> Result<String> {
    check_name(name)?;
    if secret.is_empty() {
        return Err(Error::Secret("the secret is empty; nothing was stored".into()));
    }
    let entry = store::entry(domain, name).map_err(|e| no_keyring(name, &e))?;
    if let Err(e) = entry.set_password(secret) {
        // A store can fail half-way (the key written, its link refused): remove what may
        // have been written, so a failed `secret set` leaves no secret behind.
        let _ = entry.delete_credential();
        return Err(no_keyring(name, &e.to_string()));
    }
    tracing::info!(secret = name, "secret stored in the OS keyring");
    Ok(store::describe())
}

/// Reads a secret: the environment variable first, then the keyring.
pub fn get(domain: &str, name: &str) -> Result<Option<String>> {
    check_name(name)?;
    if let Ok(v) = std::env::var(env_var(name))
        && !v.is_empty()
    {
        return Ok(Some(v));
    }
    let entry = store::entry(domain, name).map_err(|e| no_keyring(name, &e))?;
    match entry.get_password() {
        Ok(p) => Ok(Some(p)),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(e) => Err(no_keyring(name, &e.to_string())),
    }
}

fn no_keyring(name: &str, why: &str) -> Error {
    Error::Secret(format!(
        "no OS keyring is available here ({why})\n  set {} in the environment of each run instead",
        env_var(name)
    ))
}
