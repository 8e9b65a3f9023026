//! The `powershell` check: Windows-only probes. Each probe is a script under
//! `assets/probes/` (embedded in the binary) that prints one JSON object; it runs with
//! `powershell.exe -NoProfile -NonInteractive`, and this module parses and judges what it
//! printed. Judging is plain Rust, the same on every OS, and tested with documents in the
//! shape the scripts print; only running the script is Windows code ([`runner`]).
//!
//! On any other OS every probe is `not-run: needs Windows`, never a failure.
//!
//! Parameters: `probe` (one of [`PROBES`]) and the probe's own: `host`, `also_names`,
//! `features`, `site`, `service`, `url`.

use serde_json::Value;

use super::{CheckResult, Outcome, Planned, RunOptions};

#[cfg(windows)]
#[path = "powershell_runner.rs"]
mod runner;

/// One probe: its name, its script, and which check parameters it passes (as
/// `(parameter, -ScriptParameter, is a list)`).
pub struct Probe {
    pub name: &'static str,
    pub script: &'static str,
    pub params: &'static [(&'static str, &'static str, bool)],
}

/// Every probe this build ships.
pub const PROBES: &[Probe] = &[
    Probe {
        name: "cert",
        script: include_str!("../../assets/probes/cert.ps1"),
        params: &[("host", "Name", false), ("also_names", "AlsoNames", true)],
    },
    Probe {
        name: "features",
        script: include_str!("../../assets/probes/features.ps1"),
        params: &[("features", "Features", true)],
    },
    Probe { name: "updates", script: include_str!("../../assets/probes/updates.ps1"), params: &[] },
    Probe {
        name: "binding",
        script: include_str!("../../assets/probes/binding.ps1"),
        params: &[("site", "Site", false), ("host", "Name", false)],
    },
    Probe {
        name: "service",
        script: include_str!("../../assets/probes/service.ps1"),
        params: &[("service", "Service", false)],
    },
    Probe {
        name: "provider",
        script: include_str!("../../assets/probes/provider.ps1"),
        params: &[],
    },
    Probe {
        name: "vc-runtime",
        script: include_str!("../../assets/probes/vc-runtime.ps1"),
        params: &[],
    },
    Probe {
        name: "root-trusted",
        script: include_str!("../../assets/probes/root-trusted.ps1"),
        params: &[("url", "Url", false)],
    },
];

/// The AD FS provider names the MFA adapter registers under (older and newer adapters).
pub const PROVIDER_NAMES: &[&str] =
    &["WindowsAzureMultiFactorAuthentication", "AzureMfaServerAuthentication"];

/// What a probe run left behind.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Finds a probe by name.
pub fn probe(name: &str) -> Option<&'static Probe> {
    PROBES.iter().find(|p| p.name == name)
}

/// Runs a `powershell` check.
#[cfg_attr(not(windows), expect(clippy::unused_async, reason = "awaits only on Windows"))]
pub async fn run(check: &Planned, opts: &RunOptions) -> CheckResult {
    let name = check.params.get("probe").map(String::as_str).unwrap_or_default();
    let Some(probe) = probe(name) else {
        let known: Vec<&str> = PROBES.iter().map(|p| p.name).collect();
        return CheckResult::error(
            check,
            format!("unknown probe `{name}`; this build has {}", known.join(", ")),
        );
    };
    #[cfg(windows)]
    {
        let output = runner::run(&command_text(probe, check)).await;
        judge(check, probe.name, &output, opts.renewal_lead_days, time::OffsetDateTime::now_utc())
    }
    #[cfg(not(windows))]
    {
        let _ = (probe, opts);
        CheckResult::new(check, Outcome::NotRun, "needs Windows")
            .with_hint("run this check on the Windows server the step concerns")
    }
}

