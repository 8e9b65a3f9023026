//! The `http-basic` check (the Web Service SDK answers 401 with a Basic challenge without
//! credentials and 200 with the SDK account) and the `https` check (a page, such as the
//! User Portal, answers over TLS with a certificate naming its host).
//!
//! Credentials go out only over TLS, to the URL's own name, after the certificate has been
//! judged trusted and naming that host, and only when the server asked for Basic. The
//! password never reaches a result, a log line or a panic message: every result is
//! scrubbed of it (and of its Base64 form) before it leaves this file.

use base64::Engine as _;

use super::http_client::{self, HttpError, Response, Scheme, Url};
use super::net::{self, Capped, Finding, Target};
use super::tls::{self, Verdict};
use super::{CheckResult, Outcome, Planned, RunOptions};

/// The SDK's path, for hints.
const SDK_PATH: &str = "/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx";
/// Same-host redirects a page check follows (each one named in the evidence).
const MAX_HOPS: usize = 3;

/// What one request brought back.
struct Answer {
    response: Response,
    verdict: Option<Verdict>,
    tls_version: String,
}

/// Runs an `http-basic` check: `url`, `user` (DOMAIN\user), optional `secret` (the name of
/// the secret holding the password, `sdk_password` by default) and `group` (the access
/// group, for hints).
pub async fn run_basic(check: &Planned, opts: &RunOptions) -> CheckResult {
    let deadline = net::deadline(opts);
    let url_text = check.params.get("url").cloned().unwrap_or_default();
    let user = check.params.get("user").cloned().unwrap_or_default();
    let secret_name = check.params.get("secret").map_or("sdk_password", String::as_str);
    let group = check.params.get("group").map_or("the PhoneFactor Admins group", String::as_str);
    let mut result = CheckResult::new(check, Outcome::Pass, "");
    result.put("url", &shown_url(&url_text));
    result.put("account", &user);
    result.put("auth_status", "not tried (see the findings without credentials)");

    let url = match Url::parse(&url_text) {
        Ok(u) => u,
        Err(why) => {
            return net::conclude(
                result,
                &[Finding::fail(
                    format!("the SDK URL `{}` is not usable: {why}", shown_url(&url_text)),
                    format!("the SDK URL is https://<MFA server name>{SDK_PATH}"),
                )],
                String::new(),
            );
        }
    };
    if is_placeholder(&url) {
        return net::conclude(
            result,
            &[Finding::fail(
                format!("the SDK URL `{url_text}` is the installer's placeholder: it is not set"),
                format!(
                    "set it to https://<MFA server name>{SDK_PATH} (pfup_pfwssdk_PfWsSdk in the portal's web.config, WebServiceSdkUrl in the adapter config)"
                ),
            )],
            String::new(),
        );
    }

    let mut findings = url_findings(&url);
    let target = Target::new(&url.host, url.port, opts);
    result.put("address", &target.dialled());

    let anonymous = match fetch(&url, &target, opts, deadline, None).await {
        Ok(a) => a,
        Err(f) => {
            findings.push(f);
            return net::conclude(result, &findings, String::new());
        }
    };
    let cert_ok = note_tls(&mut result, &mut findings, &anonymous);
    let status = &anonymous.response;
    result.put("anonymous_status", &status_line(status));
    let offered = http_client::schemes(status);
    if !offered.is_empty() {
        result.put("challenge", &net::clean(&offered.join(", ")));
    }
    if let Some(realm) = http_client::basic_realm(status) {
        result.put("realm", &realm);
    }
    let basic = offered.iter().any(|s| s.eq_ignore_ascii_case("basic"));
    match status.status {
        401 if basic => {}
        401 => findings.push(Finding::fail(
            format!(
                "401 without credentials but no Basic challenge (offered: {})",
                if offered.is_empty() { "none".into() } else { net::clean(&offered.join(", ")) }
            ),
            "enable Basic Authentication on the MultiFactorAuthWebServiceSdk application in IIS (the Web-Basic-Auth role service must be installed); the portal and the adapter only speak Basic",
        )),
        200..=299 => findings.push(Finding::fail(
            format!("{} without credentials: anyone can call the SDK", status_line(status)),
            "in IIS, disable Anonymous Authentication and enable Basic Authentication on the MultiFactorAuthWebServiceSdk application",
        )),
        _ => findings.push(unexpected(status, &url, &mut result)),
    }

    let may_send = basic
        && cert_ok
        && url.scheme == Scheme::Https
        && !url.host_is_address()
        && findings.iter().all(|f| f.outcome < Outcome::NotRun);
    let mut secret = None;
    if may_send {
        match password(check.domain.clone(), secret_name).await {
            Ok(p) => secret = Some(p),
            Err(f) => {
                result.put("auth_status", "not tried (no password)");
                findings.push(f);
            }
        }
    }

    if let Some(password) = &secret {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let authorization = format!("Basic {token}");
        match fetch(&url, &target, opts, deadline, Some(&authorization)).await {
            Err(f) => findings.push(f),
            Ok(answer) => {
                let r = &answer.response;
                result.put("auth_status", &status_line(r));
                match r.status {
                    200 => {}
                    401 => findings.push(Finding::fail(
                        format!("401 with {user}: the password is wrong, or the account is disabled, locked or not in {group}"),
                        format!(
                            "check the stored password (`mfa-rollout secret set {secret_name}`) and that {user} is enabled and a member of {group}"
                        ),
                    )),
                    403 => findings.push(Finding::fail(
                        format!("403 with {user}: the account signed in but may not use the SDK"),
                        format!("add {user} to {group}, and check the application's authorization rules in IIS"),
                    )),
                    _ => findings.push(unexpected(r, &url, &mut result)),
                }
            }
        }
    }

    let pass = anonymous.verdict.as_ref().map_or_else(String::new, |v| {
        format!("; certificate {} trusted, {} days left", v.cn(), v.days_left)
    });
    let pass = format!("401 Basic without credentials, 200 with {user}{pass}");
    let done = net::conclude(result, &findings, pass);
    match &secret {
        Some(p) => redact(done, p, &user),
        None => done,
    }
}

