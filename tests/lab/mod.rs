//! The TLS test lab: a private CA made with the `openssl` CLI and a private
//! `nginx` on 127.0.0.1 serving one certificate per port.
//!
//! Include it from an integration test with
//!
//! ```ignore
//! #[path = "lab/mod.rs"]
//! mod lab;
//! let tls = lab::TlsLab::start();
//! ```
//!
//! Certificates (name → CN / SANs / validity):
//!
//! | name        | CN / SANs                                          | validity                   |
//! |-------------|----------------------------------------------------|----------------------------|
//! | `valid`     | mfa.corp.contoso.com                               | 1 year                     |
//! | `expiring`  | expiring.corp.contoso.com                          | ends in 20 days (+1 hour)  |
//! | `expired`   | expired.corp.contoso.com                           | ended 10 days (+1 hour) ago|
//! | `wrongname` | other.example.net                                  | 1 year                     |
//! | `portal`    | app1.corp.contoso.com (+ mfaweb.corp.contoso.com)  | 1 year                     |
//! | `untrusted` | untrusted.corp.contoso.com, from a second CA       | 1 year                     |
//!
//! The `valid` server also serves [`SDK_PATH`] behind HTTP Basic auth
//! ([`SDK_USER`] / [`SDK_PASSWORD`]); GET and POST both answer 200 with the
//! right credentials and 401 with a `Basic` challenge without them.
//!
//! The same account is also accepted as [`SDK_USER_QUALIFIED`] (`CORP\PFWSDK_APP1`), the
//! DOMAIN\user form the runbook's `sdk_account_qualified` gives.
//!
//! Beside them, [`SDK_SERVERS`] are servers presenting the `valid` certificate whose SDK
//! path misbehaves in one way each (404, 405, a redirect, anonymous access, no Basic
//! challenge, plain http); reach them with `port("sdk-…")`. Every server also serves the
//! User Portal's page at [`PORTAL_PATH`]`/` (a static file, anonymous).
//!
//! The lab owns exactly one process, the nginx master it spawned; `Drop`
//! sends it SIGTERM by PID, waits (bounded) and removes the temp folder.
//! A missing `nginx` or `openssl` is a loud panic, never a silent skip.

#![allow(dead_code)]

pub mod hostile;
pub mod samba;
pub mod smtp;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The Web Service SDK account the `valid` server accepts.
pub const SDK_USER: &str = "PFWSDK_APP1";
/// Its password (no `&`, `<` or quotes, so every config format can hold it).
pub const SDK_PASSWORD: &str = "Lab-Sdk.Passw0rd!42";
/// The SDK account in DOMAIN\user form, accepted with the same password.
pub const SDK_USER_QUALIFIED: &str = "CORP\\PFWSDK_APP1";
/// The User Portal's virtual directory (the demo profile's `portal_vdir`).
pub const PORTAL_PATH: &str = "/MultiFactorAuth";
/// Servers with the `valid` certificate whose SDK path misbehaves:
///
/// | name             | at the SDK path                                         |
/// |------------------|---------------------------------------------------------|
/// | `sdk-missing`    | 404 (nothing installed)                                 |
/// | `sdk-405`        | 405 Method Not Allowed                                  |
/// | `sdk-redirect`   | 301 to `https://sdk.elsewhere.test/…`                   |
/// | `sdk-anonymous`  | 200 without credentials                                 |
/// | `sdk-ntlm`       | 401 with `WWW-Authenticate: NTLM` only                  |
/// | `sdk-plain-http` | plain http (no TLS), Basic auth as on `valid`           |
pub const SDK_SERVERS: [&str; 6] =
    ["sdk-missing", "sdk-405", "sdk-redirect", "sdk-anonymous", "sdk-ntlm", "sdk-plain-http"];
