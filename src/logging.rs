//! Logging to a file beside the state (`<state>.log`), never to the screen: the TUI owns
//! the terminal. `MFA_ROLLOUT_LOG` sets the filter (default `info`). Secrets are never
//! passed to a log macro.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

/// Starts logging to `path`; a log that cannot be opened is not fatal.
pub fn init(path: &Path) {
    let Ok(file) = OpenOptions::new().create(true).append(true).open(path) else { return };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MFA_ROLLOUT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
}