/// Runs an `https` check: `url` must answer over TLS with a certificate naming its host;
/// same-host redirects are followed (at most three, each named in the evidence).
pub async fn run_page(check: &Planned, opts: &RunOptions) -> CheckResult {
    let deadline = net::deadline(opts);
    let url_text = check.params.get("url").cloned().unwrap_or_default();
    let mut result = CheckResult::new(check, Outcome::Pass, "");
    result.put("url", &shown_url(&url_text));
    let mut url = match Url::parse(&url_text) {
        Ok(u) => u,
        Err(why) => {
            return net::conclude(
                result,
                &[Finding::fail(
                    format!("the URL `{}` is not usable: {why}", shown_url(&url_text)),
                    "give an https:// URL with the name users browse to",
                )],
                String::new(),
            );
        }
    };
    let mut findings = url_findings_page(&url);
    let target = Target::new(&url.host, url.port, opts);
    result.put("address", &target.dialled());

    let mut hops: Vec<String> = Vec::new();
    let mut first_tls = true;
    loop {
        let answer = match fetch(&url, &target, opts, deadline, None).await {
            Ok(a) => a,
            Err(f) => {
                findings.push(f);
                break;
            }
        };
        if first_tls {
            note_tls(&mut result, &mut findings, &answer);
            first_tls = false;
        }
        let r = &answer.response;
        result.put("status", &status_line(r));
        match r.status {
            200..=299 => break,
            301 | 302 | 303 | 307 | 308 => {
                let location = net::clean(r.first("location").unwrap_or_default());
                hops.push(format!("{} → {location}", r.status));
                match follow(&url, &location) {
                    Some(next) if hops.len() <= MAX_HOPS => url = next,
                    Some(_) => {
                        findings.push(Finding::fail(
                            format!("more than {MAX_HOPS} redirects"),
                            "a redirect loop: check IIS HTTP Redirect and URL Rewrite rules",
                        ));
                        break;
                    }
                    None => {
                        findings.push(Finding::fail(
                            format!("redirects to `{location}`, away from https://{}", url.host),
                            "users must stay on the portal's https name: remove the redirect, or point the portal URL at its final address",
                        ));
                        break;
                    }
                }
            }
            401 | 403 => {
                findings.push(Finding::new(
                    Outcome::Warn,
                    format!("{}: the page asks for credentials or refuses", status_line(r)),
                    "the portal's sign-in page should open without credentials: check Anonymous Authentication on its virtual directory",
                ));
                break;
            }
            404 => {
                findings.push(Finding::fail(
                    format!("404 Not Found: nothing at {}", url.path_only()),
                    "install the User Portal into that virtual directory, or correct portal_vdir",
                ));
                break;
            }
            _ => {
                findings.push(Finding::fail(
                    format!("{} from {}", status_line(r), url.path_only()),
                    "read the IIS log and the Application event log on the server; a portal that cannot reach the SDK fails this way",
                ));
                break;
            }
        }
    }
    if !hops.is_empty() {
        result.put("redirects", &hops.join(", "));
    }
    let status = result.evidence.get("status").cloned().unwrap_or_default();
    let cert = result.evidence.get("subject_cn").cloned().unwrap_or_default();
    let days = result.evidence.get("days_left").cloned().unwrap_or_default();
    net::conclude(
        result,
        &findings,
        format!("{status}; certificate {cert} names {}, trusted, {days} days left", target.name),
    )
}

