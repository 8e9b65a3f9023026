//! The `smtp` check: the mail relay greets this machine, answers EHLO, offers STARTTLS and
//! completes it with a certificate judged as the `tls` check judges one, then (over TLS)
//! names its AUTH mechanisms and, when asked, accepts the sender and a recipient. It never
//! sends a message: it ends with RSET and QUIT.
//!
//! A hand-written dialogue rather than an SMTP library: the check needs each step's reply
//! (a library's transport hides them behind one error), every read bounded in size and
//! time, and the STARTTLS upgrade through `tls.rs`'s capture verifier so an invalid
//! certificate is still reported. The dialogue is a few commands; see `Dialogue`.

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::time::Instant;

use super::http::handshake_failed;
use super::net::{self, Capped, Finding, Target};
use super::{CheckResult, Outcome, Planned, RunOptions, tls};

// LIMITATION: STARTTLS only. A relay that speaks TLS from the first byte (port 465) looks
// silent to this check; the MFA server's mail settings use STARTTLS on 25 or 587.
// LIMITATION: AUTH is reported (the mechanisms offered over TLS), not tried: the runbook
// keeps no relay password.

/// Longest reply line accepted (RFC 5321 allows 512 octets; servers stretch it).
const MAX_LINE: usize = 4096;
/// Most lines in one multi-line reply.
const MAX_LINES: usize = 100;

/// Splits `host[:port]` (or `[v6]:port`); the port defaults to 25.
pub fn split_host_port(text: &str) -> Result<(String, u16), String> {
    let text = text.trim();
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (h, p) = rest.split_once(']').ok_or("the IPv6 address is not closed with `]`")?;
        (h, p.strip_prefix(':'))
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            _ => (text, None),
        }
    };
    if host.is_empty() {
        return Err("no host is given".into());
    }
    let port = match port {
        None => 25,
        Some(p) => p.parse::<u16>().map_err(|_| format!("the port `{p}` is not a number"))?,
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// One SMTP reply: its code and its lines' text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn text(&self) -> String {
        net::clean(&format!("{} {}", self.code, self.lines.first().cloned().unwrap_or_default()))
    }

    /// The EHLO keywords (every line but the greeting), upper-cased first word kept whole.
    fn extensions(&self) -> Vec<String> {
        self.lines.iter().skip(1).map(|l| net::clean(l)).filter(|l| !l.is_empty()).collect()
    }
}

/// Why a reply could not be read.
enum ReadError {
    Deadline,
    Closed,
    TooLong,
    Malformed(String),
    Io(std::io::Error),
}