/// The protected path on the `valid` server.
pub const SDK_PATH: &str = "/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx";
/// The realm in the `WWW-Authenticate: Basic realm="..."` challenge.
pub const SDK_REALM: &str = "MFA Web Service SDK";
/// Common name of the trusted lab CA (the issuer of every certificate but `untrusted`).
pub const CA_CN: &str = "Contoso Lab Root CA";
/// Common name of the second, untrusted CA.
pub const UNTRUSTED_CA_CN: &str = "Untrusted Lab Root CA";
/// Every certificate name the lab serves, in a fixed order.
pub const NAMES: [&str; 6] = ["valid", "expiring", "expired", "wrongname", "portal", "untrusted"];

/// How long `start` waits for nginx to answer TLS on every port.
const READY_DEADLINE: Duration = Duration::from_secs(20);
/// How long `Drop` waits for nginx to exit after SIGTERM before SIGKILL.
const STOP_DEADLINE: Duration = Duration::from_secs(10);
/// Attempts at a free set of ports (another process may grab one between
/// our probe and nginx's bind).
const PORT_ATTEMPTS: u32 = 8;
const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Issuer {
    Trusted,
    Untrusted,
}

struct Spec {
    name: &'static str,
    cn: &'static str,
    sans: &'static [&'static str],
    issuer: Issuer,
    /// not-before, seconds relative to now
    start: i64,
    /// not-after, seconds relative to now
    end: i64,
}

const SPECS: [Spec; 6] = [
    Spec {
        name: "valid",
        cn: "mfa.corp.contoso.com",
        sans: &["mfa.corp.contoso.com"],
        issuer: Issuer::Trusted,
        start: -DAY,
        end: 365 * DAY,
    },
    Spec {
        name: "expiring",
        cn: "expiring.corp.contoso.com",
        sans: &["expiring.corp.contoso.com"],
        issuer: Issuer::Trusted,
        start: -345 * DAY,
        // +1 h so a test running for less than an hour still sees 20 whole days left.
        end: 20 * DAY + HOUR,
    },
    Spec {
        name: "expired",
        cn: "expired.corp.contoso.com",
        sans: &["expired.corp.contoso.com"],
        issuer: Issuer::Trusted,
        start: -375 * DAY,
        end: -10 * DAY - HOUR,
    },
    Spec {
        name: "wrongname",
        cn: "other.example.net",
        sans: &["other.example.net"],
        issuer: Issuer::Trusted,
        start: -DAY,
        end: 365 * DAY,
    },
    Spec {
        name: "portal",
        cn: "app1.corp.contoso.com",
        sans: &["app1.corp.contoso.com", "mfaweb.corp.contoso.com"],
        issuer: Issuer::Trusted,
        start: -DAY,
        end: 365 * DAY,
    },
    Spec {
        name: "untrusted",
        cn: "untrusted.corp.contoso.com",
        sans: &["untrusted.corp.contoso.com"],
        issuer: Issuer::Untrusted,
        start: -DAY,
        end: 365 * DAY,
    },
];

struct CertInfo {
    cert: PathBuf,
    key: PathBuf,
    pem: String,
    thumbprint: String,
    serial: String,
    not_before: i64,
    not_after: i64,
}

/// A running TLS lab. Stops its nginx and deletes its folder when dropped.
pub struct TlsLab {
    nginx: Option<Child>,
    nginx_bin: PathBuf,
    openssl: PathBuf,
    ports: BTreeMap<&'static str, u16>,
    certs: BTreeMap<&'static str, CertInfo>,
    ca_file: PathBuf,
    untrusted_ca_file: PathBuf,
    // Last field: dropped (deleted) after `Drop::drop` stopped nginx.
    dir: tempfile::TempDir,
}

