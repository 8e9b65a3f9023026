//! Network plumbing shared by the checks that speak a protocol (`http-basic`, `https`,
//! `smtp`, `tcp`): where a name is reached (`--connect`), a deadline inside the check's
//! timeout so that a slow or hostile server ends in a finding rather than being cut off
//! without one, a stream wrapper that caps and counts what a server may send, and the
//! wording of connection failures.
//!
//! Nothing here decides an outcome on its own; each check maps these facts to its findings.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{CheckResult, Outcome, RunOptions};

/// The most a server may send on one connection before the check gives up on it.
pub const MAX_RECEIVED: usize = 256 * 1024;

/// Longest text taken from a server into a summary or evidence.
const MAX_TEXT: usize = 200;

/// Where a name is reached: the name itself (SNI, Host header, certificate) and the
/// address and port actually dialled (from `--connect` when given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub address: String,
    pub port: u16,
}

impl Target {
    /// `name:port`, reached at the `--connect` address when one is given for `name`.
    pub fn new(name: &str, port: u16, opts: &RunOptions) -> Self {
        let mut target = Self { name: name.to_string(), address: name.to_string(), port };
        if let Some((addr, p)) = opts.connect.get(&name.to_ascii_lowercase()) {
            target.address.clone_from(addr);
            if let Some(p) = p {
                target.port = *p;
            }
        }
        target
    }

    /// `address:port`, with brackets around an IPv6 literal.
    pub fn dialled(&self) -> String {
        if self.address.contains(':') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }
}

/// The moment a check stops waiting and reports what it saw: 90% of the timeout (at most
/// one second short of it), so the finding arrives before the runner's own timeout.
pub fn deadline(opts: &RunOptions) -> Instant {
    let margin = (opts.timeout / 10).min(Duration::from_secs(1));
    Instant::now() + opts.timeout.saturating_sub(margin)
}

/// Why a TCP connection did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectFailure {
    Refused,
    Unresolved(String),
    /// No answer before the deadline: a dead host or a firewall that drops packets.
    NoAnswer,
    Other(String),
}

impl ConnectFailure {
    /// One line for a summary.
    pub fn describe(&self, target: &Target) -> String {
        let at = target.dialled();
        match self {
            Self::Refused => format!("nothing accepts connections on {at} (connection refused)"),
            Self::Unresolved(e) => format!("the name {} does not resolve ({e})", target.address),
            Self::NoAnswer => format!("no answer from {at} before the deadline"),
            Self::Other(e) => format!("cannot connect to {at}: {e}"),
        }
    }
}

/// Opens a TCP connection, giving up at `deadline`.
pub async fn connect(target: &Target, deadline: Instant) -> Result<TcpStream, ConnectFailure> {
    let attempt = TcpStream::connect((target.address.as_str(), target.port));
    match tokio::time::timeout_at(deadline, attempt).await {
        Err(_) => Err(ConnectFailure::NoAnswer),
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(e)) => Err(classify(&e)),
    }
}

fn classify(e: &std::io::Error) -> ConnectFailure {
    let text = e.to_string();
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => ConnectFailure::Refused,
        std::io::ErrorKind::TimedOut => ConnectFailure::NoAnswer,
        _ if text.contains("resolve")
            || text.contains("lookup")
            || text.contains("known")
            || text.contains("No address") =>
        {
            ConnectFailure::Unresolved(text)
        }
        _ => ConnectFailure::Other(text),
    }
}

/// What a connection has received so far: the byte count and the first bytes.
#[derive(Debug, Default)]
pub struct Meter {
    received: AtomicUsize,
    head: Mutex<Vec<u8>>,
}

impl Meter {
    /// Bytes received so far.
    pub fn received(&self) -> usize {
        self.received.load(Ordering::Relaxed)
    }

    /// True when the server sent more than [`MAX_RECEIVED`].
    pub fn over_cap(&self) -> bool {
        self.received() > MAX_RECEIVED
    }

    /// True when the first bytes received look like a plain HTTP answer.
    pub fn saw_plain_http(&self) -> bool {
        self.head.lock().is_ok_and(|h| h.starts_with(b"HTTP/"))
    }

