//! The engine's error type: every failure names the file, value or flag involved and
//! says what to do next. Front ends print these and exit with code 2.

use std::path::PathBuf;

/// Result alias used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the engine can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A runbook or profile file is invalid.
    #[error("{file}:{line}: {message}")]
    Runbook { file: String, line: usize, message: String },

    /// The state file cannot be parsed or does not make sense.
    #[error(
        "{path}:{line}: {message}\n  the file was left untouched; fix that line by hand (the previous save, when there is one, is {path}.bak)"
    )]
    StateCorrupt { path: PathBuf, line: usize, message: String },

    /// Another process holds the writer lock.
    #[error(
        "the rollout {path} is open for changes by {holder}\n  wait for it to finish (or close that wizard), then try again"
    )]
    Locked { path: PathBuf, holder: String },

    /// No state file where one was expected.
    #[error(
        "no rollout at {}\n  create one with `mfa-rollout{} init --profile demo`, or point --state / MFA_ROLLOUT_STATE at an existing file",
        .0.display(),
        state_flag(.0)
    )]
    NoState(PathBuf),

    /// Refusing to overwrite something.
    #[error("{0}")]
    Exists(String),

    /// A value given by the operator is invalid.
    #[error("{0}")]
    Invalid(String),

    /// A step id that the runbook does not know.
    #[error("unknown step `{0}`\n  list the step ids with `mfa-rollout steps`")]
    UnknownStep(String),

    /// Secrets could not be stored or read.
    #[error("{0}")]
    Secret(String),

    /// An I/O failure on a named path.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}

/// Converts a byte offset in `text` into a 1-based line number.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].split(|b| *b == b'\n').count()
}

/// Quotes a path for pasting into PowerShell, cmd or a POSIX shell when it needs it.
pub fn quote(path: &std::path::Path) -> String {
    let text = path.display().to_string();
    if text.chars().any(|c| c.is_whitespace() || "'\"$&|;<>()`".contains(c)) {
        format!("'{}'", text.replace('\'', "''"))
    } else {
        text
    }
}

/// ` --state PATH` when the state file is not the default one, for suggested commands.
pub fn state_flag(state: &std::path::Path) -> String {
    if state == std::path::Path::new("mfa-rollout.toml") {
        String::new()
    } else {
        format!(" --state {}", quote(state))
    }
}