/// A PowerShell single-quoted literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The command `powershell.exe` runs: the probe's script as a script block, called with
/// the check's parameters; any terminating error becomes `{"error": "..."}`.
pub fn command_text(probe: &Probe, check: &Planned) -> String {
    let mut args = String::new();
    for (param, ps, list) in probe.params {
        let Some(value) = check.params.get(*param).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let value = if *list {
            let items: Vec<String> =
                value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(literal).collect();
            format!("@({})", items.join(","))
        } else {
            literal(value)
        };
        args.push_str(" -");
        args.push_str(ps);
        args.push(' ');
        args.push_str(&value);
    }
    format!(
        "$ProgressPreference = 'SilentlyContinue'\n$ErrorActionPreference = 'Stop'\n\
         [Console]::OutputEncoding = [System.Text.Encoding]::UTF8\n\
         try {{\n& {{\n{}\n}}{args}\n}} catch {{\n\
         [pscustomobject]@{{ error = $_.Exception.Message }} | ConvertTo-Json -Compress\n}}\n",
        probe.script
    )
}

/// Judges a probe's output; `Err` is a run that did not happen (no powershell.exe).
pub fn judge(
    check: &Planned,
    probe: &str,
    output: &Result<Output, String>,
    lead_days: i64,
    now: time::OffsetDateTime,
) -> CheckResult {
    let out = match output {
        Ok(o) => o,
        Err(e) if e == "needs Windows" => {
            return CheckResult::new(check, Outcome::NotRun, "needs Windows");
        }
        Err(e) => {
            return CheckResult::error(check, format!("cannot run powershell.exe: {e}"))
                .with_hint("run the tool on Windows with Windows PowerShell 5.1 on the PATH");
        }
    };
    let Some(doc) = last_json_object(&out.stdout) else {
        let first = out.stderr.lines().chain(out.stdout.lines()).find(|l| !l.trim().is_empty());
        let summary = match first {
            Some(line) => format!("the probe printed no JSON: {}", clip(line.trim(), 200)),
            None => "the probe printed nothing".into(),
        };
        return CheckResult::error(check, summary)
            .with_hint("run the step's commands by hand to see what PowerShell says");
    };
    if let Some(e) = doc.get("error").and_then(Value::as_str) {
        return CheckResult::error(check, format!("PowerShell: {}", clip(e.trim(), 300)))
            .with_hint(hint_for_error(e));
    }
    match probe {
        "cert" => judge_cert(check, &doc, lead_days, now),
        "features" => judge_features(check, &doc),
        "updates" => judge_updates(check, &doc),
        "binding" => judge_binding(check, &doc),
        "service" => judge_service(check, &doc),
        "provider" => judge_provider(check, &doc),
        "vc-runtime" => judge_runtime(check, &doc),
        "root-trusted" => judge_root(check, &doc),
        other => CheckResult::error(check, format!("no judge for probe `{other}`")),
    }
}

fn hint_for_error(e: &str) -> &'static str {
    let lower = e.to_ascii_lowercase();
    if lower.contains("access") && lower.contains("denied") {
        "run the tool from an elevated (administrator) PowerShell or terminal"
    } else if lower.contains("not recognized") || lower.contains("module") {
        "the cmdlet is missing here: is this the server the step concerns?"
    } else {
        "run the step's commands by hand to see the full error"
    }
}

/// The last line of `text` that is a JSON object (PowerShell may print warnings first).
fn last_json_object(text: &str) -> Option<serde_json::Map<String, Value>> {
    text.lines().rev().map(str::trim).filter(|l| l.starts_with('{')).find_map(|l| {
        match serde_json::from_str::<Value>(l) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        }
    })
}

fn clip(text: &str, n: usize) -> String {
    let mut out: String = text.chars().take(n).collect();
    if text.chars().count() > n {
        out.push('…');
    }
    out
}

/// A list field: PowerShell 5.1 writes one item as a bare value, none as null.
fn list<'a>(doc: &'a serde_json::Map<String, Value>, key: &str) -> Vec<&'a Value> {
    match doc.get(key) {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(v) => vec![v],
    }
}