    fn note(&self, bytes: &[u8]) {
        let before = self.received.fetch_add(bytes.len(), Ordering::Relaxed);
        if before < 16
            && let Ok(mut head) = self.head.lock()
        {
            let room = 16usize.saturating_sub(head.len());
            head.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }
}

/// A stream that counts what it reads and fails once a server has sent more than
/// [`MAX_RECEIVED`] bytes, so no server can make a check hold an unbounded amount.
pub struct Capped<S> {
    inner: S,
    meter: Arc<Meter>,
}

impl<S> Capped<S> {
    /// Wraps `inner`; the meter can be read while the stream is in use.
    pub fn new(inner: S) -> (Self, Arc<Meter>) {
        let meter = Arc::new(Meter::default());
        (Self { inner, meter: Arc::clone(&meter) }, meter)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Capped<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.meter.over_cap() {
            return Poll::Ready(Err(std::io::Error::other(format!(
                "the server sent more than {} KiB",
                MAX_RECEIVED / 1024
            ))));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            let fresh = &buf.filled()[before..];
            self.meter.note(fresh);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Capped<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Server-supplied text made safe for a summary or evidence: control characters dropped,
/// at most 200 characters.
pub fn clean(text: &str) -> String {
    let mut out: String =
        text.chars().filter(|c| !c.is_control()).take(MAX_TEXT).collect::<String>();
    if text.chars().filter(|c| !c.is_control()).nth(MAX_TEXT).is_some() {
        out.push('…');
    }
    out.trim().to_string()
}

/// One thing a check found, short of a pass: its outcome, a line, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub outcome: Outcome,
    pub summary: String,
    pub hint: String,
}

impl Finding {
    pub fn new(outcome: Outcome, summary: impl Into<String>, hint: impl Into<String>) -> Self {
        Self { outcome, summary: summary.into(), hint: hint.into() }
    }

    pub fn fail(summary: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(Outcome::Fail, summary, hint)
    }
}

/// Folds a check's findings into its result: the worst outcome wins, every finding's line
/// goes into the summary, and the hints of the worst ones are the hint. With no finding
/// the result passes with `pass_summary`.
pub fn conclude(
    mut result: CheckResult,
    findings: &[Finding],
    pass_summary: String,
) -> CheckResult {
    let Some(worst) = findings.iter().map(|f| f.outcome).max() else {
        result.outcome = Outcome::Pass;
        result.summary = pass_summary;
        result.hint.clear();
        return result;
    };
    result.outcome = worst;
    result.summary = findings.iter().map(|f| f.summary.as_str()).collect::<Vec<_>>().join("; ");
    let mut hints: Vec<&str> = Vec::new();
    for f in findings.iter().filter(|f| f.outcome == worst && !f.hint.is_empty()) {
        if !hints.contains(&f.hint.as_str()) {
            hints.push(&f.hint);
        }
    }
    result.hint = hints.join(" ");
    result
}

/// The finding for a stream that stopped before the server finished: silence is "could
/// not tell" (error), a trickle or an overflow is a finding against the server (fail).
pub fn stalled(what: &str, meter: &Meter, at: &Target) -> Finding {
    let got = meter.received();
    if meter.over_cap() {
        Finding::fail(
            format!("{} sent more than {} KiB during {what}", at.dialled(), MAX_RECEIVED / 1024),
            "the server floods its client; check what really listens on that address and port",
        )
    } else if got == 0 {
        Finding::new(
            Outcome::Error,
            format!("{} accepted the connection but sent nothing during {what}", at.dialled()),
            "the service may hang, or a firewall or proxy may hold the connection; raise --timeout for a slow link",
        )
    } else {
        Finding::fail(
            format!(
                "{} answered too slowly: only {got} byte(s) arrived before the deadline, during {what}",
                at.dialled()
            ),
            "the server trickles its answer; check its load and anything in the path (proxy, IPS), or raise --timeout for a slow link",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_mapping_keeps_the_name() {
        let mut opts = RunOptions::default();
        opts.connect.insert("mfa.corp.contoso.com".into(), ("127.0.0.1".into(), Some(8443)));
        let t = Target::new("MFA.corp.contoso.com", 443, &opts);
        assert_eq!(
            (t.name.as_str(), t.address.as_str(), t.port),
            ("MFA.corp.contoso.com", "127.0.0.1", 8443)
        );
        let t = Target::new("other.corp.contoso.com", 25, &opts);
        assert_eq!(t.dialled(), "other.corp.contoso.com:25");
        opts.connect.insert("v6.test".into(), ("::1".into(), None));
        assert_eq!(Target::new("v6.test", 443, &opts).dialled(), "[::1]:443");
    }

    #[test]
    fn cleans_server_text() {
        assert_eq!(clean("250 ok\r\n\u{1b}[31m"), "250 ok[31m");
        let long = "x".repeat(500);
        assert_eq!(clean(&long).chars().count(), MAX_TEXT + 1);
    }

    #[test]
    fn the_worst_finding_decides() {
        let check = super::super::Planned {
            step: "s".into(),
            name: "n".into(),
            kind: "k".into(),
            params: std::collections::BTreeMap::new(),
            not_run: None,
            domain: None,
        };
        let base = CheckResult::new(&check, Outcome::Pass, "");
        let r = conclude(base.clone(), &[], "all good".into());
        assert_eq!((r.outcome, r.summary.as_str()), (Outcome::Pass, "all good"));
        let r = conclude(
            base,
            &[
                Finding::new(Outcome::NotRun, "no password", "set it"),
                Finding::fail("404", "install it"),
            ],
            String::new(),
        );
        assert_eq!(r.outcome, Outcome::Fail);
        assert_eq!(r.summary, "no password; 404");
        assert_eq!(r.hint, "install it");
    }
}
