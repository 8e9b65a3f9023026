//! The `tls` check: connect, read the certificate the server presents even when it is
//! invalid, and judge it the way the portal, AD FS and browsers will: name on the
//! certificate, chain trust (system roots or `--ca-file`), validity and renewal lead.
//!
//! Evidence carries what a renewal reminder needs: subject CN, SANs, issuer, serial,
//! Windows-style thumbprint (SHA-1 of the DER, upper-case hex), dates and days left.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha1::{Digest, Sha1};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use super::{CheckResult, Outcome, Planned, RunOptions};

/// Runs a `tls` check: `host`, optional `port` (443) and `also_names` (comma-separated).
pub async fn run(check: &Planned, opts: &RunOptions) -> CheckResult {
    let host = check.params.get("host").cloned().unwrap_or_default();
    let mut port: u16 = match check.params.get("port").map(|p| p.parse()) {
        None => 443,
        Some(Ok(p)) => p,
        Some(Err(_)) => return CheckResult::error(check, "the check's port is not a number"),
    };
    let mut address = host.clone();
    if let Some((addr, p)) = opts.connect.get(&host.to_ascii_lowercase()) {
        address.clone_from(addr);
        if let Some(p) = p {
            port = *p;
        }
    }
    let mut names = vec![host.clone()];
    names.extend(
        check
            .params
            .get("also_names")
            .into_iter()
            .flat_map(|a| a.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    );

    let chain = match fetch_chain(&host, &address, port).await {
        Ok(c) => c,
        Err(e) => {
            return CheckResult::new(check, Outcome::Fail, format!("{host}:{port}: {}", e.summary))
                .with_hint(e.hint)
                .with_evidence(&[
                    ("host", &host),
                    ("port", &port.to_string()),
                    ("address", &address),
                ]);
        }
    };
    judge(check, &host, port, &address, &names, &chain, opts)
}

struct ConnectError {
    summary: String,
    hint: String,
}

async fn fetch_chain(
    host: &str,
    address: &str,
    port: u16,
) -> Result<Vec<CertificateDer<'static>>, ConnectError> {
    let stream = tokio::net::TcpStream::connect((address, port)).await.map_err(|e| {
        let (summary, hint) = match e.kind() {
            std::io::ErrorKind::ConnectionRefused => (
                format!("nothing accepts connections on {address}:{port} (connection refused)"),
                "bind https on port 443 in IIS (Sites > Default Web Site > Bindings) and check the firewall",
            ),
            _ if e.to_string().contains("resolve") || e.to_string().contains("lookup") || e.to_string().contains("known") => (
                format!("the name {address} does not resolve ({e})"),
                "add the host's A record in DNS, or use --connect NAME=ADDR to test a specific node",
            ),
            _ => (format!("cannot connect to {address}:{port}: {e}"), "check the address, the port and the firewall"),
        };
        ConnectError { summary, hint: hint.to_string() }
    })?;

    let (handshake, chain) = handshake(stream, host).await;
    match handshake {
        Ok(_) => Ok(chain),
        Err(_) if !chain.is_empty() => Ok(chain),
        Err(e) => Err(ConnectError {
            summary: format!("the TLS handshake failed before a certificate arrived: {e}"),
            hint: "the port may not speak TLS, or no certificate is bound to it".into(),
        }),
    }
}

/// Runs a TLS handshake over `stream` for `host` (SNI), accepting any certificate so that
/// an invalid one can still be reported: returns the session (or why it failed) and the
/// chain the server presented, which the caller must judge with [`assess`] before it
/// trusts the session with anything secret.
pub(crate) async fn handshake<S>(
    stream: S,
    host: &str,
) -> (Result<tokio_rustls::client::TlsStream<S>, String>, Vec<CertificateDer<'static>>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let capture = Arc::new(Capture::default());
    let config = match rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => builder
            .dangerous()
            .with_custom_certificate_verifier(capture.clone())
            .with_no_client_auth(),
        Err(e) => return (Err(format!("TLS set-up failed: {e}")), Vec::new()),
    };
    let Ok(server_name) = ServerName::try_from(host.to_string()) else {
        return (Err(format!("`{host}` is not a valid server name")), Vec::new());
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let handshake = connector.connect(server_name, stream).await.map_err(|e| e.to_string());
    let chain = capture.chain.lock().map(|c| c.clone()).unwrap_or_default();
    (handshake, chain)
}

/// The TLS version a session negotiated, as `TLSv1_3`.
pub(crate) fn version<S>(session: &tokio_rustls::client::TlsStream<S>) -> String {
    session.get_ref().1.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default()
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())).clone()
}

