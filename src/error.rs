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

/// Quotes a path for pasting into a shell when it needs it. On Windows in double quotes,
/// which both PowerShell and cmd read (cmd does not know single quotes), unless the path
/// holds `$`, a backtick or `%`, which those shells expand inside double quotes; elsewhere
/// (and for such paths) in single quotes.
pub fn quote(path: &std::path::Path) -> String {
    quote_for(&path.display().to_string(), cfg!(windows))
}

fn quote_for(text: &str, windows: bool) -> String {
    let special =
        |c: char| c.is_whitespace() || "'\"$&|;<>()`".contains(c) || (windows && c == '%');
    if !text.chars().any(special) {
        return text.to_string();
    }
    if windows && !text.contains(['$', '`', '%', '"']) {
        return format!("\"{text}\"");
    }
    if windows {
        // PowerShell doubles a single quote inside single quotes.
        format!("'{}'", text.replace('\'', "''"))
    } else {
        // A POSIX shell closes the quote, adds an escaped one, and reopens.
        format!("'{}'", text.replace('\'', "'\\''"))
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

#[cfg(test)]
mod tests {
    use super::quote_for;

    #[test]
    fn quotes_paths_for_the_platform_shells() {
        let spaced = r"C:\Users\ann\Documents\MFA Rollout\lab.toml";
        assert_eq!(quote_for(spaced, true), format!("\"{spaced}\""));
        assert_eq!(quote_for(spaced, false), format!("'{spaced}'"));
        assert_eq!(quote_for(r"C:\rollouts\lab.toml", true), r"C:\rollouts\lab.toml");
        assert_eq!(quote_for(r"D:\MFA $pilot\x.toml", true), r"'D:\MFA $pilot\x.toml'");
        assert_eq!(quote_for(r"D:\100% done\x.toml", true), r"'D:\100% done\x.toml'");
        assert_eq!(quote_for("/srv/mfa rollout/x.toml", false), "'/srv/mfa rollout/x.toml'");
        assert_eq!(quote_for("q'x/s.toml", false), "'q'\\''x/s.toml'");
        assert_eq!(quote_for("q'x $s.toml", true), "'q''x $s.toml'");
    }
}
