//! Directory checks against Active Directory over LDAP: the connection (LDAPS, `StartTLS` or
//! plain LDAP with a warning; a DC found through DNS SRV records when `url` is empty), the
//! bind (simple, as `bind` with the secret `ldap_password`), and a paged, streamed search
//! whose memory stays bounded whatever the directory's size. The checks themselves live in
//! one file each: [`group`], [`account`], [`sync`].

pub mod account;
pub mod acl;
pub mod group;
pub mod sync;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry, StdStream};

use super::{CheckResult, Outcome, Planned, RunOptions};

/// Page size of every search: under AD's default `MaxPageSize` of 1,000.
pub const PAGE_SIZE: i32 = 500;
/// The in-chain matching rule: membership through any depth of nesting.
pub const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// A bound connection to a domain controller.
pub struct Dir {
    pub ldap: Ldap,
    /// The domain's naming context, e.g. `DC=corp,DC=contoso,DC=com`.
    pub base: String,
    /// Where it went, for evidence: `ldaps://dc1.corp.contoso.com:636`.
    pub server: String,
    /// `ldaps`, `starttls` or `plain`.
    pub transport: &'static str,
    pub timeout: Duration,
    /// Active Directory (or Samba AD), as the rootDSE says: in-chain matching rule,
    /// `objectCategory`, `sAMAccountName`. Otherwise (e.g. `OpenLDAP` with the `memberof`
    /// overlay) groups are `groupOfNames` and nesting is followed by the client.
    pub ad: bool,
}

impl Dir {
    /// Adds the connection's evidence (and the plain-LDAP warning) to a result.
    pub fn stamp(&self, mut r: CheckResult) -> CheckResult {
        r.put("server", &self.server);
        r.put("transport", self.transport);
        if self.transport == "plain" {
            r.put(
                "warning",
                "plain LDAP: the password and the directory's answers travelled unencrypted",
            );
            if r.outcome == Outcome::Pass {
                r.outcome = Outcome::Warn;
                r.summary.push_str(" (over plain LDAP, unencrypted)");
                r.hint = "use ldaps:// or ldap:// (StartTLS) in ldap_url".into();
            }
        }
        r
    }

    /// Streams a paged subtree search below the domain head (referrals dropped), calling
    /// `each` with every entry; returns the number of entries.
    pub async fn each(
        &mut self,
        filter: &str,
        attrs: &[&str],
        mut each: impl FnMut(SearchEntry) + Send,
    ) -> Result<u64, String> {
        self.each_below(&self.base.clone(), Scope::Subtree, filter, attrs, &mut each).await
    }