/// Findings about an SDK URL before any connection.
fn url_findings(url: &Url) -> Vec<Finding> {
    let mut out = url_findings_page(url);
    if !url.path_only().to_ascii_lowercase().ends_with("/pfwssdk.asmx") {
        out.push(Finding::fail(
            format!(
                "the URL ends in `{}`, not PfWsSdk.asmx: AD FS and the portal get HTTP 405 from it",
                url.path_only()
            ),
            format!("use https://{}{SDK_PATH}", url.host),
        ));
    }
    out
}

/// Findings about any URL the checks fetch: plain http, an address instead of a name.
fn url_findings_page(url: &Url) -> Vec<Finding> {
    let mut out = Vec::new();
    if url.scheme == Scheme::Http {
        out.push(Finding::fail(
            "the URL is plain http: passwords would cross the network unencrypted",
            format!("use https://{}{}", url.host, url.path_only()),
        ));
    }
    if url.host_is_address() {
        out.push(Finding::fail(
            format!("the URL names the address {} instead of a name on the certificate", url.host),
            "use the server's DNS name, the one on its certificate",
        ));
    }
    out
}

/// The installer's placeholders: `localhost` (as in `http://localhost:4898/PfWsSdk.asmx`)
/// and the documentation's `www.contoso.com`.
fn is_placeholder(url: &Url) -> bool {
    matches!(url.host.as_str(), "localhost" | "127.0.0.1" | "::1" | "www.contoso.com")
}

/// A URL for display, with anything before an `@` in the authority masked.
fn shown_url(text: &str) -> String {
    let (scheme, rest) = text.split_once("://").unwrap_or(("", text));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{}", &rest[end..]),
        None => net::clean(text),
    }
}

