//! The `tcp` check: can this machine open a TCP connection to each of a list of hosts on
//! one port (the MFA server's outbound 443 to the MFA cloud service)? All hosts are tried
//! at once; one result covers the list, with one evidence line per host, because the
//! runbook proves "the server reaches the cloud service" as one fact.
//!
//! It only opens and closes connections: it sends nothing, and it does not go through a
//! proxy (see the README's known limitations).

// LIMITATION: direct TCP only. Where outbound 443 must go through a web proxy, the check
// reports the endpoints as blocked although the MFA service may reach them via the proxy.

use tokio::task::JoinSet;

use super::net::{self, ConnectFailure, Finding, Target};
use super::{CheckResult, Outcome, Planned, RunOptions};

/// Runs a `tcp` check: `hosts` (comma-separated) and optional `port` (443).
pub async fn run(check: &Planned, opts: &RunOptions) -> CheckResult {
    let deadline = net::deadline(opts);
    let port: u16 = match check.params.get("port").map(|p| p.trim().parse()) {
        None => 443,
        Some(Ok(p)) => p,
        Some(Err(_)) => return CheckResult::error(check, "the check's port is not a number"),
    };
    let hosts: Vec<String> = check
        .params
        .get("hosts")
        .map(|h| {
            h.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
        })
        .unwrap_or_default();
    if hosts.is_empty() {
        return CheckResult::error(check, "the check names no hosts");
    }

    let mut tries = JoinSet::new();
    for (i, host) in hosts.iter().enumerate() {
        let target = Target::new(host, port, opts);
        tries.spawn(async move {
            let started = tokio::time::Instant::now();
            let outcome = net::connect(&target, deadline).await.map(|stream| {
                let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
                (started.elapsed().as_millis(), peer)
            });
            (i, target, outcome)
        });
    }
    let mut done = Vec::with_capacity(hosts.len());
    while let Some(joined) = tries.join_next().await {
        if let Ok(item) = joined {
            done.push(item);
        }
    }
    done.sort_by_key(|(i, _, _)| *i);

    let mut result = CheckResult::new(check, Outcome::Pass, "");
    result.put("port", &port.to_string());
    result.put("from", &gethostname::gethostname().to_string_lossy());
    let mut open = Vec::new();
    let mut blocked: Vec<(&Target, &ConnectFailure)> = Vec::new();
    for (_, target, outcome) in &done {
        match outcome {
            Ok((ms, peer)) => {
                result.put(&target.name, &format!("open in {ms} ms ({peer})"));
                open.push(target.name.clone());
            }
            Err(failure) => {
                result.put(&target.name, &format!("blocked: {}", failure.describe(target)));
                blocked.push((target, failure));
            }
        }
    }
    if blocked.is_empty() {
        result.summary =
            format!("{} reachable on TCP {port}: {}", plural(open.len()), open.join(", "));
        return result;
    }

    let reasons: Vec<String> =
        blocked.iter().map(|(t, f)| format!("{} {}", t.name, short(f))).collect();
    let mut summary = format!(
        "{} of {} blocked on TCP {port}: {}",
        blocked.len(),
        done.len(),
        reasons.join(", ")
    );
    if !open.is_empty() {
        summary = format!("{summary}; open: {}", open.join(", "));
    }
    let findings = [Finding::fail(summary, hints(&blocked, port))];
    net::conclude(result, &findings, String::new())
}

/// A few words for why a host was not reached.
fn short(failure: &ConnectFailure) -> &'static str {
    match failure {
        ConnectFailure::Refused => "(refused)",
        ConnectFailure::Unresolved(_) => "(does not resolve)",
        ConnectFailure::NoAnswer => "(no answer)",
        ConnectFailure::Other(_) => "(connection error)",
    }
}

/// One hint per kind of failure, naming its hosts. The MFA service needs every endpoint, so
/// any blocked host fails the check.
fn hints(blocked: &[(&Target, &ConnectFailure)], port: u16) -> String {
    let names = |want: fn(&ConnectFailure) -> bool| -> String {
        blocked
            .iter()
            .filter(|(_, f)| want(f))
            .map(|(t, _)| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = Vec::new();
    let unresolved = names(|f| matches!(f, ConnectFailure::Unresolved(_)));
    if !unresolved.is_empty() {
        out.push(format!("let this server's DNS resolve Internet names ({unresolved})."));
    }
    let dropped = names(|f| matches!(f, ConnectFailure::NoAnswer));
    if !dropped.is_empty() {
        out.push(format!("a firewall drops outbound TCP {port} to {dropped}: open it for this server, by name (the addresses change)."));
    }
    let refused = names(|f| matches!(f, ConnectFailure::Refused | ConnectFailure::Other(_)));
    if !refused.is_empty() {
        out.push(format!("outbound TCP {port} to {refused} is refused: open it in the firewall or proxy for this server."));
    }
    out.join(" ")
}

fn plural(n: usize) -> String {
    if n == 1 { "1 host".into() } else { format!("{n} hosts") }
}