    /// Like [`Dir::each`], from any base and scope.
    pub async fn each_below(
        &mut self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
        each: &mut (dyn FnMut(SearchEntry) + Send),
    ) -> Result<u64, String> {
        let attrs: Vec<String> = attrs.iter().map(|a| (*a).to_string()).collect();
        let adapters: Vec<Box<dyn Adapter<'_, String, Vec<String>>>> =
            vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(PAGE_SIZE))];
        let mut count = 0u64;
        let mut stream = self
            .ldap
            .with_timeout(self.timeout)
            .streaming_search_with(adapters, base, scope, filter, attrs)
            .await
            .map_err(|e| describe(&e))?;
        loop {
            match tokio::time::timeout(self.timeout, stream.next()).await {
                Err(_) => {
                    return Err("the directory stopped answering in the middle of a search".into());
                }
                Ok(Err(e)) => return Err(describe(&e)),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(entry))) => {
                    count += 1;
                    each(SearchEntry::construct(entry));
                }
            }
        }
        let done = stream.finish().await;
        // 32 (no such object) under a base search is an empty answer, not a failure.
        if done.rc != 0 && done.rc != 32 {
            return Err(format!("the search failed: {}", describe_rc(done.rc, &done.text)));
        }
        Ok(count)
    }

    /// Reads one entry by DN (base search), or None.
    pub async fn read(&mut self, dn: &str, attrs: &[&str]) -> Result<Option<SearchEntry>, String> {
        let mut found = None;
        self.each_below(dn, Scope::Base, "(objectClass=*)", attrs, &mut |e| found = Some(e))
            .await?;
        Ok(found)
    }

    /// Finds the first object matching a filter below the domain head.
    pub async fn find(
        &mut self,
        filter: &str,
        attrs: &[&str],
    ) -> Result<Option<SearchEntry>, String> {
        let mut found = None;
        self.each(filter, attrs, |e| {
            found.get_or_insert(e);
        })
        .await?;
        Ok(found)
    }

    /// Is `member_dn` in the group `group_dn`, through any nesting?
    pub async fn in_chain(&mut self, member_dn: &str, group_dn: &str) -> Result<bool, String> {
        let filter = format!("(memberOf:{IN_CHAIN}:={})", ldap3::ldap_escape(group_dn));
        let mut hit = false;
        self.each_below(member_dn, Scope::Base, &filter, &["1.1"], &mut |_| hit = true).await?;
        Ok(hit)
    }

    /// Finds a group by name (cn or sAMAccountName; AD compares case-insensitively).
    pub async fn find_group(&mut self, name: &str) -> Result<Option<SearchEntry>, String> {
        let n = ldap3::ldap_escape(name);
        let filter = if self.ad {
            format!("(&(objectCategory=group)(|(cn={n})(sAMAccountName={n})))")
        } else {
            format!("(&(|(objectClass=group)(objectClass=groupOfNames))(cn={n}))")
        };
        self.find(&filter, &["cn", "sAMAccountName", "objectSid"]).await
    }

    /// A filter matching members of `group_dn` through any nesting: the in-chain rule on
    /// AD; elsewhere the nested groups are collected first (a handful of DNs, however
    /// many users) and matched with `memberOf` equality.
    pub async fn members_filter(&mut self, group_dn: &str) -> Result<String, String> {
        if self.ad {
            return Ok(format!("(memberOf:{IN_CHAIN}:={})", ldap3::ldap_escape(group_dn)));
        }
        let mut groups = vec![group_dn.to_string()];
        let mut next = 0;
        while next < groups.len() && groups.len() < 10_000 {
            let filter = format!(
                "(&(|(objectClass=group)(objectClass=groupOfNames))(memberOf={}))",
                ldap3::ldap_escape(groups[next].as_str())
            );
            next += 1;
            let mut found = Vec::new();
            self.each(&filter, &["1.1"], |e| found.push(e.dn)).await?;
            for dn in found {
                if !groups.iter().any(|g| g.eq_ignore_ascii_case(&dn)) {
                    groups.push(dn);
                }
            }
        }
        let mut any = String::new();
        for g in &groups {
            let _ = write!(any, "(memberOf={})", ldap3::ldap_escape(g.as_str()));
        }
        Ok(format!("(|{any})"))
    }
}

/// `corp.contoso.com` → `DC=corp,DC=contoso,DC=com`.
pub fn base_dn(domain: &str) -> String {
    domain
        .trim_end_matches('.')
        .split('.')
        .map(|p| format!("DC={}", ldap3::dn_escape(p)))
        .collect::<Vec<_>>()
        .join(",")
}

/// The first value of an attribute.
pub fn attr<'e>(e: &'e SearchEntry, name: &str) -> Option<&'e str> {
    e.attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
}

/// An LDAP error, in words (never a secret: ldap3 errors carry no credentials).
pub fn describe(e: &ldap3::LdapError) -> String {
    match e {
        ldap3::LdapError::LdapResult { result } => describe_rc(result.rc, &result.text),
        ldap3::LdapError::Timeout { .. } => "the directory did not answer in time".into(),
        other => other.to_string(),
    }
}

fn describe_rc(rc: u32, text: &str) -> String {
    let what = match rc {
        10 => "referral (the object lives in another partition or domain)",
        49 => "invalid credentials",
        50 => "insufficient access rights",
        51 | 52 => "the server is busy or unavailable",
        53 => "the server is unwilling to perform the operation",
        _ => "LDAP error",
    };
    let text = text.trim().trim_end_matches('\0');
    if text.is_empty() {
        format!("{what} (result {rc})")
    } else {
        format!("{what} (result {rc}: {text})")
    }
}

fn param<'c>(check: &'c Planned, key: &str) -> &'c str {
    check.params.get(key).map(String::as_str).unwrap_or_default().trim()
}

/// Runs one directory check: connects and binds once, then judges by kind.
pub async fn run(check: &Planned, opts: &RunOptions) -> CheckResult {
    let mut dir = match connect(check, opts).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let r = match check.kind.as_str() {
        "ldap-group" => group::judge(check, &mut dir).await,
        "ldap-account" => account::judge(check, &mut dir).await,
        "ldap-sync" => sync::judge(check, &mut dir).await,
        _ => acl::judge(check, &mut dir).await,
    };
    dir.stamp(r)
}

