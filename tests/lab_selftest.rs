//! Exercises tests/lab/ on its own: the TLS lab starts, each port serves the
//! certificate it claims, the facts the lab reports (thumbprint, serial)
//! match what openssl reads off the wire, Basic auth guards the SDK path,
//! rustls judges each certificate as the product's checks will need, and
//! the lab stops what it started.

#[path = "lab/mod.rs"]
mod lab;

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lab::{NAMES, SDK_PASSWORD, SDK_PATH, SDK_REALM, SDK_USER, TlsLab};

fn openssl(args: &[&str], stdin: &[u8]) -> (bool, String) {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl");
    child.stdin.take().expect("stdin").write_all(stdin).expect("write stdin");
    let out = child.wait_with_output().expect("wait openssl");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// The leaf certificate the server on `port` presents for SNI `host`.
fn served_pem(port: u16, host: &str) -> String {
    let (ok, out) =
        openssl(&["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", host], b"");
    assert!(ok, "s_client to {host} on {port} failed:\n{out}");
    lab::first_pem(&out).unwrap_or_else(|| panic!("no certificate in s_client output:\n{out}"))
}

fn field(out: &str, prefix: &str) -> String {
    out.lines()
        .find_map(|l| l.find(prefix).map(|at| &l[at + prefix.len()..]))
        .unwrap_or_else(|| panic!("no {prefix:?} in:\n{out}"))
        .trim()
        .to_string()
}

fn verify(ca: &Path, cert: &Path, host: &str) -> (bool, String) {
    let ca = ca.to_str().expect("utf-8");
    let cert = cert.to_str().expect("utf-8");
    openssl(&["verify", "-CAfile", ca, "-verify_hostname", host, cert], b"")
}

#[test]
fn every_port_serves_the_certificate_the_lab_reports() {
    let tls = TlsLab::start();
    for name in NAMES {
        let host = tls.host(name);
        let served = served_pem(tls.port(name), host);
        assert_eq!(
            lab::pem_body(&served),
            lab::pem_body(&tls.cert_pem(name)),
            "{name}: served cert"
        );

        let (ok, facts) = openssl(
            &["x509", "-noout", "-fingerprint", "-sha1", "-serial", "-ext", "subjectAltName"],
            served.as_bytes(),
        );
        assert!(ok, "{facts}");
        let thumb = field(&facts, "Fingerprint=").replace(':', "");
        assert_eq!(thumb, tls.thumbprint(name), "{name}: thumbprint");
        assert_eq!(thumb.len(), 40, "{name}: thumbprint {thumb}");
        assert!(thumb.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()), "{thumb}");
        assert_eq!(field(&facts, "serial="), tls.serial(name), "{name}: serial");
        for san in tls.sans(name) {
            assert!(facts.contains(&format!("DNS:{san}")), "{name}: SAN {san} missing:\n{facts}");
        }
    }

    // Trust, names and dates as openssl judges them.
    let ca = tls.ca_file();
    assert!(verify(ca, tls.cert_path("valid"), "mfa.corp.contoso.com").0);
    assert!(verify(ca, tls.cert_path("expiring"), "expiring.corp.contoso.com").0);
    assert!(verify(ca, tls.cert_path("portal"), "app1.corp.contoso.com").0);
    assert!(verify(ca, tls.cert_path("portal"), "mfaweb.corp.contoso.com").0);
    let (ok, out) = verify(ca, tls.cert_path("expired"), "expired.corp.contoso.com");
    assert!(!ok && out.contains("certificate has expired"), "{out}");
    let (ok, out) = verify(ca, tls.cert_path("wrongname"), "mfa.corp.contoso.com");
    assert!(!ok && out.contains("hostname mismatch"), "{out}");
    let (ok, out) = verify(ca, tls.cert_path("untrusted"), "untrusted.corp.contoso.com");
    assert!(!ok && out.contains("unable to get local issuer certificate"), "{out}");
    assert!(
        verify(tls.untrusted_ca_file(), tls.cert_path("untrusted"), "untrusted.corp.contoso.com").0
    );

    // `expiring` ends inside 20..21 days; `valid` lasts well past 42.
    let expiring = tls.cert_path("expiring").to_str().expect("utf-8").to_owned();
    let checkend = |days: u64| {
        openssl(
            &["x509", "-noout", "-checkend", &(days * 86_400).to_string(), "-in", &expiring],
            b"",
        )
        .0
    };
    assert!(checkend(20), "expiring must still be valid in 20 days");
    assert!(!checkend(21), "expiring must have expired in 21 days");
    let now = i64::try_from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
    )
    .unwrap();
    assert_eq!((tls.not_after("expiring") - now) / 86_400, 20);
    assert_eq!((now - tls.not_after("expired")) / 86_400, 10);
    assert!(tls.not_after("valid") - now > 300 * 86_400);
}

