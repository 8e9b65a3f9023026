//! Live checks: turning a step's check specs into concrete checks (values filled in), and
//! running many of them concurrently on tokio, each bounded by a timeout, so a dead host
//! costs one timeout and never a hang. One file per check kind.

pub mod dns;
pub mod file;
pub mod http;
pub mod http_client;
pub mod ldap;
pub mod net;
pub mod powershell;
pub mod result;
pub mod smtp;
pub mod tcp;
pub mod tls;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use result::{CheckResult, Outcome};

use crate::engine::{Instance, Rollout, now};
use crate::error::{Error, Result};

/// Settings for a run of checks.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub timeout: Duration,
    /// `--connect NAME=ADDR[:PORT]`: reach NAME at another address while checking NAME.
    pub connect: BTreeMap<String, (String, Option<u16>)>,
    /// Extra trusted roots (`--ca-file`), already parsed.
    pub extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// Warn when a certificate expires within this many days.
    pub renewal_lead_days: i64,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            connect: BTreeMap::new(),
            extra_roots: Vec::new(),
            renewal_lead_days: 42,
        }
    }
}

/// Reads the root certificates of a `--ca-file`; a file without a usable certificate
/// is bad input, refused before any check runs.
pub fn load_ca_file(path: &Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bad = |why: String| {
        Error::Invalid(format!(
            "--ca-file {}: {why}\n  give a PEM file holding the issuing root certificate(s)",
            path.display()
        ))
    };
    if !path.is_file() {
        return Err(bad("no such file".into()));
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad(format!("not valid PEM ({e})")))?;
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    let mut store = rustls::RootCertStore::empty();
    let (_, unusable) = store.add_parsable_certificates(certs.iter().cloned());
    if unusable > 0 {
        return Err(bad(format!("{unusable} certificate(s) in it do not parse")));
    }
    Ok(certs)
}

/// Parses one `--connect NAME=ADDR[:PORT]` value.
pub fn parse_connect(text: &str) -> Result<(String, (String, Option<u16>))> {
    let bad = || {
        Error::Invalid(format!(
            "--connect `{text}` must be NAME=ADDR or NAME=ADDR:PORT, like mfa.corp.contoso.com=127.0.0.1:8443"
        ))
    };
    let (name, target) = text.split_once('=').ok_or_else(bad)?;
    if name.trim().is_empty() || target.trim().is_empty() {
        return Err(bad());
    }
    let (addr, port) = if let Some(rest) = target.strip_prefix('[') {
        let (a, p) = rest.split_once(']').ok_or_else(bad)?;
        (a.to_string(), p.strip_prefix(':').map(str::parse::<u16>).transpose().map_err(|_| bad())?)
    } else {
        match target.rsplit_once(':') {
            Some((a, p)) if !a.contains(':') => {
                (a.to_string(), Some(p.parse::<u16>().map_err(|_| bad())?))
            }
            _ => (target.to_string(), None),
        }
    };
    Ok((name.trim().to_ascii_lowercase(), (addr, port)))
}

/// A check with its parameters filled in, ready to run.
#[derive(Debug, Clone)]
pub struct Planned {
    pub step: String,
    pub name: String,
    pub kind: String,
    pub params: BTreeMap<String, String>,
    /// Set when the check cannot run (a value is not set).
    pub not_run: Option<String>,
    /// The rollout's AD domain, under which the keyring holds its secrets.
    pub domain: Option<String>,
}

impl Rollout {
    /// The checks of one step instance, values filled in.
    pub fn plan_checks(&self, inst: &Instance) -> Vec<Planned> {
        let step = self.step_of(inst);
        let host = inst.host.as_deref();
        let domain = self.value("domain").map(|v| v.display()).filter(|d| !d.is_empty());
        step.checks
            .iter()
            .map(|spec| {
                let name = self.render(&spec.name, host);
                let mut params = BTreeMap::new();
                let mut not_run = None;
                for (k, v) in &spec.params {
                    match self.render_strict(v, host) {
                        Ok(text) => {
                            params.insert(k.clone(), text);
                        }
                        // An optional parameter drawn from an optional variable that is
                        // not set is simply absent (e.g. `ldap_url` empty: find a DC by DNS).
                        Err(var)
                            if optional_param(&spec.kind, k)
                                && self.runbook.var(&var).is_some_and(|d| d.optional) => {}
                        Err(var) => {
                            not_run.get_or_insert(format!(
                                "`{var}` is not set; set it with `mfa-rollout set {var}=VALUE`"
                            ));
                        }
                    }
                }
                Planned {
                    step: inst.key.clone(),
                    name,
                    kind: spec.kind.clone(),
                    params,
                    not_run,
                    domain: domain.clone(),
                }
            })
            .collect()
    }

    /// The renewal lead in days, from `renewal_lead_days` (42 when not set).
    pub fn renewal_lead_days(&self) -> i64 {
        self.value("renewal_lead_days").and_then(|v| v.display().parse().ok()).unwrap_or(42)
    }
}

/// Is `param` an optional parameter of check `kind`?
fn optional_param(kind: &str, param: &str) -> bool {
    crate::runbook::CHECK_KINDS.iter().any(|(k, _, opt)| *k == kind && opt.contains(&param))
}