/// A command-and-reply session over any stream, with a read buffer.
struct Dialogue<S> {
    stream: S,
    buf: Vec<u8>,
    deadline: Instant,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Dialogue<S> {
    fn new(stream: S, deadline: Instant) -> Self {
        Self { stream, buf: Vec::new(), deadline }
    }

    async fn send(&mut self, line: &str) -> Result<(), ReadError> {
        let write = async {
            self.stream.write_all(format!("{line}\r\n").as_bytes()).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout_at(self.deadline, write).await {
            Err(_) => Err(ReadError::Deadline),
            Ok(Err(e)) => Err(ReadError::Io(e)),
            Ok(Ok(())) => Ok(()),
        }
    }

    async fn line(&mut self) -> Result<String, ReadError> {
        let mut chunk = [0u8; 1024];
        loop {
            if let Some(end) = self.buf.iter().position(|b| *b == b'\n') {
                let raw: Vec<u8> = self.buf.drain(..=end).collect();
                let text = String::from_utf8_lossy(&raw);
                return Ok(text.trim_end_matches(['\r', '\n']).to_string());
            }
            if self.buf.len() > MAX_LINE {
                return Err(ReadError::TooLong);
            }
            let n = match tokio::time::timeout_at(self.deadline, self.stream.read(&mut chunk)).await
            {
                Err(_) => return Err(ReadError::Deadline),
                Ok(Err(e)) => return Err(ReadError::Io(e)),
                Ok(Ok(n)) => n,
            };
            if n == 0 {
                return Err(ReadError::Closed);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn reply(&mut self) -> Result<Reply, ReadError> {
        let mut lines = Vec::new();
        loop {
            let line = self.line().await?;
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .filter(|c| (200..600).contains(c))
                .ok_or_else(|| {
                    ReadError::Malformed(net::clean(&line.chars().take(40).collect::<String>()))
                })?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line.get(4..).unwrap_or_default().to_string());
            if !more {
                return Ok(Reply { code, lines });
            }
            if lines.len() >= MAX_LINES {
                return Err(ReadError::TooLong);
            }
        }
    }

    async fn command(&mut self, line: &str) -> Result<Reply, ReadError> {
        self.send(line).await?;
        self.reply().await
    }
}

/// Runs an `smtp` check: `host` (host[:port], port 25 by default), optional `from` (a
/// sender to try with MAIL FROM) and `rcpt` (a recipient to try with RCPT TO).
pub async fn run(check: &Planned, opts: &RunOptions) -> CheckResult {
    let deadline = net::deadline(opts);
    let (host, port) = match split_host_port(check.params.get("host").map_or("", String::as_str)) {
        Ok(hp) => hp,
        Err(why) => {
            return CheckResult::error(check, format!("the relay `host` is unusable: {why}"));
        }
    };
    let target = Target::new(&host, port, opts);
    let mut result = CheckResult::new(check, Outcome::Pass, "");
    result.put("host", &host);
    result.put("port", &port.to_string());
    result.put("address", &target.dialled());
    let mut findings = Vec::new();
    dialogue(check, opts, &target, deadline, &mut result, &mut findings).await;
    let cn = result.evidence.get("subject_cn").cloned().unwrap_or_default();
    let auth = result.evidence.get("auth").cloned().unwrap_or_default();
    net::conclude(
        result,
        &findings,
        format!(
            "{host}:{port} greets, offers STARTTLS, certificate {cn} trusted; AUTH over TLS: {auth}"
        ),
    )
}

async fn dialogue(
    check: &Planned,
    opts: &RunOptions,
    target: &Target,
    deadline: Instant,
    result: &mut CheckResult,
    findings: &mut Vec<Finding>,
) {
    let stream = match net::connect(target, deadline).await {
        Ok(s) => s,
        Err(e) => {
            let outcome =
                if e == net::ConnectFailure::NoAnswer { Outcome::Error } else { Outcome::Fail };
            findings.push(Finding::new(
                outcome,
                e.describe(target),
                "check the relay's name and port (smtp_host), and that the firewall lets this server reach it",
            ));
            return;
        }
    };
    let (stream, meter) = Capped::new(stream);
    let mut plain = Dialogue::new(stream, deadline);
    let fail = |stage: &str, e: ReadError, meter: &net::Meter| -> Finding {
        match e {
            ReadError::Deadline => net::stalled(stage, meter, target),
            ReadError::Io(_) if meter.over_cap() => net::stalled(stage, meter, target),
            ReadError::TooLong => Finding::fail(
                format!(
                    "{}: the reply to {stage} exceeds the limits ({MAX_LINE} bytes a line, {MAX_LINES} lines)",
                    target.dialled()
                ),
                "check what really listens on that port",
            ),
            ReadError::Closed => Finding::fail(
                format!("{} closed the connection during {stage}", target.dialled()),
                "the relay drops this client: check its connection filters for this server's address",
            ),
            ReadError::Malformed(line) => Finding::fail(
                format!(
                    "{} does not speak SMTP: during {stage} it sent `{line}`",
                    target.dialled()
                ),
                "check the relay's port in smtp_host",
            ),
            ReadError::Io(err) => Finding::fail(
                format!("{}: {stage} failed: {}", target.dialled(), net::clean(&err.to_string())),
                "the connection was cut: check the relay and anything in the path",
            ),
        }
    };

    let banner = match plain.reply().await {
        Ok(r) => r,
        Err(e) => return findings.push(fail("the greeting", e, &meter)),
    };
    result.put("banner", &banner.text());
    if banner.code != 220 {
        return findings.push(refused("greets this client with", &banner, "allow this server's address on the relay (its receive connector or relay restrictions)"));
    }
    let me = ehlo_name();
    let ehlo = match plain.command(&format!("EHLO {me}")).await {
        Ok(r) => r,
        Err(e) => return findings.push(fail("EHLO", e, &meter)),
    };
    if ehlo.code != 250 {
        return findings.push(refused(
            "refuses EHLO",
            &ehlo,
            "the relay must speak ESMTP (EHLO) to offer STARTTLS",
        ));
    }
    let before = ehlo.extensions();
    result.put("extensions", &before.join(", "));
    if !before.iter().any(|e| e.eq_ignore_ascii_case("STARTTLS")) {
        let _ = plain.command("QUIT").await;
        return findings.push(Finding::fail(
            format!("{} does not offer STARTTLS", target.dialled()),
            "enable TLS on the relay with a certificate naming it; without it, user emails and any relay password cross the network in clear",
        ));
    }
    let go = match plain.command("STARTTLS").await {
        Ok(r) => r,
        Err(e) => return findings.push(fail("STARTTLS", e, &meter)),
    };
    if go.code != 220 {
        return findings.push(refused(
            "offers STARTTLS but refuses it with",
            &go,
            "check the relay's TLS certificate binding",
        ));
    }
    if !plain.buf.is_empty() {
        return findings.push(Finding::fail(
            format!("{} sent data after its STARTTLS reply, before TLS began", target.dialled()),
            "a broken relay, or something in the path tampering with the session: check the relay and any mail filter in front of it",
        ));
    }

    let Ok((handshake, chain)) =
        tokio::time::timeout_at(deadline, tls::handshake(plain.stream, &target.name)).await
    else {
        return findings.push(net::stalled("the TLS handshake", &meter, target));
    };
    let session = match handshake {
        Ok(s) => s,
        Err(e) => return findings.push(handshake_failed(&e, &meter, target)),
    };
    result.put("tls_version", &tls::version(&session));
    match tls::assess(&chain, std::slice::from_ref(&target.name), opts) {
        Ok(v) => {
            for (k, value) in &v.evidence {
                result.put(k, value);
            }
            for (problem, hint) in &v.problems {
                findings.push(Finding::fail(
                    format!("certificate {}: {problem}", v.cn()),
                    hint.clone(),
                ));
            }
            if let Some((warning, hint)) = &v.warning {
                findings.push(Finding::new(
                    Outcome::Warn,
                    format!("certificate {}: {warning}", v.cn()),
                    hint.clone(),
                ));
            }
        }
        Err(e) => findings.push(Finding::fail(e, "check the relay's certificate")),
    }

    let mut secure = Dialogue::new(session, deadline);
    let ehlo = match secure.command(&format!("EHLO {me}")).await {
        Ok(r) => r,
        Err(e) => return findings.push(fail("EHLO over TLS", e, &meter)),
    };
    if ehlo.code != 250 {
        return findings.push(refused(
            "refuses EHLO over TLS with",
            &ehlo,
            "check the relay's TLS settings",
        ));
    }
    let auth = ehlo
        .extensions()
        .iter()
        .find_map(|e| {
            let upper = e.to_ascii_uppercase();
            upper.strip_prefix("AUTH").map(|m| m.trim_start_matches(['=', ' ']).to_string())
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "none offered".into());
    result.put("auth", &auth);

    if let Some(from) = check.params.get("from").filter(|f| !f.trim().is_empty()) {
        match secure.command(&format!("MAIL FROM:<{}>", from.trim())).await {
            Ok(r) if r.code == 250 => result.put("mail_from", &r.text()),
            Ok(r) => {
                result.put("mail_from", &r.text());
                findings.push(refused(&format!("refuses the sender {from} with"), &r, "allow this server to send as that address on the relay (relay restrictions, sender checks), or correct email_from"));
            }
            Err(e) => return findings.push(fail("MAIL FROM", e, &meter)),
        }
        if let Some(rcpt) = check.params.get("rcpt").filter(|r| !r.trim().is_empty()) {
            match secure.command(&format!("RCPT TO:<{}>", rcpt.trim())).await {
                Ok(r) if r.code == 250 || r.code == 251 => result.put("rcpt_to", &r.text()),
                Ok(r) => {
                    result.put("rcpt_to", &r.text());
                    findings.push(refused(&format!("refuses to relay to {rcpt} with"), &r, "allow this server's address to relay on the relay (its receive connector or relay restrictions)"));
                }
                Err(e) => return findings.push(fail("RCPT TO", e, &meter)),
            }
        }
        let _ = secure.command("RSET").await;
    }
    // Best effort, and never past the deadline: the verdict is already in.
    let _ = secure.send("QUIT").await;
}

/// A reply that refuses: a finding naming the relay's own words.
fn refused(what: &str, reply: &Reply, hint: &str) -> Finding {
    let outcome = if reply.code >= 400 { Outcome::Fail } else { Outcome::Warn };
    Finding::new(outcome, format!("the relay {what} {}", reply.text()), hint)
}

/// This machine's name for EHLO: the host name if it is a plausible domain, else an
/// address-literal-free placeholder the relay can still log.
fn ehlo_name() -> String {
    let name = gethostname::gethostname().to_string_lossy().to_string();
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
        name
    } else {
        "mfa-rollout.invalid".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_host_and_port() {
        assert_eq!(
            split_host_port("smtp.corp.contoso.com").unwrap(),
            ("smtp.corp.contoso.com".into(), 25)
        );
        assert_eq!(
            split_host_port("SMTP.corp.contoso.com:587").unwrap(),
            ("smtp.corp.contoso.com".into(), 587)
        );
        assert_eq!(split_host_port("[::1]:2525").unwrap(), ("::1".into(), 2525));
        assert!(split_host_port("smtp:x").is_err());
        assert!(split_host_port("").is_err());
    }

    #[tokio::test]
    async fn reads_multi_line_replies_within_limits() {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        server
            .write_all(b"250-smtp.test\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n")
            .await
            .unwrap();
        let mut d = Dialogue::new(client, deadline);
        let r = d.reply().await.ok().unwrap();
        assert_eq!(r.code, 250);
        assert_eq!(r.extensions(), ["STARTTLS", "AUTH PLAIN LOGIN"]);

        let feeder = tokio::spawn(async move {
            for _ in 0..10_000 {
                if server.write_all(b"250-filler\r\n").await.is_err() {
                    break;
                }
            }
        });
        assert!(matches!(d.reply().await, Err(ReadError::TooLong)));
        drop(d);
        feeder.await.unwrap();
    }
}
