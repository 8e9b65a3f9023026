//! Entry point: parse the command line, pick the front end (TUI, plain wizard or a
//! subcommand), and map errors to exit codes (2 = the tool could not do what was asked).

mod cli;
mod cmd;

use std::io::IsTerminal;
use std::process::ExitCode;

use mfa_rollout::runbook::{self, Runbook};
use mfa_rollout::{Error, Result};

fn main() -> ExitCode {
    let cli = match parse_cli() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let paths = mfa_rollout::state::Paths::new(&cli.state);
    if !matches!(cli.command, Some(cli::Command::Completions { .. })) {
        mfa_rollout::logging::init(&paths.log);
    }
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Parses the command line; `--help` names the actual log file for the default state path.
fn parse_cli() -> std::result::Result<cli::Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let state = std::env::var_os("MFA_ROLLOUT_STATE")
        .map_or_else(|| "mfa-rollout.toml".into(), std::path::PathBuf::from);
    let log = mfa_rollout::state::Paths::new(&state).log;
    let command = cli::Cli::command().after_help(format!(
        "{}\n\nLog file for this state: {}",
        cli::AFTER_HELP,
        log.display()
    ));
    cli::Cli::from_arg_matches(&command.try_get_matches()?)
}

fn load_runbook(cli: &cli::Cli) -> Result<Runbook> {
    match &cli.runbook {
        Some(dir) => runbook::load_dir(dir),
        None => runbook::load_embedded(),
    }
}

fn run(cli: cli::Cli) -> Result<u8> {
    let color = !cli.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let book = load_runbook(&cli)?;
    let Some(command) = cli.command else {
        let opts = cmd::net_options(&cli.net)?;
        return open_wizard(book, &cli.state, cli.profile.as_deref(), cli.plain, color, opts);
    };
    cmd::dispatch(command, book, &cli.state, &cli.net)
}

fn open_wizard(
    book: Runbook,
    state: &std::path::Path,
    profile: Option<&str>,
    plain: bool,
    color: bool,
    opts: mfa_rollout::checks::RunOptions,
) -> Result<u8> {
    use mfa_rollout::{Access, Rollout};

    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    let tty_out = std::io::stdout().is_terminal();
    let tty_in = std::io::stdin().is_terminal();
    if !tty_in {
        return Err(Error::Invalid(
            "the wizard needs a terminal to read your answers; in scripts use the subcommands (`mfa-rollout status`, `attest`, `check` ...; see --help)"
                .into(),
        ));
    }
    let rollout = if state.exists() {
        Rollout::open(book, state, Access::Write)?
    } else {
        let Some(profile) = profile else {
            return Err(Error::NoState(state.to_path_buf()));
        };
        let r = Rollout::create(book, state, profile, &[], false)?;
        eprintln!("created {} from the {profile} profile", state.display());
        r
    };
    if plain || dumb || !tty_out {
        mfa_rollout::ui::plain::run(rollout, &opts)
    } else {
        mfa_rollout::ui::tui::run(rollout, color, opts)
    }
}
