//! A small, bounded HTTP/1.1 client for the `http-basic` and `https` checks: one `GET` per
//! connection (`Connection: close`), the status line and headers read with limits on size
//! and count, the body never read, redirects never followed (the caller reports them).
//!
//! It does not open connections or judge certificates (see `http.rs` and `tls.rs`) and it
//! never logs a request: the `Authorization` header a caller passes stays in memory only.

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::time::Instant;

/// The most header bytes (status line included) a response may have.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The most header lines a response may have.
pub const MAX_HEADERS: usize = 100;

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// The parts of an absolute `http(s)://host[:port]/path` URL the checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub scheme: Scheme,
    /// Lower-case host name or address (without brackets).
    pub host: String,
    pub port: u16,
    /// True when the URL names its port.
    pub explicit_port: bool,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Url {
    /// Parses an absolute URL; the reason names what is wrong. A URL carrying credentials
    /// (`user:pass@`) is refused without repeating them.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (scheme, rest) = if let Some(r) = strip_prefix_ci(text, "https://") {
            (Scheme::Https, r)
        } else if let Some(r) = strip_prefix_ci(text, "http://") {
            (Scheme::Http, r)
        } else {
            return Err("it does not start with https:// or http://".into());
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err("it carries a user name or password before the host; remove them".into());
        }
        let (host, port) = if let Some(r) = authority.strip_prefix('[') {
            let (h, p) = r.split_once(']').ok_or("its IPv6 address is not closed with `]`")?;
            (h, p.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err("it names no host".into());
        }
        let default = if scheme == Scheme::Https { 443 } else { 80 };
        let port = match port {
            None => default,
            Some(p) => p.parse::<u16>().map_err(|_| format!("its port `{p}` is not a number"))?,
        };
        let path = path.split('#').next().unwrap_or_default();
        let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("its path holds spaces or control characters".into());
        }
        Ok(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            explicit_port: port != default,
            path,
        })
    }

    /// The `Host` header: the name, with the port when it is not the scheme's default.
    pub fn host_header(&self) -> String {
        let host =
            if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        if self.explicit_port { format!("{host}:{}", self.port) } else { host }
    }

    /// True when the host is an IP address rather than a name.
    pub fn host_is_address(&self) -> bool {
        self.host.parse::<std::net::IpAddr>().is_ok()
    }

    /// The path without its query, for comparisons.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// A response's status line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// Header names lower-cased, values trimmed, in order.
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// Every value of a header, in order.
    pub fn all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let name = name.to_ascii_lowercase();
        self.headers.iter().filter(move |(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// The first value of a header.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.all(name).next()
    }
}

/// Why no response could be read.
#[derive(Debug)]
pub enum HttpError {
    /// Reading or writing failed (reset, closed, the byte cap of the stream).
    Io(std::io::Error),
    /// The deadline passed first.
    Deadline,
    /// The connection closed before the headers ended.
    Closed,
    /// The header section exceeded [`MAX_HEADER_BYTES`].
    HeadersTooLarge,
    /// More than [`MAX_HEADERS`] header lines.
    TooManyHeaders,
    /// Not an HTTP/1.x response.
    Malformed(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "{e}"),
            Self::Deadline => f.write_str("no complete answer before the deadline"),
            Self::Closed => f.write_str("the server closed the connection before it answered"),
            Self::HeadersTooLarge => {
                write!(f, "the response headers exceed {} KiB", MAX_HEADER_BYTES / 1024)
            }
            Self::TooManyHeaders => write!(f, "the response has more than {MAX_HEADERS} headers"),
            Self::Malformed(why) => write!(f, "the answer is not HTTP/1.x ({why})"),
        }
    }
}