/// Runs one planned check, bounded by the timeout.
pub async fn run_one(check: &Planned, opts: &RunOptions) -> CheckResult {
    let started = Instant::now();
    let at = now();
    let mut result = if let Some(reason) = &check.not_run {
        CheckResult {
            name: check.name.clone(),
            kind: check.kind.clone(),
            outcome: Outcome::NotRun,
            summary: reason.clone(),
            hint: String::new(),
            evidence: BTreeMap::new(),
            at: at.clone(),
            duration_ms: 0,
        }
    } else {
        let work = async {
            match check.kind.as_str() {
                "tls" => tls::run(check, opts).await,
                "file" => file::run(check).await,
                "powershell" => powershell::run(check, opts).await,
                "http-basic" => http::run_basic(check, opts).await,
                "https" => http::run_page(check, opts).await,
                "smtp" => smtp::run(check, opts).await,
                "tcp" => tcp::run(check, opts).await,
                "dns-a" => dns::run(check, opts).await,
                "ldap-group" | "ldap-account" | "ldap-sync" | "ldap-replication" => {
                    ldap::run(check, opts).await
                }
                other => {
                    CheckResult::error(check, format!("this build cannot run `{other}` checks"))
                }
            }
        };
        match tokio::time::timeout(opts.timeout, work).await {
            Ok(r) => r,
            Err(_) => CheckResult::error(
                check,
                format!("no answer within {} s, so the check could not tell", opts.timeout.as_secs_f32()),
            )
            .with_hint("the host may be down or a firewall may drop the traffic; raise --timeout for a slow link"),
        }
    };
    result.at = at;
    result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!(check = %result.name, outcome = result.outcome.as_str(), summary = %result.summary, "check ran");
    result
}

/// The names a check reaches, as `--connect` keys them (lower case): used to tell the
/// operator when a `--connect` value matches no check.
pub fn connect_names(check: &Planned) -> Vec<String> {
    let param = |k: &str| check.params.get(k).map(String::as_str).unwrap_or_default();
    let list = |text: &str| -> Vec<String> {
        text.split(',').map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()).collect()
    };
    match check.kind.as_str() {
        "tls" => [list(param("host")), list(param("also_names"))].concat(),
        "http-basic" | "https" => {
            http_client::Url::parse(param("url")).map(|u| vec![u.host]).unwrap_or_default()
        }
        "smtp" => smtp::split_host_port(param("host")).map(|(h, _)| vec![h]).unwrap_or_default(),
        "tcp" => list(param("hosts")),
        "dns-a" => list(param("server")),
        "ldap-group" | "ldap-account" | "ldap-sync" | "ldap-replication" => param("url")
            .split_once("://")
            .and_then(|(_, r)| r.split([':', '/', '?']).next())
            .map(|h| vec![h.to_ascii_lowercase()])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Called with each result as it arrives (index into the batch).
pub type OnDone = Arc<dyn Fn(usize, &CheckResult) + Send + Sync>;

/// Runs checks concurrently; `on_done` sees each result as it arrives.
pub fn run_all(
    checks: Vec<Planned>,
    opts: &RunOptions,
    on_done: &OnDone,
) -> Result<Vec<CheckResult>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Invalid(format!("cannot start the check runner: {e}")))?;
    let opts = Arc::new(opts.clone());
    let results = runtime.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (i, check) in checks.into_iter().enumerate() {
            let opts = Arc::clone(&opts);
            let on_done = Arc::clone(on_done);
            set.spawn(async move {
                let r = run_one(&check, &opts).await;
                on_done(i, &r);
                (i, r)
            });
        }
        let mut out = Vec::new();
        while let Some(joined) = set.join_next().await {
            if let Ok(pair) = joined {
                out.push(pair);
            }
        }
        out.sort_by_key(|(i, _)| *i);
        out.into_iter().map(|(_, r)| r).collect::<Vec<_>>()
    });
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(results)
}

impl CheckResult {
    /// A result where the tool itself could not tell.
    pub fn error(check: &Planned, summary: impl Into<String>) -> Self {
        Self::new(check, Outcome::Error, summary)
    }

    /// A result with an outcome and summary, no evidence yet.
    pub fn new(check: &Planned, outcome: Outcome, summary: impl Into<String>) -> Self {
        Self {
            name: check.name.clone(),
            kind: check.kind.clone(),
            outcome,
            summary: summary.into(),
            hint: String::new(),
            evidence: BTreeMap::new(),
            at: String::new(),
            duration_ms: 0,
        }
    }

    /// Records one item of evidence.
    pub(crate) fn put(&mut self, key: &str, value: &str) {
        self.evidence.insert(key.to_string(), value.to_string());
    }

    /// Adds a remediation hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_connect_values() {
        let ok = [
            (
                "mfa.corp.contoso.com=127.0.0.1:8443",
                "mfa.corp.contoso.com",
                "127.0.0.1",
                Some(8443),
            ),
            ("MFA.corp.contoso.com=127.0.0.2", "mfa.corp.contoso.com", "127.0.0.2", None),
            ("a.b=[::1]:443", "a.b", "::1", Some(443)),
            ("a.b=node1.corp.contoso.com:443", "a.b", "node1.corp.contoso.com", Some(443)),
        ];
        for (text, name, addr, port) in ok {
            let (n, (a, p)) = parse_connect(text).unwrap();
            assert_eq!((n.as_str(), a.as_str(), p), (name, addr, port), "{text}");
        }
        for bad in ["nothing", "=1.2.3.4", "a.b=", "a.b=1.2.3.4:http", "a.b=1.2.3.4:70000"] {
            assert!(parse_connect(bad).is_err(), "{bad}");
        }
    }
}