/// Accepts any certificate, keeping the chain, so an invalid one can still be reported.
#[derive(Debug, Default)]
struct Capture {
    chain: Mutex<Vec<CertificateDer<'static>>>,
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut chain) = self.chain.lock() {
            chain.push(end_entity.clone().into_owned());
            chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider().signature_verification_algorithms.supported_schemes()
    }
}

/// What the leaf certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub subject_cn: String,
    pub sans: Vec<String>,
    pub issuer: String,
    pub serial: String,
    pub thumbprint: String,
    pub not_before: i64,
    pub not_after: i64,
}

/// Parses a DER certificate into the fields a renewal reminder needs.
pub fn parse_leaf(der: &[u8]) -> Result<Leaf, String> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| format!("the certificate does not parse: {e}"))?;
    let subject_cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => sans.push((*d).to_string()),
                GeneralName::IPAddress(ip) if ip.len() == 4 => {
                    sans.push(format!("IP:{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]));
                }
                _ => {}
            }
        }
    }
    Ok(Leaf {
        subject_cn,
        sans,
        issuer: cert.issuer().to_string(),
        serial: crate::hex::upper(cert.raw_serial()),
        thumbprint: crate::hex::upper(&Sha1::digest(der)),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// True when `name` matches a DNS SAN (one leftmost `*` label allowed), case-insensitively.
pub fn name_matches(sans: &[String], name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    sans.iter().any(|san| {
        let san = san.trim_end_matches('.').to_ascii_lowercase();
        if let Some(rest) = san.strip_prefix("*.") {
            name.split_once('.').is_some_and(|(first, tail)| !first.is_empty() && tail == rest)
        } else {
            san == name
        }
    })
}

pub(crate) fn roots(opts: &RunOptions) -> RootCertStore {
    // The system roots are read and parsed once per process: a sweep judges many chains.
    static SYSTEM: OnceLock<RootCertStore> = OnceLock::new();
    let mut store = SYSTEM
        .get_or_init(|| {
            let mut system = RootCertStore::empty();
            system.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            system
        })
        .clone();
    store.add_parsable_certificates(opts.extra_roots.iter().cloned());
    store
}

/// Chain trust, judged at a moment when the leaf is valid so expiry is reported apart.
fn trust(
    chain: &[CertificateDer<'static>],
    leaf: &Leaf,
    store: &RootCertStore,
) -> Result<(), String> {
    let parsed =
        rustls::server::ParsedCertificate::try_from(&chain[0]).map_err(|e| e.to_string())?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let at = if now < leaf.not_before || now > leaf.not_after {
        i64::midpoint(leaf.not_before, leaf.not_after)
    } else {
        now
    };
    let at =
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(u64::try_from(at).unwrap_or(0)));
    rustls::client::verify_server_cert_signed_by_trust_anchor(
        &parsed,
        store,
        &chain[1..],
        at,
        provider().signature_verification_algorithms.all,
    )
    .map_err(|e| match e {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "it does not chain to a trusted root".to_string()
        }
        rustls::Error::InvalidCertificate(c) => format!("{c:?}"),
        other => other.to_string(),
    })
}

fn day(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// How a certificate chain measures up for a set of names: the leaf's facts as evidence,
/// the problems that make a client refuse it (expired, not yet valid, a name missing,
/// untrusted) and a warning inside the renewal lead.
pub(crate) struct Verdict {
    pub leaf: Leaf,
    pub days_left: i64,
    pub evidence: Vec<(&'static str, String)>,
    /// Each problem with its remediation hint; empty when a client would accept it.
    pub problems: Vec<(String, String)>,
    /// Set when the certificate is good but expires inside the renewal lead.
    pub warning: Option<(String, String)>,
}

impl Verdict {
    /// The subject CN, or `(no CN)`.
    pub fn cn(&self) -> String {
        if self.leaf.subject_cn.is_empty() {
            "(no CN)".to_string()
        } else {
            self.leaf.subject_cn.clone()
        }
    }
}

/// Judges a chain (leaf first) for `names` the way the portal, AD FS and browsers will.
pub(crate) fn assess(
    chain: &[CertificateDer<'static>],
    names: &[String],
    opts: &RunOptions,
) -> Result<Verdict, String> {
    let Some(first) = chain.first() else {
        return Err("the server presented no certificate".into());
    };
    let leaf = parse_leaf(first)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let days_left = (leaf.not_after - now).div_euclid(86_400);
    let missing: Vec<&String> = names.iter().filter(|n| !name_matches(&leaf.sans, n)).collect();
    let trusted = trust(chain, &leaf, &roots(opts));

    let evidence = vec![
        ("subject_cn", leaf.subject_cn.clone()),
        ("sans", leaf.sans.join(", ")),
        ("issuer", leaf.issuer.clone()),
        ("serial", leaf.serial.clone()),
        ("thumbprint", leaf.thumbprint.clone()),
        ("issued", day(leaf.not_before)),
        ("expires", day(leaf.not_after)),
        ("days_left", days_left.to_string()),
        (
            "name_match",
            if missing.is_empty() { "yes".into() } else { format!("no ({})", join(&missing)) },
        ),
        (
            "trusted",
            match &trusted {
                Ok(()) => "yes".into(),
                Err(e) => format!("no ({e})"),
            },
        ),
    ];

    let mut problems: Vec<(String, String)> = Vec::new();
    if now > leaf.not_after {
        problems.push((
            format!("expired {} day(s) ago", (now - leaf.not_after) / 86_400),
            "renew the certificate and bind the new one in IIS".into(),
        ));
    } else if now < leaf.not_before {
        problems.push((
            "not valid yet".into(),
            "check the server's clock, or wait for the certificate's start date".into(),
        ));
    }
    if !missing.is_empty() {
        problems.push((
            format!(
                "{} not on the certificate (it names {})",
                join(&missing),
                if leaf.sans.is_empty() {
                    "no subjectAltName".into()
                } else {
                    leaf.sans.join(", ")
                }
            ),
            "enrol a certificate whose subject alternative names include every name clients use"
                .into(),
        ));
    }
    if let Err(e) = &trusted {
        problems.push((format!("untrusted: {e}"), "issue it from your enterprise CA, or pass --ca-file with the issuing root to test against a private CA".into()));
    }
    let warning = (problems.is_empty() && days_left < opts.renewal_lead_days).then(|| {
        (
            format!("expires in {days_left} day(s)"),
            format!("renew now: the renewal lead is {} days", opts.renewal_lead_days),
        )
    });
    Ok(Verdict { leaf, days_left, evidence, problems, warning })
}

fn judge(
    check: &Planned,
    host: &str,
    port: u16,
    address: &str,
    names: &[String],
    chain: &[CertificateDer<'static>],
    opts: &RunOptions,
) -> CheckResult {
    let verdict = match assess(chain, names, opts) {
        Ok(v) => v,
        Err(e) => return CheckResult::error(check, e),
    };
    let mut ev = BTreeMap::new();
    for (k, v) in
        [("host", host.to_string()), ("port", port.to_string()), ("address", address.to_string())]
    {
        ev.insert(k.to_string(), v);
    }
    for (k, v) in &verdict.evidence {
        ev.insert((*k).to_string(), v.clone());
    }

    let cn = verdict.cn();
    let mut result = if let Some((_, hint)) = verdict.problems.first() {
        let what: Vec<&str> = verdict.problems.iter().map(|(p, _)| p.as_str()).collect();
        CheckResult::new(check, Outcome::Fail, format!("{cn}: {}", what.join("; ")))
            .with_hint(hint.clone())
    } else if let Some((_, hint)) = &verdict.warning {
        CheckResult::new(
            check,
            Outcome::Warn,
            format!("{cn}: valid and trusted, but expires in {} day(s)", verdict.days_left),
        )
        .with_hint(hint.clone())
    } else {
        CheckResult::new(
            check,
            Outcome::Pass,
            format!(
                "{cn}: valid, trusted, {} days left, thumbprint {}",
                verdict.days_left, verdict.leaf.thumbprint
            ),
        )
    };
    result.evidence = ev;
    result
}

fn join(names: &[&String]) -> String {
    names.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

impl CheckResult {
    fn with_evidence(mut self, pairs: &[(&str, &str)]) -> Self {
        for (k, v) in pairs {
            self.evidence.insert((*k).to_string(), (*v).to_string());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::name_matches;

    #[test]
    fn matches_names_and_wildcards() {
        let sans = vec!["app1.corp.contoso.com".to_string(), "*.web.contoso.com".to_string()];
        let cases = [
            ("app1.corp.contoso.com", true),
            ("APP1.corp.contoso.com.", true),
            ("mfaweb.corp.contoso.com", false),
            ("x.web.contoso.com", true),
            ("a.x.web.contoso.com", false),
            ("web.contoso.com", false),
        ];
        for (name, want) in cases {
            assert_eq!(name_matches(&sans, name), want, "{name}");
        }
    }
}