impl TlsLab {
    /// Make the CAs and certificates, start nginx and wait until every port
    /// completes a TLS handshake with the expected certificate.
    pub fn start() -> TlsLab {
        let openssl = find_tool("openssl", "openssl");
        let nginx_bin = find_tool("nginx", "nginx-light");

        let dir = tempfile::Builder::new()
            .prefix("mfa-tlslab-")
            .tempdir()
            .expect("TlsLab: cannot create a temp folder");
        let root = dir.path().to_path_buf();
        // nginx workers run as `nobody` when the master is root: they must be
        // able to traverse to the htpasswd file and the static SDK page.
        set_mode(&root, 0o755);
        for sub in ["ca", "ca-untrusted", "certs", "logs", "tmp", "www", "www-empty"] {
            fs::create_dir_all(root.join(sub)).expect("TlsLab: mkdir");
            set_mode(&root.join(sub), 0o755);
        }

        let now = unix_now();
        let ca_file = make_ca(&openssl, &root.join("ca"), CA_CN);
        let untrusted_ca_file = make_ca(&openssl, &root.join("ca-untrusted"), UNTRUSTED_CA_CN);

        let mut certs = BTreeMap::new();
        for spec in &SPECS {
            let ca_dir = match spec.issuer {
                Issuer::Trusted => root.join("ca"),
                Issuer::Untrusted => root.join("ca-untrusted"),
            };
            certs.insert(spec.name, issue(&openssl, &ca_dir, &root.join("certs"), spec, now));
        }

        write_sdk_site(&openssl, &root);

        let mut lab = TlsLab {
            nginx: None,
            nginx_bin,
            openssl,
            ports: BTreeMap::new(),
            certs,
            ca_file,
            untrusted_ca_file,
            dir,
        };

        let mut last_failure = String::new();
        for _ in 0..PORT_ATTEMPTS {
            lab.ports = free_ports();
            lab.write_nginx_conf();
            lab.spawn_nginx();
            match lab.wait_ready() {
                Ok(()) => return lab,
                Err(why) => {
                    // A port was taken between our probe and nginx's bind:
                    // stop this attempt and try a fresh set of ports.
                    lab.stop_nginx();
                    last_failure = why;
                }
            }
        }
        panic!(
            "TlsLab: nginx could not bind a free set of ports in {PORT_ATTEMPTS} attempts; last: {last_failure}"
        );
    }

    /// The 127.0.0.1 port serving certificate `name`.
    pub fn port(&self, name: &str) -> u16 {
        *self.ports.get(name).unwrap_or_else(|| unknown(name))
    }