/// Send one HTTP/1.1 request over TLS to the `valid` server; return the head.
fn https(tls: &TlsLab, method: &str, auth: Option<(&str, &str)>) -> String {
    let mut request = format!(
        "{method} {SDK_PATH} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        tls.host("valid")
    );
    if let Some((user, pass)) = auth {
        let (ok, b64) = openssl(&["base64", "-A"], format!("{user}:{pass}").as_bytes());
        assert!(ok);
        let _ = write!(request, "Authorization: Basic {}\r\n", b64.trim());
    }
    if method == "POST" {
        request.push_str("Content-Type: text/xml\r\nContent-Length: 2\r\n\r\n<a");
    } else {
        request.push_str("\r\n");
    }
    let (_, out) = openssl(
        &[
            "s_client",
            "-quiet",
            "-connect",
            &format!("127.0.0.1:{}", tls.port("valid")),
            "-servername",
            tls.host("valid"),
        ],
        request.as_bytes(),
    );
    let start = out.find("HTTP/1.1 ").unwrap_or_else(|| panic!("no HTTP response:\n{out}"));
    out[start..].to_string()
}

#[test]
fn sdk_path_asks_for_basic_credentials_and_accepts_the_sdk_account() {
    let tls = TlsLab::start();
    let anonymous = https(&tls, "GET", None);
    assert!(anonymous.starts_with("HTTP/1.1 401"), "{anonymous}");
    assert!(
        anonymous.contains(&format!("WWW-Authenticate: Basic realm=\"{SDK_REALM}\"")),
        "{anonymous}"
    );

    let good = https(&tls, "GET", Some((SDK_USER, SDK_PASSWORD)));
    assert!(good.starts_with("HTTP/1.1 200"), "{good}");
    assert!(good.contains("PfWsSdk"), "{good}");

    let post = https(&tls, "POST", Some((SDK_USER, SDK_PASSWORD)));
    assert!(post.starts_with("HTTP/1.1 200"), "{post}");

    let wrong = https(&tls, "GET", Some((SDK_USER, "not-the-password")));
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let anonymous_post = https(&tls, "POST", None);
    assert!(anonymous_post.starts_with("HTTP/1.1 401"), "{anonymous_post}");
}

/// A rustls handshake (what the product uses) trusting only the lab CA.
fn rustls_handshake(tls: &TlsLab, name: &str, server_name: &str) -> Result<(), String> {
    let (ok, _) = openssl(&["version"], b"");
    assert!(ok);
    let der = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(tls.ca_file())
        .output()
        .expect("openssl x509 -outform DER")
        .stdout;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from(der)).expect("lab CA is a usable root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let sn = rustls::pki_types::ServerName::try_from(server_name.to_string()).expect("server name");
    let mut conn = rustls::ClientConnection::new(Arc::new(config), sn).expect("client");
    let mut sock = TcpStream::connect(tls.addr(name)).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| format!("{e:?}"))?;
    }
    Ok(())
}

#[test]
fn rustls_accepts_the_good_certificates_and_names_what_is_wrong_with_the_bad() {
    let tls = TlsLab::start();
    rustls_handshake(&tls, "valid", "mfa.corp.contoso.com").expect("valid");
    rustls_handshake(&tls, "expiring", "expiring.corp.contoso.com")
        .expect("expiring (not yet expired)");
    rustls_handshake(&tls, "portal", "app1.corp.contoso.com").expect("portal by host name");
    rustls_handshake(&tls, "portal", "mfaweb.corp.contoso.com").expect("portal by portal name");

    let err = rustls_handshake(&tls, "expired", "expired.corp.contoso.com").expect_err("expired");
    assert!(err.contains("Expired"), "{err}");
    let err = rustls_handshake(&tls, "wrongname", "mfa.corp.contoso.com").expect_err("wrong name");
    assert!(err.contains("NotValidForName"), "{err}");
    let err =
        rustls_handshake(&tls, "untrusted", "untrusted.corp.contoso.com").expect_err("untrusted");
    assert!(err.contains("UnknownIssuer"), "{err}");
}

#[test]
fn drop_stops_nginx_by_pid_and_removes_the_folder() {
    let t0 = Instant::now();
    let tls = TlsLab::start();
    let started = t0.elapsed();
    let pid = tls.nginx_pid();
    let dir = tls.dir().to_path_buf();
    let port = tls.port("valid");
    let pid_file = std::fs::read_to_string(dir.join("nginx.pid")).expect("nginx.pid");
    assert_eq!(pid_file.trim(), pid.to_string(), "the master we started is the one in nginx.pid");

    let t1 = Instant::now();
    drop(tls);
    let stopped = t1.elapsed();
    eprintln!("TlsLab start {started:?}, stop {stopped:?}");

    assert!(!dir.exists(), "lab folder {} left behind", dir.display());
    if cfg!(target_os = "linux") {
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "nginx {pid} still running");
    }
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "port {port} still answers");
    assert!(started < Duration::from_secs(15), "start took {started:?}");
    assert!(stopped < Duration::from_secs(5), "stop took {stopped:?}");
}
