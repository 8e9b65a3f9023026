//! Picks the platform's keyring store once per process.

use std::sync::OnceLock;

/// Service name under which entries are stored.
const SERVICE: &str = "mfa-rollout";

fn init() -> Result<(), String> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        #[cfg(target_os = "linux")]
        let store = linux_keyutils_keyring_store::Store::new().map_err(|e| e.to_string())?;
        #[cfg(windows)]
        let store = windows_native_keyring_store::Store::new().map_err(|e| e.to_string())?;
        #[cfg(target_os = "macos")]
        let store =
            apple_native_keyring_store::keychain::Store::new().map_err(|e| e.to_string())?;
        #[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
        return Err("this platform has no supported keyring".to_string());
        #[cfg(any(target_os = "linux", windows, target_os = "macos"))]
        {
            keyring_core::set_default_store(store);
            Ok(())
        }
    })
    .clone()
}

/// The keyring entry for one secret of one domain.
pub fn entry(domain: &str, name: &str) -> Result<keyring_core::Entry, String> {
    init()?;
    keyring_core::Entry::new(SERVICE, &format!("{domain}/{name}")).map_err(|e| e.to_string())
}

/// Where secrets go on this platform, for messages.
pub fn describe() -> String {
    if cfg!(windows) {
        "Windows Credential Manager".into()
    } else if cfg!(target_os = "macos") {
        "the macOS Keychain".into()
    } else {
        "the Linux kernel keyring (keyutils)".into()
    }
}