/// Adds the certificate's evidence and findings; true when a client would accept it.
fn note_tls(result: &mut CheckResult, findings: &mut Vec<Finding>, answer: &Answer) -> bool {
    let Some(v) = &answer.verdict else { return false };
    for (k, value) in &v.evidence {
        result.put(k, value);
    }
    result.put("tls_version", &answer.tls_version);
    for (problem, hint) in &v.problems {
        findings.push(Finding::fail(format!("certificate {}: {problem}", v.cn()), hint.clone()));
    }
    if let Some((warning, hint)) = &v.warning {
        findings.push(Finding::new(
            Outcome::Warn,
            format!("certificate {}: {warning}", v.cn()),
            hint.clone(),
        ));
    }
    v.problems.is_empty()
}

/// The finding for a status other than the ones a check expects.
fn unexpected(r: &Response, url: &Url, result: &mut CheckResult) -> Finding {
    let line = status_line(r);
    match r.status {
        301 | 302 | 303 | 307 | 308 => {
            let location = net::clean(r.first("location").unwrap_or_default());
            result.put("location", &location);
            Finding::fail(
                format!(
                    "{line}: redirects to `{location}`; the portal and the AD FS adapter do not follow redirects"
                ),
                format!(
                    "point the SDK URL at the final address, https://{}{SDK_PATH}, or remove the redirect in IIS",
                    url.host
                ),
            )
        }
        404 => Finding::fail(
            format!(
                "404 Not Found at {}: the Web Service SDK is not installed, or the path is wrong",
                url.path_only()
            ),
            format!(
                "install it in the MFA Server console (Web Service SDK > Install Web Service SDK) on {}, and use the path {SDK_PATH}",
                url.host
            ),
        ),
        405 => Finding::fail(
            format!(
                "405 Method Not Allowed at {}: the URL does not reach the SDK's .asmx service",
                url.path_only()
            ),
            format!("the URL must end in PfWsSdk.asmx: https://{}{SDK_PATH}", url.host),
        ),
        403 => Finding::fail(
            format!("{line}: the server refuses the request"),
            "check the application's SSL settings in IIS (client certificates: Ignore) and any IP address restrictions",
        ),
        500..=599 => Finding::fail(
            format!("{line}: the server failed"),
            format!("read the IIS log and the Application event log on {}", url.host),
        ),
        _ => Finding::fail(
            format!("unexpected answer {line}"),
            format!("check that {} really serves the Web Service SDK at {SDK_PATH}", url.host),
        ),
    }
}

fn status_line(r: &Response) -> String {
    if r.reason.is_empty() { r.status.to_string() } else { format!("{} {}", r.status, r.reason) }
}

/// Where a redirect leads, when it stays on https and on the same host name.
fn follow(from: &Url, location: &str) -> Option<Url> {
    if location.starts_with('/') && !location.starts_with("//") {
        return Some(Url { path: location.to_string(), ..from.clone() });
    }
    let next = Url::parse(location).ok()?;
    (next.scheme == Scheme::Https && next.host == from.host).then_some(next)
}

/// The secret's value: from the environment or the keyring (which may block, so off the
/// runtime's threads). Missing is `not-run`, naming both ways to provide it.
async fn password(domain: Option<String>, name: &str) -> Result<String, Finding> {
    let name_owned = name.to_string();
    let looked_up = tokio::task::spawn_blocking(move || match &domain {
        Some(d) => crate::secrets::get(d, &name_owned),
        None => crate::secrets::check_name(&name_owned).map(|()| {
            std::env::var(crate::secrets::env_var(&name_owned)).ok().filter(|v| !v.is_empty())
        }),
    })
    .await;
    let how = format!(
        "store it with `mfa-rollout secret set {name}`, or set {} for this run",
        crate::secrets::env_var(name)
    );
    match looked_up {
        Ok(Ok(Some(p))) => Ok(p),
        Ok(Ok(None)) => Err(Finding::new(
            Outcome::NotRun,
            format!("the request with credentials did not run: no `{name}` is stored"),
            how,
        )),
        Ok(Err(e)) => Err(Finding::new(
            Outcome::NotRun,
            format!(
                "the request with credentials did not run: {}",
                e.to_string().lines().next().unwrap_or_default()
            ),
            how,
        )),
        Err(_) => Err(Finding::new(Outcome::Error, "the keyring lookup failed", how)),
    }
}

