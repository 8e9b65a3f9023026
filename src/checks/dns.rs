//! `dns-a`: a name resolves to the expected IPv4 address (A record), asked of the system
//! resolver or of a given DNS server. The wrong address, no record and a DNS server that
//! does not answer are three different findings.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::{Resolver, TokioResolver};

use super::{CheckResult, Outcome, Planned, RunOptions};

/// A resolver asking `server` (an IP address, optionally reached elsewhere through
/// `--connect SERVER=ADDR:PORT`), or the system's resolver when `server` is empty.
pub fn resolver(server: &str, opts: &RunOptions) -> Result<TokioResolver, String> {
    let mut builder = if server.is_empty() {
        Resolver::builder_tokio()
            .map_err(|e| format!("cannot read the system's resolver settings: {e}"))?
    } else {
        let (addr, port) = match opts.connect.get(&server.to_ascii_lowercase()) {
            Some((a, p)) => (a.as_str(), p.unwrap_or(53)),
            None => (server, 53),
        };
        let ip: IpAddr =
            addr.parse().map_err(|_| format!("DNS server `{addr}` is not an IP address"))?;
        let group = NameServerConfigGroup::from_ips_clear(&[ip], port, true);
        Resolver::builder_with_config(
            ResolverConfig::from_parts(None, vec![], group),
            TokioConnectionProvider::default(),
        )
    };
    let o = builder.options_mut();
    o.attempts = 1;
    o.timeout = opts.timeout.mul_f32(0.4).max(Duration::from_millis(300));
    o.cache_size = 0;
    o.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
    Ok(builder.build())
}

pub async fn run(check: &Planned, opts: &RunOptions) -> CheckResult {
    let get =
        |k: &str| check.params.get(k).map(String::as_str).unwrap_or_default().trim().to_string();
    let (name, server) = (get("host"), get("server"));
    let expected: Ipv4Addr = match get("address").parse() {
        Ok(a) => a,
        Err(_) => {
            return CheckResult::error(
                check,
                format!("expected address `{}` is not IPv4", get("address")),
            );
        }
    };
    let asked = if server.is_empty() {
        "the system resolver".to_string()
    } else {
        format!("DNS server {server}")
    };
    let resolver = match resolver(&server, opts) {
        Ok(r) => r,
        Err(why) => return CheckResult::error(check, why),
    };
    let fqdn = format!("{}.", name.trim_end_matches('.'));
    // A DNS server that never answers is a finding of its own, reached before the
    // check's overall timeout.
    let limit = opts.timeout.mul_f32(0.7);
    let Ok(lookup) = tokio::time::timeout(limit, resolver.ipv4_lookup(fqdn.as_str())).await else {
        let mut r = CheckResult::new(
            check,
            Outcome::Fail,
            format!("{asked} did not answer for {name} within {:.1} s", limit.as_secs_f32()),
        )
        .with_hint("is the DNS server up and reachable on port 53? check dns_server");
        r.put("asked", &asked);
        return r;
    };
    let mut r = match lookup {
        Ok(answer) => {
            let got: Vec<Ipv4Addr> = answer.iter().map(|a| a.0).collect();
            let list = got.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let mut r = if got.contains(&expected) && got.len() == 1 {
                CheckResult::new(check, Outcome::Pass, format!("{name} resolves to {expected}"))
            } else if got.contains(&expected) {
                CheckResult::new(
                    check,
                    Outcome::Warn,
                    format!("{name} resolves to {list}, not only {expected}"),
                )
                .with_hint(
                    "remove the A records that point elsewhere, or users may reach another server",
                )
            } else {
                CheckResult::new(
                    check,
                    Outcome::Fail,
                    format!("{name} resolves to {list}, expected {expected}"),
                )
                .with_hint(fix(&name, expected))
            };
            r.put("addresses", &list);
            r
        }
        Err(e) if e.is_nx_domain() || e.is_no_records_found() => {
            CheckResult::new(check, Outcome::Fail, format!("{name} has no A record ({asked})"))
                .with_hint(fix(&name, expected))
        }
        Err(e) => CheckResult::new(
            check,
            Outcome::Fail,
            format!("{asked} did not answer for {name} ({e})"),
        )
        .with_hint("is the DNS server up and reachable on port 53? check dns_server"),
    };
    r.put("asked", &asked);
    r.put("expected", &expected.to_string());
    r
}

fn fix(name: &str, expected: Ipv4Addr) -> String {
    let (host, zone) = name.split_once('.').unwrap_or((name, ""));
    format!(
        "Add-DnsServerResourceRecordA -ZoneName '{zone}' -Name '{host}' -IPv4Address '{expected}'"
    )
}