    /// `127.0.0.1:port(name)`.
    pub fn addr(&self, name: &str) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port(name)))
    }

    /// The certificate's common name (`mfa.corp.contoso.com` for `valid`, ...).
    #[allow(clippy::unused_self)] // a method, like every other accessor
    pub fn host(&self, name: &str) -> &'static str {
        spec(name).cn
    }

    /// The certificate's DNS subjectAltNames.
    #[allow(clippy::unused_self)]
    pub fn sans(&self, name: &str) -> &'static [&'static str] {
        spec(name).sans
    }

    /// `HOST=127.0.0.1:PORT`, ready for the product's `--connect`.
    pub fn connect_arg(&self, name: &str) -> String {
        format!("{}=127.0.0.1:{}", self.host(name), self.port(name))
    }

    /// `https://mfa.corp.contoso.com:PORT/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx`
    /// (pair it with `connect_arg("valid")`: the name does not resolve).
    pub fn sdk_url(&self) -> String {
        format!("https://{}:{}{SDK_PATH}", self.host("valid"), self.port("valid"))
    }

    /// PEM file of the trusted lab CA (pass to `--ca-file`).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// PEM file of the second CA, which issued `untrusted`.
    pub fn untrusted_ca_file(&self) -> &Path {
        &self.untrusted_ca_file
    }

    /// The leaf certificate, PEM.
    pub fn cert_pem(&self, name: &str) -> String {
        self.info(name).pem.clone()
    }

    /// Path of the leaf certificate (PEM).
    pub fn cert_path(&self, name: &str) -> &Path {
        &self.info(name).cert
    }

    /// Path of the leaf's private key (PEM, mode 0600).
    pub fn key_path(&self, name: &str) -> &Path {
        &self.info(name).key
    }

    /// Windows-style thumbprint: SHA-1 of the DER, upper-case hex, no colons
    /// (from `openssl x509 -noout -fingerprint -sha1`).
    pub fn thumbprint(&self, name: &str) -> &str {
        &self.info(name).thumbprint
    }

    /// Serial number as `openssl x509 -noout -serial` prints it (upper-case hex).
    pub fn serial(&self, name: &str) -> &str {
        &self.info(name).serial
    }

    /// notBefore, Unix seconds (exact: the lab chose it).
    pub fn not_before(&self, name: &str) -> i64 {
        self.info(name).not_before
    }

    /// notAfter, Unix seconds (exact: the lab chose it).
    pub fn not_after(&self, name: &str) -> i64 {
        self.info(name).not_after
    }

    /// The lab's private folder (certificates, nginx.conf, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// PID of the nginx master the lab started.
    pub fn nginx_pid(&self) -> u32 {
        self.nginx.as_ref().expect("TlsLab: nginx is not running").id()
    }

    fn info(&self, name: &str) -> &CertInfo {
        self.certs.get(name).unwrap_or_else(|| unknown(name))
    }

    fn write_nginx_conf(&self) {
        let d = self.dir.path();
        let p = |rel: &str| quote(&d.join(rel));
        let mut conf = String::new();
        let _ = write!(
            conf,
            "# Written by tests/lab/mod.rs; a private nginx for one test.\n\
             daemon off;\n\
             master_process on;\n\
             worker_processes 1;\n\
             pid {pid};\n\
             error_log {err} info;\n\
             events {{ worker_connections 128; }}\n\
             http {{\n\
             \x20   access_log {access};\n\
             \x20   client_body_temp_path {tmp_body};\n\
             \x20   proxy_temp_path {tmp_proxy};\n\
             \x20   fastcgi_temp_path {tmp_fastcgi};\n\
             \x20   uwsgi_temp_path {tmp_uwsgi};\n\
             \x20   scgi_temp_path {tmp_scgi};\n\
             \x20   default_type application/octet-stream;\n\
             \x20   ssl_protocols TLSv1.2 TLSv1.3;\n\
             \x20   server_tokens off;\n",
            pid = p("nginx.pid"),
            err = p("logs/error.log"),
            access = p("logs/access.log"),
            tmp_body = p("tmp/body"),
            tmp_proxy = p("tmp/proxy"),
            tmp_fastcgi = p("tmp/fastcgi"),
            tmp_uwsgi = p("tmp/uwsgi"),
            tmp_scgi = p("tmp/scgi"),
        );
        for spec in &SPECS {
            let info = &self.certs[spec.name];
            // Literal paths only: a `$variable` certificate path is read by the
            // worker (not root) at handshake time and fails on the 0600 key.
            let _ = write!(
                conf,
                "    server {{\n\
                 \x20       # {name}\n\
                 \x20       listen 127.0.0.1:{port} ssl;\n\
                 \x20       server_name {cn};\n\
                 \x20       ssl_certificate {cert};\n\
                 \x20       ssl_certificate_key {key};\n\
                 \x20       root {www};\n",
                name = spec.name,
                port = self.ports[spec.name],
                cn = spec.cn,
                cert = quote(&info.cert),
                key = quote(&info.key),
                www = p("www"),
            );
            if spec.name == "valid" {
                // Serve a static file (`return 200` would bypass auth_basic);
                // POST on a static file is 405, mapped back to 200.
                let _ = write!(
                    conf,
                    "        location = {SDK_PATH} {{\n\
                     \x20           auth_basic \"{SDK_REALM}\";\n\
                     \x20           auth_basic_user_file {htpasswd};\n\
                     \x20           default_type \"text/xml; charset=utf-8\";\n\
                     \x20           error_page 405 =200 $uri;\n\
                     \x20       }}\n",
                    htpasswd = p("htpasswd"),
                );
            }
            conf.push_str("    }\n");
        }
        self.write_sdk_servers(&mut conf);
        conf.push_str("}\n");
        fs::write(d.join("nginx.conf"), conf).expect("TlsLab: write nginx.conf");
    }

    /// The [`SDK_SERVERS`] blocks: the `valid` certificate, one misbehaviour each.
    fn write_sdk_servers(&self, conf: &mut String) {
        let d = self.dir.path();
        let p = |rel: &str| quote(&d.join(rel));
        let info = &self.certs["valid"];
        let auth = format!(
            "auth_basic \"{SDK_REALM}\"; auth_basic_user_file {}; default_type \"text/xml; charset=utf-8\";",
            p("htpasswd")
        );
        for name in SDK_SERVERS {
            let (tls, root, location) = match name {
                "sdk-missing" => (true, "www-empty", String::new()),
                "sdk-405" => (true, "www", "return 405;".to_string()),
                "sdk-redirect" => {
                    (true, "www", format!("return 301 https://sdk.elsewhere.test{SDK_PATH};"))
                }
                "sdk-anonymous" => (true, "www", "default_type \"text/xml\";".to_string()),
                "sdk-ntlm" => (
                    true,
                    "www",
                    "add_header WWW-Authenticate NTLM always; return 401;".to_string(),
                ),
                "sdk-plain-http" => (false, "www", auth.clone()),
                other => unknown(other),
            };
            let _ = write!(conf, "    server {{\n        # {name}\n");
            if tls {
                let _ = write!(
                    conf,
                    "        listen 127.0.0.1:{port} ssl;\n        ssl_certificate {cert};\n        ssl_certificate_key {key};\n",
                    port = self.ports[name],
                    cert = quote(&info.cert),
                    key = quote(&info.key),
                );
            } else {
                let _ = writeln!(conf, "        listen 127.0.0.1:{};", self.ports[name]);
            }
            let _ = writeln!(
                conf,
                "        server_name {};\n        root {};",
                spec("valid").cn,
                p(root)
            );
            if !location.is_empty() {
                let _ = writeln!(conf, "        location = {SDK_PATH} {{ {location} }}");
            }
            conf.push_str("    }\n");
        }
    }

    fn spawn_nginx(&mut self) {
        let d = self.dir.path();
        let _ = fs::remove_file(d.join("logs/error.log"));
        let _ = fs::remove_file(d.join("nginx.pid"));
        let stderr = fs::File::create(d.join("logs/stderr.log")).expect("TlsLab: stderr log");
        let child = Command::new(&self.nginx_bin)
            .arg("-p")
            .arg(d)
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .arg("-e")
            .arg(d.join("logs/error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("TlsLab: cannot run {}: {e}", self.nginx_bin.display()));
        self.nginx = Some(child);
    }

    /// Poll (no fixed sleep) until every port completes a handshake that shows
    /// our certificate. `Err` means "ports taken, retry with others"; any
    /// other failure panics with nginx's log.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_DEADLINE;
        let mut pending: Vec<&'static str> =
            NAMES.iter().chain(SDK_SERVERS.iter()).copied().collect();
        loop {
            let log = self.nginx_log();
            if log.contains("Address already in use") {
                return Err(last_lines(&log, 3));
            }
            let child = self.nginx.as_mut().expect("spawned");
            if let Some(status) = child.try_wait().expect("TlsLab: wait nginx") {
                panic!(
                    "TlsLab: nginx exited during start-up ({status}).\n--- {} ---\n{}\n--- nginx.conf ---\n{}",
                    self.dir.path().join("logs").display(),
                    log,
                    fs::read_to_string(self.dir.path().join("nginx.conf")).unwrap_or_default()
                );
            }
            // nginx writes its pid file only after it has bound every listen
            // socket: before that, a port may still belong to someone else.
            let bound = self.dir.path().join("nginx.pid").exists();
            let mut still = Vec::new();
            for name in pending {
                if !bound {
                    still.push(name);
                    continue;
                }
                match self.probe(name) {
                    Probe::Ours => {}
                    Probe::NotYet => still.push(name),
                    Probe::Foreign => {
                        return Err(format!(
                            "port {} answers with someone else's certificate",
                            self.port(name)
                        ));
                    }
                }
            }
            pending = still;
            if pending.is_empty() {
                return Ok(());
            }
            assert!(
                Instant::now() <= deadline,
                "TlsLab: nginx did not answer TLS on {pending:?} within {READY_DEADLINE:?}.\n{}",
                self.nginx_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn probe(&self, name: &str) -> Probe {
        let addr = self.addr(name);
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err() {
            return Probe::NotYet;
        }
        if name == "sdk-plain-http" {
            // nginx wrote its pid file, so it bound this port: ours.
            return Probe::Ours;
        }
        let cert = if SDK_SERVERS.contains(&name) { "valid" } else { name };
        match fetch_served_pem(&self.openssl, addr, self.host(cert)) {
            None => Probe::NotYet,
            Some(served) if pem_body(&served) == pem_body(&self.info(cert).pem) => Probe::Ours,
            Some(_) => Probe::Foreign,
        }
    }

    fn nginx_log(&self) -> String {
        let logs = self.dir.path().join("logs");
        let mut out = fs::read_to_string(logs.join("error.log")).unwrap_or_default();
        out.push_str(&fs::read_to_string(logs.join("stderr.log")).unwrap_or_default());
        out
    }

    /// SIGTERM to the master we spawned (by PID), bounded wait, SIGKILL as a
    /// last resort. The master stops its workers before it exits.
    fn stop_nginx(&mut self) {
        let Some(mut child) = self.nginx.take() else {
            return;
        };
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        let pid = child.id();
        if let Ok(text) = fs::read_to_string(self.dir.path().join("nginx.pid"))
            && text.trim() != pid.to_string()
        {
            eprintln!("TlsLab: nginx.pid says {} but the master we started is {pid}", text.trim());
        }
        // `kill` is a shell builtin: no extra crate, no `unsafe`.
        let _ =
            Command::new("sh").args(["-c", "kill -TERM \"$1\"", "sh", &pid.to_string()]).status();
        let deadline = Instant::now() + STOP_DEADLINE;
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if Instant::now() > deadline => {
                    eprintln!(
                        "TlsLab: nginx {pid} ignored SIGTERM for {STOP_DEADLINE:?}; sending SIGKILL"
                    );
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

impl Drop for TlsLab {
    fn drop(&mut self) {
        self.stop_nginx();
        // `dir` (a TempDir) is removed when the fields drop, after this.
    }
}

enum Probe {
    Ours,
    NotYet,
    Foreign,
}

fn spec(name: &str) -> &'static Spec {
    SPECS.iter().find(|s| s.name == name).unwrap_or_else(|| unknown(name))
}

fn unknown(name: &str) -> ! {
    panic!("TlsLab: no certificate named {name:?}; the lab has {NAMES:?}")
}

/// Find a tool on PATH (and the sbin folders, which a non-root PATH lacks);
/// panic with the package to install when it is missing.
fn find_tool(name: &str, package: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from));
    for dir in dirs {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "TlsLab needs `{name}`, which is not installed.\n\
         Install it with: apt-get install -y --no-install-recommends {package}\n\
         or run the project's test command, `scripts/test`, which installs everything the tests need.\n\
         (A test that cannot run its lab fails; it is never skipped.)"
    )
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("TlsLab: cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "TlsLab: {what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("TlsLab: non-UTF-8 output")
}

fn run_with_stdin(cmd: &mut Command, input: &[u8], what: &str) -> String {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("TlsLab: cannot run {what}: {e}"));
    child.stdin.take().expect("stdin").write_all(input).expect("TlsLab: write stdin");
    let out = child.wait_with_output().expect("TlsLab: wait");
    assert!(
        out.status.success(),
        "TlsLab: {what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("TlsLab: non-UTF-8 output")
}

const CA_CNF: &str = "\
# Written by tests/lab/mod.rs. Paths are relative: openssl runs in this folder.
[ca]
default_ca = lab_ca

[lab_ca]
database = index.txt
new_certs_dir = newcerts
certificate = ca.crt
private_key = ca.key
rand_serial = yes
default_md = sha256
policy = lab_policy
copy_extensions = copy
unique_subject = no
email_in_dn = no
x509_extensions = server_ext

[lab_policy]
commonName = supplied

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[req]
distinguished_name = req_dn
prompt = no

[req_dn]
CN = unused

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
";

/// A self-signed ECDSA P-256 CA in `dir`; returns the PEM path.
fn make_ca(openssl: &Path, dir: &Path, cn: &str) -> PathBuf {
    fs::write(dir.join("ca.cnf"), CA_CNF).expect("TlsLab: write ca.cnf");
    fs::write(dir.join("index.txt"), "").expect("TlsLab: index.txt");
    fs::create_dir_all(dir.join("newcerts")).expect("TlsLab: newcerts");
    run(
        Command::new(openssl)
            .current_dir(dir)
            .args([
                "req",
                "-config",
                "ca.cnf",
                "-x509",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "3650",
                "-extensions",
                "ca_ext",
                "-subj",
            ])
            .arg(format!("/O=Contoso Lab/CN={cn}")),
        "openssl req (CA)",
    );
    set_mode(&dir.join("ca.key"), 0o600);
    set_mode(&dir.join("ca.crt"), 0o644);
    dir.join("ca.crt")
}

/// Key + CSR (SANs in the request), then `openssl ca` with exact dates.
fn issue(openssl: &Path, ca_dir: &Path, out_dir: &Path, spec: &Spec, now: i64) -> CertInfo {
    let key = out_dir.join(format!("{}.key", spec.name));
    let csr = out_dir.join(format!("{}.csr", spec.name));
    let cert = out_dir.join(format!("{}.crt", spec.name));
    let san = spec.sans.iter().map(|s| format!("DNS:{s}")).collect::<Vec<_>>().join(",");
    run(
        Command::new(openssl)
            .current_dir(ca_dir)
            .args([
                "req",
                "-config",
                "ca.cnf",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr)
            .arg("-subj")
            .arg(format!("/CN={}", spec.cn))
            .arg("-addext")
            .arg(format!("subjectAltName={san}")),
        "openssl req (server)",
    );
    set_mode(&key, 0o600);
    let not_before = now + spec.start;
    let not_after = now + spec.end;
    run(
        Command::new(openssl)
            .current_dir(ca_dir)
            .args(["ca", "-config", "ca.cnf", "-batch", "-notext", "-in"])
            .arg(&csr)
            .arg("-out")
            .arg(&cert)
            .arg("-startdate")
            .arg(asn1_time(not_before))
            .arg("-enddate")
            .arg(asn1_time(not_after)),
        "openssl ca",
    );
    set_mode(&cert, 0o644);
    let pem = fs::read_to_string(&cert).expect("TlsLab: read certificate");
    let facts = run(
        Command::new(openssl)
            .args(["x509", "-noout", "-serial", "-fingerprint", "-sha1", "-in"])
            .arg(&cert),
        "openssl x509",
    );
    let field = |prefix: &str| {
        facts
            .lines()
            .find_map(|l| l.find(prefix).map(|at| &l[at + prefix.len()..]))
            .unwrap_or_else(|| panic!("TlsLab: no {prefix:?} in openssl output:\n{facts}"))
            .trim()
            .to_string()
    };
    CertInfo {
        // OpenSSL 3 prints `sha1 Fingerprint=`, 1.1 printed `SHA1 Fingerprint=`.
        thumbprint: field("Fingerprint=").replace(':', "").to_uppercase(),
        serial: field("serial=").to_uppercase(),
        cert,
        key,
        pem,
        not_before,
        not_after,
    }
}

/// The static SDK page and a world-readable htpasswd (apr1 hash).
fn write_sdk_site(openssl: &Path, root: &Path) {
    let hash = run_with_stdin(
        Command::new(openssl).args(["passwd", "-apr1", "-stdin"]),
        format!("{SDK_PASSWORD}\n").as_bytes(),
        "openssl passwd",
    );
    let htpasswd = root.join("htpasswd");
    fs::write(
        &htpasswd,
        format!("{SDK_USER}:{hash}\n{SDK_USER_QUALIFIED}:{hash}\n", hash = hash.trim()),
    )
    .expect("TlsLab: htpasswd");
    set_mode(&htpasswd, 0o644);

    let page_dir = root.join("www/MultiFactorAuthWebServiceSdk");
    fs::create_dir_all(&page_dir).expect("TlsLab: www");
    set_mode(&page_dir, 0o755);
    let page = page_dir.join("PfWsSdk.asmx");
    fs::write(
        &page,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" name=\"PfWsSdk\">\n\
         <!-- mfa-rollout test lab: stands in for the MFA Server Web Service SDK -->\n\
         </wsdl:definitions>\n",
    )
    .expect("TlsLab: SDK page");
    set_mode(&page, 0o644);

    let portal_dir = root.join(format!("www{PORTAL_PATH}"));
    fs::create_dir_all(&portal_dir).expect("TlsLab: www");
    set_mode(&portal_dir, 0o755);
    let index = portal_dir.join("index.html");
    fs::write(
        &index,
        "<!doctype html><title>Multi-Factor Authentication User Portal (lab)</title>\n",
    )
    .expect("TlsLab: portal page");
    set_mode(&index, 0o644);
}

/// One port per certificate: bind them all on 127.0.0.1:0 at once (so they
/// differ), note the numbers, release them for nginx.
fn free_ports() -> BTreeMap<&'static str, u16> {
    let listeners: Vec<(&'static str, TcpListener)> = NAMES
        .iter()
        .chain(SDK_SERVERS.iter())
        .map(|&n| {
            (n, TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("TlsLab: bind 127.0.0.1:0"))
        })
        .collect();
    listeners.iter().map(|(n, l)| (*n, l.local_addr().expect("local_addr").port())).collect()
}

/// The leaf the server at `addr` presents for SNI `host`, or None when the
/// handshake does not complete (yet). Bounded: never waits more than 5 s.
fn fetch_served_pem(openssl: &Path, addr: SocketAddr, host: &str) -> Option<String> {
    let mut child = Command::new(openssl)
        .args(["s_client", "-connect", &addr.to_string(), "-servername", host])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut out = String::new();
                child.stdout.take()?.read_to_string(&mut out).ok()?;
                if !status.success() {
                    return None;
                }
                return first_pem(&out);
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// The first `-----BEGIN CERTIFICATE-----` block in `text`.
pub fn first_pem(text: &str) -> Option<String> {
    let begin = text.find("-----BEGIN CERTIFICATE-----")?;
    let end_marker = "-----END CERTIFICATE-----";
    let end = begin + text[begin..].find(end_marker)? + end_marker.len();
    Some(format!("{}\n", &text[begin..end]))
}

/// The base64 body of a PEM block, whitespace removed (for comparisons).
pub fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect()
}

fn quote(path: &Path) -> String {
    let s = path.to_str().expect("TlsLab: the temp folder path must be UTF-8");
    assert!(!s.contains(['"', '\\', '$']), "TlsLab: unusable temp path {s:?}");
    format!("\"{s}\"")
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("TlsLab: chmod {}: {e}", path.display()));
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) {}

fn unix_now() -> i64 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock before 1970").as_secs();
    i64::try_from(secs).expect("clock")
}

/// `YYYYMMDDHHMMSSZ` (what `openssl ca -startdate/-enddate` takes) for Unix seconds.
fn asn1_time(unix: i64) -> String {
    let days = unix.div_euclid(DAY);
    let secs = unix.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}{m:02}{d:02}{:02}{:02}{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Howard Hinnant's days-since-1970 → proleptic Gregorian (year, month, day).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