/// Connects and binds as the check's parameters say. A failure comes back as the check's
/// result: a named finding (wrong password, untrusted certificate) or an error.
pub async fn connect(check: &Planned, opts: &RunOptions) -> Result<Dir, CheckResult> {
    let domain = match (param(check, "domain"), check.domain.as_deref()) {
        (d, _) if !d.is_empty() => d.to_string(),
        (_, Some(d)) => d.to_string(),
        _ => return Err(CheckResult::new(check, Outcome::NotRun, "`domain` is not set")),
    };
    let timeout = opts.timeout;
    let url = if param(check, "url").is_empty() {
        discover(&domain, param(check, "dns_server"), opts).await.map_err(|why| {
            CheckResult::error(check, format!("no domain controller found for {domain}: {why}"))
                .with_hint(
                    "set ldap_url to ldaps://<a DC's name>, or check the _ldap._tcp SRV records",
                )
        })?
    } else {
        param(check, "url").to_string()
    };
    let Some((scheme, host, port)) = split_url(&url) else {
        return Err(CheckResult::error(
            check,
            format!("ldap_url `{url}` is not an LDAP URL (ldaps://host[:port])"),
        ));
    };
    let (transport, default_port) = match scheme.as_str() {
        "ldaps" => ("ldaps", 636),
        "ldap" if url.contains("?plain") || url.ends_with("#plain") => ("plain", 389),
        "ldap" => ("starttls", 389),
        other => {
            return Err(CheckResult::error(
                check,
                format!("ldap_url scheme `{other}` is not ldap or ldaps"),
            ));
        }
    };
    let port = port.unwrap_or(default_port);
    let (addr, port) = match opts.connect.get(&host.to_ascii_lowercase()) {
        Some((a, p)) => (a.clone(), p.unwrap_or(port)),
        None => (host.clone(), port),
    };
    let server = format!("{scheme}://{host}:{port}");
    let tcp =
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect((addr.as_str(), port)))
            .await
        {
            Err(_) => {
                return Err(CheckResult::error(
                    check,
                    format!("{server}: no answer within {} s", timeout.as_secs_f32()),
                )
                .with_hint("is the DC up and port open? a firewall may drop the traffic"));
            }
            Ok(Err(e)) => {
                // As for the TLS check: a refused connection or an unknown name is a finding.
                return Err(CheckResult::new(
                    check,
                    Outcome::Fail,
                    format!("cannot reach {server}: {e}"),
                )
                .with_hint(
                    "check ldap_url (the DC's name); is the DC up and the LDAP port open?",
                ));
            }
            Ok(Ok(s)) => s,
        };
    let std = tcp.into_std().map_err(|e| CheckResult::error(check, format!("{server}: {e}")))?;
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| CheckResult::error(check, e.to_string()))?
    .with_root_certificates(super::tls::roots(opts))
    .with_no_client_auth();
    let settings = LdapConnSettings::new()
        .set_conn_timeout(timeout)
        .set_config(Arc::new(tls))
        .set_starttls(transport == "starttls")
        .set_std_stream(StdStream::Tcp(std));
    let connect_url =
        format!("{}://{host}:{port}", if transport == "ldaps" { "ldaps" } else { "ldap" });
    let (conn, mut ldap) = match LdapConnAsync::with_settings(settings, &connect_url).await {
        Ok(pair) => pair,
        Err(e) => {
            let text = describe(&e);
            let untrusted = text.contains("certificate") || text.contains("UnknownIssuer");
            let r = CheckResult::new(
                check,
                if untrusted { Outcome::Fail } else { Outcome::Error },
                if untrusted {
                    format!("{server}: the DC's certificate is not trusted ({text})")
                } else if transport == "starttls" {
                    format!("{server}: StartTLS failed ({text})")
                } else {
                    format!("{server}: {text}")
                },
            );
            return Err(r.with_hint(if untrusted {
                "give the issuing CA with --ca-file, or fix the DC's certificate (its name must be a subject alternative name)"
            } else {
                "check ldap_url; use ldaps:// (636) or ldap:// with StartTLS (389)"
            }));
        }
    };
    tokio::spawn(async move {
        // The connection's errors surface in the operations that use it.
        let _ = conn.drive().await;
    });
    let bind = param(check, "bind");
    if bind.is_empty() {
        return Err(CheckResult::new(
            check,
            Outcome::NotRun,
            "ldap_bind is empty, and this build has no Kerberos (GSSAPI) bind",
        )
        .with_hint("set ldap_bind (DOMAIN\\user or user@domain) and store its password with `mfa-rollout secret set ldap_password`"));
    }
    let password = match crate::secrets::get(&domain, "ldap_password") {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Err(CheckResult::new(
                check,
                Outcome::NotRun,
                format!("no password stored for {bind}"),
            )
            .with_hint("store it with `mfa-rollout secret set ldap_password`"));
        }
        Err(e) => return Err(CheckResult::new(check, Outcome::NotRun, e.to_string())),
    };
    let bound = ldap.with_timeout(timeout).simple_bind(bind, &password).await;
    drop(password);
    match bound
        .map_err(|e| describe(&e))
        .and_then(|r| if r.rc == 0 { Ok(()) } else { Err(describe_rc(r.rc, &r.text)) })
    {
        Ok(()) => {}
        Err(why) => {
            let wrong = why.contains("result 49");
            let r = CheckResult::new(
                check,
                if wrong { Outcome::Fail } else { Outcome::Error },
                if wrong {
                    format!("{server}: bind as {bind} refused: wrong password or unknown account")
                } else {
                    format!("{server}: bind as {bind} failed: {why}")
                },
            );
            return Err(r.with_hint(if wrong {
                "store the right password with `mfa-rollout secret set ldap_password`, or fix ldap_bind"
            } else {
                "check that the DC accepts simple binds over this transport"
            }));
        }
    }
    // Is this Active Directory? (LDAP_CAP_ACTIVE_DIRECTORY_OID in the rootDSE.)
    let mut dir = Dir { ldap, base: base_dn(&domain), server, transport, timeout, ad: true };
    let mut caps = Vec::new();
    let probed = dir
        .each_below("", Scope::Base, "(objectClass=*)", &["supportedCapabilities"], &mut |e| {
            caps.extend(e.attrs.into_values().flatten());
        })
        .await;
    if let Err(why) = probed {
        return Err(CheckResult::error(
            check,
            format!("{}: reading the rootDSE: {why}", dir.server),
        ));
    }
    dir.ad = caps.iter().any(|c| c == "1.2.840.113556.1.4.800");
    Ok(dir)
}