/// One GET on a fresh connection. With `authorization`, the request is sent only when the
/// server's certificate is trusted and names the URL's host.
async fn fetch(
    url: &Url,
    target: &Target,
    opts: &RunOptions,
    deadline: tokio::time::Instant,
    authorization: Option<&str>,
) -> Result<Answer, Finding> {
    let stream = net::connect(target, deadline).await.map_err(|e| {
        let outcome = if e == net::ConnectFailure::NoAnswer { Outcome::Error } else { Outcome::Fail };
        Finding::new(
            outcome,
            e.describe(target),
            match e {
                net::ConnectFailure::Unresolved(_) => {
                    "add the host's A record in DNS, or use --connect NAME=ADDR to test a specific node"
                }
                net::ConnectFailure::NoAnswer => {
                    "the host may be down or a firewall may drop the traffic; raise --timeout for a slow link"
                }
                _ => "check that IIS listens on that port (site bindings) and that the firewall lets it through",
            },
        )
    })?;
    let (stream, meter) = Capped::new(stream);
    let read_error = |e: HttpError, meter: &net::Meter| match e {
        HttpError::Deadline => net::stalled("the HTTP answer", meter, target),
        HttpError::Io(_) if meter.over_cap() => net::stalled("the HTTP answer", meter, target),
        HttpError::HeadersTooLarge | HttpError::TooManyHeaders => Finding::fail(
            format!("{}: {e}", target.dialled()),
            "the server floods its answer; check what really listens there",
        ),
        other => Finding::fail(
            format!("{}: {other}", target.dialled()),
            "check that the port serves the web site (IIS bindings) and nothing else in between",
        ),
    };

    if url.scheme == Scheme::Http {
        let mut stream = stream;
        let response = http_client::get(&mut stream, &url.host_header(), &url.path, None, deadline)
            .await
            .map_err(|e| read_error(e, &meter))?;
        return Ok(Answer { response, verdict: None, tls_version: String::new() });
    }

    let Ok((handshake, chain)) =
        tokio::time::timeout_at(deadline, tls::handshake(stream, &url.host)).await
    else {
        return Err(net::stalled("the TLS handshake", &meter, target));
    };
    let mut session = match handshake {
        Ok(s) => s,
        Err(e) => return Err(handshake_failed(&e, &meter, target)),
    };
    let verdict = tls::assess(&chain, std::slice::from_ref(&url.host), opts).map_err(|e| {
        Finding::fail(
            format!("{}: {e}", target.dialled()),
            "check the certificate bound to the site in IIS",
        )
    })?;
    if authorization.is_some() && !verdict.problems.is_empty() {
        return Err(Finding::fail(
            format!(
                "credentials not sent: this connection's certificate {} fails ({})",
                verdict.cn(),
                verdict.problems[0].0
            ),
            verdict.problems[0].1.clone(),
        ));
    }
    let tls_version = tls::version(&session);
    let response =
        http_client::get(&mut session, &url.host_header(), &url.path, authorization, deadline)
            .await
            .map_err(|e| read_error(e, &meter))?;
    Ok(Answer { response, verdict: Some(verdict), tls_version })
}