/// Sends `GET path` with `Host: host_header` (and `Authorization` when given) and reads
/// the response head, all before `deadline`.
pub async fn get<S>(
    stream: &mut S,
    host_header: &str,
    path: &str,
    authorization: Option<&str>,
    deadline: Instant,
) -> Result<Response, HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: mfa-rollout/{}\r\nAccept: */*\r\nConnection: close\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(value) = authorization {
        request.push_str("Authorization: ");
        request.push_str(value);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let sent = async {
        stream.write_all(request.as_bytes()).await?;
        stream.flush().await
    };
    match tokio::time::timeout_at(deadline, sent).await {
        Err(_) => return Err(HttpError::Deadline),
        Ok(Err(e)) => return Err(HttpError::Io(e)),
        Ok(Ok(())) => {}
    }
    drop(request);

    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        let head = read_head(stream, &mut buf, deadline).await?;
        let response = parse_head(&head)?;
        // 1xx answers precede the real one (101 would switch protocols: take it as final).
        if (100..200).contains(&response.status) && response.status != 101 {
            continue;
        }
        return Ok(response);
    }
}

/// Reads up to the blank line ending a header section; leftover bytes stay in `buf`.
async fn read_head<S>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> Result<Vec<u8>, HttpError>
where
    S: AsyncRead + Unpin,
{
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find_end(buf) {
            let head = buf[..end].to_vec();
            buf.drain(..end);
            return Ok(head);
        }
        if buf.len() > MAX_HEADER_BYTES {
            return Err(HttpError::HeadersTooLarge);
        }
        if count_lines(buf) > MAX_HEADERS + 1 {
            return Err(HttpError::TooManyHeaders);
        }
        let n = match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return Err(HttpError::Deadline),
            Ok(Err(e)) => return Err(HttpError::Io(e)),
            Ok(Ok(n)) => n,
        };
        if n == 0 {
            return Err(HttpError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The index just past `\r\n\r\n` (or `\n\n`).
fn find_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn count_lines(buf: &[u8]) -> usize {
    buf.split(|b| *b == b'\n').count() - 1
}

/// Parses a status line and headers (obsolete line folding joined to the line above).
fn parse_head(head: &[u8]) -> Result<Response, HttpError> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed(format!(
            "it begins `{}`",
            super::net::clean(&status_line.chars().take(40).collect::<String>())
        )));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..1000).contains(s))
        .ok_or_else(|| HttpError::Malformed("no three-digit status".into()))?;
    let reason = super::net::clean(parts.next().unwrap_or_default());

    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(HttpError::Malformed("a header line without `:`".into()));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    if headers.len() > MAX_HEADERS {
        return Err(HttpError::TooManyHeaders);
    }
    Ok(Response { status, reason, headers })
}

/// The authentication schemes named in `WWW-Authenticate` headers (`Basic`, `NTLM`, ...).
/// A header may hold several challenges separated by commas; parameters are skipped.
pub fn schemes(response: &Response) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in response.all("www-authenticate") {
        for part in value.split(',') {
            let first = part.split_whitespace().next().unwrap_or_default();
            // `realm="x"` and other auth-params contain `=`; a scheme is a bare token.
            if !first.is_empty()
                && !first.contains('=')
                && !out.iter().any(|s| s.eq_ignore_ascii_case(first))
            {
                out.push(first.to_string());
            }
        }
    }
    out
}

/// The realm of the Basic challenge, if it names one.
pub fn basic_realm(response: &Response) -> Option<String> {
    response.all("www-authenticate").find_map(|v| {
        let lower = v.to_ascii_lowercase();
        let at = lower.find("basic")?;
        let rest = &v[at..];
        let r = rest.find("realm=")?;
        let value = rest[r + 6..].trim_start_matches('"');
        Some(super::net::clean(value.split('"').next().unwrap_or_default()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u =
            Url::parse("https://MFA.corp.contoso.com/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx")
                .unwrap();
        assert_eq!(u.scheme, Scheme::Https);
        assert_eq!(
            (u.host.as_str(), u.port, u.explicit_port),
            ("mfa.corp.contoso.com", 443, false)
        );
        assert_eq!(u.path, "/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx");
        assert_eq!(u.host_header(), "mfa.corp.contoso.com");

        let u = Url::parse("http://localhost:4898/PfWsSdk.asmx?wsdl#x").unwrap();
        assert_eq!((u.scheme, u.port, u.explicit_port), (Scheme::Http, 4898, true));
        assert_eq!((u.path.as_str(), u.path_only()), ("/PfWsSdk.asmx?wsdl", "/PfWsSdk.asmx"));
        assert_eq!(u.host_header(), "localhost:4898");

        let u = Url::parse("https://[::1]:8443").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.path.as_str()), ("::1", 8443, "/"));
        assert!(u.host_is_address());
        assert_eq!(u.host_header(), "[::1]:8443");

        for bad in [
            "ftp://x/y",
            "mfa.corp.contoso.com/x",
            "https://:443/x",
            "https://h:port/x",
            "https://u:secret@h/x",
            "https://h/a b",
        ] {
            let e = Url::parse(bad).unwrap_err();
            assert!(!e.contains("secret"), "{bad}: {e}");
        }
    }

    #[test]
    fn parses_heads_and_challenges() {
        let head = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM, Basic realm=\"MFA SDK\"\r\nX-Long: a\r\n  b\r\n\r\n";
        let r = parse_head(head).unwrap();
        assert_eq!((r.status, r.reason.as_str()), (401, "Unauthorized"));
        assert_eq!(schemes(&r), ["Negotiate", "NTLM", "Basic"]);
        assert_eq!(basic_realm(&r).as_deref(), Some("MFA SDK"));
        assert_eq!(r.first("x-long"), Some("a b"));

        assert!(matches!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n"), Err(HttpError::Malformed(_))));
        assert!(matches!(parse_head(b"HTTP/1.1 abc\r\n\r\n"), Err(HttpError::Malformed(_))));
        assert_eq!(find_end(b"HTTP/1.1 200 OK\nA: b\n\nbody"), Some(22));
    }

    #[tokio::test]
    async fn bounds_endless_headers() {
        let (mut client, mut server) = tokio::io::duplex(64 * 1024);
        let feeder = tokio::spawn(async move {
            let mut request = [0u8; 512];
            let _ = server.read(&mut request).await;
            let _ = server.write_all(b"HTTP/1.1 200 OK\r\n").await;
            for _ in 0..100_000 {
                if server.write_all(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaa\r\n").await.is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let r = get(&mut client, "h", "/", None, deadline).await;
        assert!(matches!(r, Err(HttpError::TooManyHeaders | HttpError::HeadersTooLarge)), "{r:?}");
        drop(client);
        feeder.await.unwrap();
    }
}