/// Finds a DC through `_ldap._tcp.<domain>` SRV records; `StartTLS` on the port they name.
async fn discover(domain: &str, dns_server: &str, opts: &RunOptions) -> Result<String, String> {
    let resolver = crate::checks::dns::resolver(dns_server, opts)?;
    let name = format!("_ldap._tcp.{}.", domain.trim_end_matches('.'));
    let asked = if dns_server.is_empty() {
        "the system resolver".to_string()
    } else {
        format!("DNS server {dns_server}")
    };
    let answer =
        match tokio::time::timeout(opts.timeout.mul_f32(0.5), resolver.srv_lookup(name.as_str()))
            .await
        {
            Err(_) => return Err(format!("{asked} did not answer for {name}")),
            Ok(Err(e)) if e.is_no_records_found() || e.is_nx_domain() => {
                return Err(format!("{asked} has no SRV record {name}"));
            }
            Ok(Err(e)) => return Err(format!("{asked}: {e}")),
            Ok(Ok(a)) => a,
        };
    let mut records: Vec<_> = answer.iter().collect();
    records.sort_by_key(|r| (r.priority(), std::cmp::Reverse(r.weight())));
    let first = records.first().ok_or("no SRV records")?;
    let target = first.target().to_utf8();
    Ok(format!("ldap://{}:{}", target.trim_end_matches('.'), first.port()))
}

/// `ldaps://host:port/...` → (scheme, host, port).
fn split_url(url: &str) -> Option<(String, String, Option<u16>)> {
    let (scheme, rest) = url.split_once("://")?;
    let hostport = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, Some(p.parse().ok()?)),
        None => (hostport, None),
    };
    if host.is_empty() {
        return None;
    }
    Some((scheme.to_ascii_lowercase(), host.to_string(), port))
}

/// Windows FILETIME (100 ns since 1601) → Unix seconds.
pub fn filetime_to_unix(ft: i64) -> i64 {
    ft / 10_000_000 - 11_644_473_600
}