/// The finding for a TLS handshake that failed: plain http on the port, a flood, a reset.
pub(crate) fn handshake_failed(error: &str, meter: &net::Meter, target: &Target) -> Finding {
    if meter.saw_plain_http() {
        Finding::fail(
            format!("{} answers plain http, not https", target.dialled()),
            "bind https with the server's certificate on this port in IIS (Sites > Bindings); plain http would expose the password",
        )
    } else if meter.over_cap() {
        net::stalled("the TLS handshake", meter, target)
    } else if error.contains("HandshakePayloadTooLarge") {
        Finding::fail(
            format!(
                "{}: the server's certificate chain is larger than TLS allows (64 KiB)",
                target.dialled()
            ),
            "bind a certificate with its usual chain (leaf and intermediates only); check what really listens there",
        )
    } else if error.contains("reset by peer") {
        Finding::fail(
            format!(
                "{}: the server reset the connection during the TLS handshake",
                target.dialled()
            ),
            "the service, a firewall or an IPS cuts TLS from this client: check the binding's TLS settings and anything in the path",
        )
    } else {
        Finding::fail(
            format!("{}: the TLS handshake failed ({})", target.dialled(), net::clean(error)),
            "the port may not speak TLS, no certificate may be bound to it, or the connection was cut; check the IIS binding and anything in the path",
        )
    }
}

/// Removes a password (and the Base64 credentials made from it) from a result.
fn redact(mut result: CheckResult, password: &str, user: &str) -> CheckResult {
    if password.is_empty() {
        return result;
    }
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let scrub = |text: &mut String| {
        for needle in [password, token.as_str()] {
            if text.contains(needle) {
                *text = text.replace(needle, "[redacted]");
            }
        }
    };
    scrub(&mut result.summary);
    scrub(&mut result.hint);
    for value in result.evidence.values_mut() {
        scrub(value);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders_and_url_problems() {
        for (text, placeholder) in [
            ("http://localhost:4898/PfWsSdk.asmx", true),
            ("https://www.contoso.com/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx", true),
            ("https://mfa.corp.contoso.com/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx", false),
        ] {
            assert_eq!(is_placeholder(&Url::parse(text).unwrap()), placeholder, "{text}");
        }
        let count = |text: &str| url_findings(&Url::parse(text).unwrap()).len();
        assert_eq!(
            count("https://mfa.corp.contoso.com/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx"),
            0
        );
        assert_eq!(
            count("https://mfa.corp.contoso.com/MultiFactorAuthWebServiceSdk/pfwssdk.ASMX?x"),
            0
        );
        assert_eq!(count("https://mfa.corp.contoso.com/MultiFactorAuthWebServiceSdk/"), 1);
        assert_eq!(
            count("http://mfa.corp.contoso.com/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx"),
            1
        );
        assert_eq!(count("http://10.0.0.5/x"), 3);
    }

    #[test]
    fn masks_credentials_in_urls() {
        assert_eq!(shown_url("https://u:pw@h.test/x?y"), "https://***@h.test/x?y");
        assert_eq!(shown_url("https://h.test/a@b"), "https://h.test/a@b");
    }

    #[test]
    fn follows_only_same_host_https() {
        let from = Url::parse("https://mfaweb.corp.contoso.com/MultiFactorAuth").unwrap();
        assert_eq!(follow(&from, "/MultiFactorAuth/").unwrap().path, "/MultiFactorAuth/");
        assert!(follow(&from, "https://mfaweb.corp.contoso.com:8443/MultiFactorAuth/").is_some());
        assert!(follow(&from, "http://mfaweb.corp.contoso.com/MultiFactorAuth/").is_none());
        assert!(follow(&from, "https://evil.test/").is_none());
        assert!(follow(&from, "//evil.test/").is_none());
    }

    #[test]
    fn redaction_removes_password_and_token() {
        let check = Planned {
            step: "s".into(),
            name: "n".into(),
            kind: "http-basic".into(),
            params: std::collections::BTreeMap::new(),
            not_run: None,
            domain: None,
        };
        let token = base64::engine::general_purpose::STANDARD.encode("CORP\\u:Pw-1");
        let mut r = CheckResult::new(&check, Outcome::Fail, "server echoed Pw-1");
        r.put("location", &format!("https://x/?a={token}"));
        let r = redact(r, "Pw-1", "CORP\\u");
        let text = format!("{r:?}");
        assert!(!text.contains("Pw-1") && !text.contains(&token), "{text}");
    }
}