fn string(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    match v.get(key) {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn param_list(check: &Planned, key: &str) -> Vec<String> {
    check
        .params
        .get(key)
        .map(|v| {
            v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
        })
        .unwrap_or_default()
}

fn judge_cert(
    check: &Planned,
    doc: &serde_json::Map<String, Value>,
    lead_days: i64,
    now: time::OffsetDateTime,
) -> CheckResult {
    let name = check.params.get("host").cloned().unwrap_or_default();
    let parse = |v: &Value| {
        time::OffsetDateTime::parse(
            &string(v, "not_after"),
            &time::format_description::well_known::Rfc3339,
        )
        .ok()
    };
    let mut certs: Vec<&Value> = list(doc, "certificates");
    certs.sort_by_key(|c| parse(c));
    let Some(cert) = certs.last().copied() else {
        return CheckResult::new(
            check,
            Outcome::Fail,
            format!("no certificate for {name} in LocalMachine\\My"),
        )
        .with_hint("enrol it as the step describes (certlm.msc › Personal, or the first command)");
    };
    let sans = strings(cert, "sans");
    let mut r = CheckResult::new(check, Outcome::Pass, String::new());
    for (k, v) in [
        ("thumbprint", string(cert, "thumbprint")),
        ("serial", string(cert, "serial")),
        ("subject_cn", string(cert, "subject")),
        ("sans", sans.join(", ")),
        ("issuer", string(cert, "issuer")),
        ("issued", string(cert, "not_before")),
        ("expires", string(cert, "not_after")),
        (
            "private_key",
            cert.get("has_private_key").and_then(Value::as_bool).unwrap_or(false).to_string(),
        ),
        ("count", certs.len().to_string()),
    ] {
        r.put(k, &v);
    }
    let missing: Vec<String> = param_list(check, "also_names")
        .into_iter()
        .filter(|n| !sans.iter().any(|s| s.eq_ignore_ascii_case(n)))
        .collect();
    let days = parse(cert).map(|t| (t - now).whole_days());
    if let Some(d) = days {
        r.put("days_left", &d.to_string());
    }
    let thumb = string(cert, "thumbprint");
    let (outcome, summary, hint) = if cert.get("has_private_key").and_then(Value::as_bool)
        != Some(true)
    {
        (
            Outcome::Fail,
            format!("certificate {thumb} for {name} has no private key"),
            "import it again with its private key (a .pfx), or enrol a new one on this server",
        )
    } else if !missing.is_empty() {
        (
            Outcome::Fail,
            format!("certificate {thumb} lacks the name(s) {}", missing.join(", ")),
            "enrol a certificate with every name as a DNS subject alternative name",
        )
    } else if days.is_none_or(|d| d < 0) {
        (
            Outcome::Fail,
            format!("certificate {thumb} for {name} has expired"),
            "renew the certificate, then bind the new one in IIS",
        )
    } else if days.is_some_and(|d| d < lead_days) {
        (
            Outcome::Warn,
            format!("certificate {thumb} for {name} expires in {} days", days.unwrap_or_default()),
            "renew it now: it expires inside the renewal lead",
        )
    } else {
        (
            Outcome::Pass,
            format!(
                "certificate {thumb} for {name}, private key present, {} days left",
                days.unwrap_or_default()
            ),
            "",
        )
    };
    r.outcome = outcome;
    r.summary = summary;
    r.with_hint(hint)
}

fn judge_features(check: &Planned, doc: &serde_json::Map<String, Value>) -> CheckResult {
    let wanted = param_list(check, "features");
    let found = list(doc, "features");
    let installed = |name: &str| {
        found.iter().any(|f| {
            string(f, "name").eq_ignore_ascii_case(name)
                && f.get("installed").and_then(Value::as_bool) == Some(true)
        })
    };
    let (ok, missing): (Vec<&String>, Vec<&String>) = wanted.iter().partition(|n| installed(n));
    let mut r = if missing.is_empty() {
        CheckResult::new(check, Outcome::Pass, format!("all {} features installed", ok.len()))
    } else {
        CheckResult::new(
            check,
            Outcome::Fail,
            format!("{} of {} features missing: {}", missing.len(), wanted.len(), join(&missing)),
        )
        .with_hint(format!("Install-WindowsFeature -Name {}", join(&missing)))
    };
    r.put("installed", &join(&ok));
    if !missing.is_empty() {
        r.put("missing", &join(&missing));
    }
    r
}

fn join(items: &[&String]) -> String {
    items.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

fn judge_updates(check: &Planned, doc: &serde_json::Map<String, Value>) -> CheckResult {
    let pending = list(doc, "pending");
    let reboot = doc.get("reboot_required").and_then(Value::as_bool).unwrap_or(false);
    let names: Vec<String> = pending
        .iter()
        .map(|u| {
            let kb = string(u, "kb");
            if kb.is_empty() { string(u, "title") } else { kb }
        })
        .collect();
    let mut r = if !pending.is_empty() {
        CheckResult::new(
            check,
            Outcome::Fail,
            format!("{} update(s) pending: {}", pending.len(), clip(&names.join(", "), 160)),
        )
        .with_hint(
            "install them (Settings › Windows Update, or sconfig option 6), reboot, scan again",
        )
    } else if reboot {
        CheckResult::new(check, Outcome::Warn, "no update pending, but a reboot is")
            .with_hint("reboot, then scan again")
    } else {
        CheckResult::new(check, Outcome::Pass, "no update pending and no reboot required")
    };
    r.put("pending", &pending.len().to_string());
    r.put("reboot_required", &reboot.to_string());
    if !names.is_empty() {
        r.put("pending_updates", &names.join(", "));
    }
    r
}

fn judge_binding(check: &Planned, doc: &serde_json::Map<String, Value>) -> CheckResult {
    let site = check.params.get("site").cloned().unwrap_or_default();
    let name = check.params.get("host").cloned().unwrap_or_default();
    let bindings = list(doc, "bindings");
    let certs: Vec<String> = list(doc, "certificates")
        .iter()
        .filter_map(|v| v.as_str())
        .map(str::to_ascii_uppercase)
        .collect();
    let Some(b) = bindings.first() else {
        return CheckResult::new(check, Outcome::Fail, format!("{site} has no https binding on port 443"))
            .with_hint("add it: IIS Manager › Sites › the site › Bindings › Add (https, 443), or the step's command");
    };
    let thumb = string(b, "thumbprint").to_ascii_uppercase();
    let mut r = CheckResult::new(check, Outcome::Pass, String::new());
    r.put("binding", &string(b, "binding"));
    r.put("thumbprint", &thumb);
    r.put("certificates_for_name", &certs.join(", "));
    if thumb.is_empty() {
        r.outcome = Outcome::Fail;
        r.summary = format!("the https binding of {site} on 443 has no certificate");
        return r
            .with_hint("pick the certificate in the binding's dialog, or run the step's command");
    }
    if !certs.contains(&thumb) {
        r.outcome = Outcome::Fail;
        r.summary = format!("port 443 of {site} is bound to {thumb}, not a certificate for {name}");
        return r.with_hint("edit the binding and pick the certificate issued to the name");
    }
    r.summary = format!("{site} https on 443 uses {thumb}, issued to {name}");
    r
}

fn judge_service(check: &Planned, doc: &serde_json::Map<String, Value>) -> CheckResult {
    let wanted = check.params.get("service").cloned().unwrap_or_default();
    let services = list(doc, "services");
    let Some(s) = services.first() else {
        return CheckResult::new(
            check,
            Outcome::Fail,
            format!("service \"{wanted}\" is not installed here"),
        )
        .with_hint("install it (the step says how), or run the check on the server that runs it");
    };
    let status = string(s, "status");
    let mut r = CheckResult::new(check, Outcome::Pass, String::new());
    r.put("service", &string(s, "name"));
    r.put("display_name", &string(s, "display_name"));
    r.put("status", &status);
    r.put("start_type", &string(s, "start_type"));
    if status.eq_ignore_ascii_case("running") {
        r.summary = format!("\"{}\" is running", string(s, "display_name"));
        r
    } else {
        r.outcome = Outcome::Fail;
        r.summary = format!("\"{}\" is {}", string(s, "display_name"), status.to_ascii_lowercase());
        r.with_hint(format!(
            "Start-Service -Name '{}' and look at the event log if it stops again",
            string(s, "name")
        ))
    }
}

fn judge_provider(check: &Planned, doc: &serde_json::Map<String, Value>) -> CheckResult {
    let names = |key: &str| -> Vec<String> {
        list(doc, key).iter().filter_map(|v| v.as_str()).map(str::to_string).collect()
    };
    let providers = names("providers");
    let additional = names("additional");
    let known = |n: &String| PROVIDER_NAMES.iter().any(|k| k.eq_ignore_ascii_case(n));
    let mut r = CheckResult::new(check, Outcome::Pass, String::new());
    r.put("providers", &providers.join(", "));
    r.put("additional", &additional.join(", "));
    let Some(found) = providers.iter().find(|n| known(n)) else {
        r.outcome = Outcome::Fail;
        r.summary = format!(
            "no MFA Server provider registered (looked for {})",
            PROVIDER_NAMES.join(" or ")
        );
        return r.with_hint(
            "run the Register script (with -ConfigurationFilePath), then restart AD FS",
        );
    };
    r.put("provider_name", found);
    if additional.iter().any(known) {
        r.summary = format!("{found} is registered and enabled as an additional method");
        r
    } else {
        r.outcome = Outcome::Warn;
        r.summary = format!("{found} is registered but not enabled as an additional method");
        r.with_hint("enable it in AD FS Management › Authentication Methods, or with the step's second command")
    }
}

fn judge_runtime(check: &Planned, doc: &serde_json::Map<String, Value>) -> CheckResult {
    let runtimes = list(doc, "runtimes");
    let mut r = CheckResult::new(check, Outcome::Pass, String::new());
    let mut missing = Vec::new();
    for arch in ["x86", "x64"] {
        let hit = runtimes.iter().find(|v| {
            string(v, "arch") == arch && v.get("installed").and_then(Value::as_bool) == Some(true)
        });
        match hit {
            Some(v) => r.put(&format!("vc_{arch}"), &string(v, "version")),
            None => missing.push(arch),
        }
    }
    if missing.is_empty() {
        r.summary = "Visual C++ 2015 runtime installed, x86 and x64".into();
        r
    } else {
        r.outcome = Outcome::Fail;
        r.summary = format!("Visual C++ 2015 runtime missing: {}", missing.join(", "));
        r.with_hint("install vc_redist.x86.exe and vc_redist.x64.exe (the step's first command)")
    }
}

fn judge_root(check: &Planned, doc: &serde_json::Map<String, Value>) -> CheckResult {
    let doc = Value::Object(doc.clone());
    let host = string(&doc, "host");
    let root = string(&doc, "root_subject");
    let chain_ok = doc.get("chain_ok").and_then(Value::as_bool).unwrap_or(false);
    let in_store = doc.get("root_in_store").and_then(Value::as_bool).unwrap_or(false);
    let status = strings(&doc, "status");
    let mut r = CheckResult::new(check, Outcome::Pass, String::new());
    r.put("host", &host);
    r.put("subject", &string(&doc, "subject"));
    r.put("root_subject", &root);
    r.put("root_thumbprint", &string(&doc, "root_thumbprint"));
    if !status.is_empty() {
        r.put("chain_status", &status.join(", "));
    }
    if chain_ok && in_store {
        r.summary = format!("{host}'s certificate chains to {root}, trusted in LocalMachine\\Root");
        return r;
    }
    r.outcome = Outcome::Fail;
    r.summary = if in_store {
        format!("{host}'s certificate chain does not verify here: {}", status.join(", "))
    } else {
        format!("{host}'s root {root} is not in LocalMachine\\Root on this server")
    };
    r.with_hint("import the issuing CA's root certificate into Trusted Root Certification Authorities (Local Computer)")
}

#[cfg(test)]
#[path = "powershell_tests.rs"]
mod tests;
