//! The command line: every wizard operation is also a subcommand for scripts. Nothing here
//! waits for input unless the operator is at a terminal and asked for the wizard.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub const AFTER_HELP: &str = "\
Files beside the state file (default ./mfa-rollout.toml):
  <name>.toml.bak        the previous save
  <name>.toml.lock       the writer lock (+ .lock.who naming its holder)
  <name>.journal.jsonl   every change, hash-chained (see `verify`)
  <name>.log             the log (MFA_ROLLOUT_LOG=debug for more)

Secrets live in the OS keyring (`secret set NAME`); for automation, or where no keyring
exists, set MFA_ROLLOUT_SECRET_<NAME> (e.g. MFA_ROLLOUT_SECRET_SDK_PASSWORD).

Exit codes: 0 ok; 1 a check failed; 2 the tool could not do what was asked (bad input,
unreadable state, lock held, a check that could not tell).";

/// Walks you through deploying MFA Server, the Web Service SDK, the User Portal and the
/// AD FS adapter for Windows Hello for Business certificate trust.
#[derive(Debug, Parser)]
#[command(name = "mfa-rollout", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    /// The rollout's state file.
    #[arg(
        long,
        global = true,
        env = "MFA_ROLLOUT_STATE",
        default_value = "mfa-rollout.toml",
        value_name = "PATH"
    )]
    pub state: PathBuf,

    /// Use an edited runbook from DIR (holding screens/ and profiles/) instead of the built-in one.
    #[arg(long, global = true, value_name = "DIR")]
    pub runbook: Option<PathBuf>,

    /// Linear prompts instead of the full-screen wizard (screen readers, serial consoles).
    #[arg(long)]
    pub plain: bool,

    /// No colours (the NO_COLOR environment variable does the same).
    #[expect(
        clippy::doc_markdown,
        reason = "--help shows the variable's name as the user types it"
    )]
    #[arg(long, global = true)]
    pub no_color: bool,

    /// When no rollout exists at --state yet, create one from this profile and open it.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    #[command(flatten)]
    pub net: NetArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How live checks reach servers (for `check` and the wizard's `c`).
#[derive(Debug, Args, Clone, Default)]
pub struct NetArgs {
    /// Seconds each live check may take.
    #[arg(long, global = true, default_value = "10", value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
    /// Reach NAME at another address while checking NAME (repeatable).
    #[arg(long, global = true, value_name = "NAME=ADDR[:PORT]")]
    pub connect: Vec<String>,
    /// Also trust the root certificates in this PEM file.
    #[arg(long, global = true, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
}

/// Output formats for listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

/// Output formats for check results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
    Junit,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Md,
    Html,
    Json,
    Junit,
    Ics,
}

impl ExportFormat {
    /// The format's name as the report module knows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Md => "md",
            Self::Html => "html",
            Self::Json => "json",
            Self::Junit => "junit",
            Self::Ics => "ics",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a rollout from a profile (demo, lab, production).
    Init {
        #[arg(long, value_name = "NAME")]
        profile: String,
        /// Set a variable (repeatable): --set `mfa_fqdn=mfa.corp.contoso.com`
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Replace an existing rollout (its file is kept as .bak, its journal set aside).
        #[arg(long)]
        force: bool,
    },
    /// Progress per phase.
    Status(FormatArg),
    /// Every step instance: id, phase, status.
    Steps(FormatArg),
    /// A step's instructions, values, commands, checks and evidence.
    Show {
        /// Step id (`portal.cert`, or `secondary.install@mfa2.corp.contoso.com`).
        step: String,
    },
    /// Variables: value, where it comes from, what it means.
    Vars(FormatArg),
    /// Run live checks of steps or phases (all applicable steps when none is named).
    Check(CheckArgs),
    /// Record that a step is done.
    Attest {
        step: String,
        #[arg(long)]
        note: Option<String>,
        /// Evidence (repeatable): --evidence serial=1A2B
        #[arg(long = "evidence", value_name = "KEY=VALUE")]
        evidence: Vec<String>,
    },
    /// Mark a step in progress.
    Start { step: String },
    /// Skip a step, with the reason.
    Skip {
        step: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Put a step back to pending.
    Reset { step: String },
    /// Set variables: KEY=VALUE ... (a list takes items separated by commas)
    Set {
        #[arg(required = true, value_name = "KEY=VALUE")]
        pairs: Vec<String>,
    },
    /// Make a step's file edit: show the diff, ask, back the file up, write it.
    ///
    /// Steps with an edit: portal.web-config, adfs.adapter-config, adfs.register-script. The
    /// backup goes beside the file (NAME.YYYYMMDDHHMMSS.bak); the write is atomic; the SDK
    /// password comes from the keyring or MFA_ROLLOUT_SECRET_SDK_PASSWORD and is masked.
    #[expect(
        clippy::doc_markdown,
        reason = "--help shows the variable's name as the user types it"
    )]
    Apply {
        /// `portal.web-config`, `adfs.adapter-config` or `adfs.register-script`
        step: String,
        /// Edit this file instead of the one the step's variable names.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// Show the diff only; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write without asking (needed when no terminal is attached).
        #[arg(long)]
        yes: bool,
    },
    /// Manage secrets in the OS keyring.
    Secret {
        #[command(subcommand)]
        action: SecretCommand,
    },
    /// Export the completed-checklist record (ics: certificate renewal reminders).
    Export {
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write to FILE instead of standard output.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Overwrite FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// The journal, readable.
    Log(FormatArg),
    /// Check that the journal's hash chain is intact, and that an exported record matches it.
    Verify {
        /// An exported record (any format) to match against the journal.
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a secret (read from standard input, or a hidden prompt at a terminal).
    Set {
        /// `sdk_password` or `ldap_password`
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct FormatArg {
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Step ids or phase ids; none means every applicable step.
    pub steps: Vec<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: CheckFormat,
}
