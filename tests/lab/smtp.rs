//! A local SMTP relay for the `smtp` check: aiosmtpd (Debian's `python3-aiosmtpd`, run
//! with `/usr/bin/python3`) on 127.0.0.1, with a certificate for
//! `smtp.corp.contoso.com` from the TLS lab's trusted CA.
//!
//! ```ignore
//! let tls = lab::TlsLab::start();
//! let relay = lab::smtp::SmtpLab::start(&tls, lab::smtp::Mode::StartTls);
//! // --connect smtp.corp.contoso.com=127.0.0.1:{relay.port()}
//! ```
//!
//! Modes: `StartTls` (STARTTLS offered; AUTH PLAIN LOGIN offered once TLS is up),
//! `Plain` (no STARTTLS), `RefuseSender` (STARTTLS, then MAIL FROM refused with
//! `550 5.7.1`). The lab owns one process, stopped by its PID on drop.

use std::fs;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{DAY, Issuer, Spec, TlsLab};

/// The relay's name (on its certificate).
pub const SMTP_HOST: &str = "smtp.corp.contoso.com";

const PYTHON: &str = "/usr/bin/python3";
const READY_DEADLINE: Duration = Duration::from_secs(20);
const STOP_DEADLINE: Duration = Duration::from_secs(10);

const SPEC: Spec = Spec {
    name: "smtp",
    cn: SMTP_HOST,
    sans: &[SMTP_HOST],
    issuer: Issuer::Trusted,
    start: -DAY,
    end: 365 * DAY,
};

/// How the relay behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    StartTls,
    Plain,
    RefuseSender,
}

impl Mode {
    fn arg(self) -> &'static str {
        match self {
            Self::StartTls => "starttls",
            Self::Plain => "plain",
            Self::RefuseSender => "refuse",
        }
    }
}

const SERVER_PY: &str = r#"# Written by tests/lab/smtp.rs: a lab relay on 127.0.0.1 that never delivers mail.
import asyncio, signal, ssl, sys
from aiosmtpd.smtp import SMTP, AuthResult

mode, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]

class Handler:
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if mode == "refuse":
            return "550 5.7.1 Client host rejected: relaying denied"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return "250 OK discarded"

def authenticator(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=False, handled=False)

async def main():
    tls = None
    if mode != "plain":
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert, key)
    loop = asyncio.get_running_loop()
    def factory():
        return SMTP(Handler(), hostname="smtp.corp.contoso.com", tls_context=tls,
                    require_starttls=False, authenticator=authenticator,
                    auth_require_tls=True)
    server = await loop.create_server(factory, host="127.0.0.1", port=0)
    print("READY %d" % server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()

asyncio.run(main())
"#;

/// A running relay; stopped (by PID) and its folder removed on drop.
pub struct SmtpLab {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpLab {
    /// Issues the relay's certificate from `tls`'s CA, starts aiosmtpd and waits until it
    /// listens.
    pub fn start(tls: &TlsLab, mode: Mode) -> SmtpLab {
        assert!(
            Path::new(PYTHON).is_file()
                && Command::new(PYTHON)
                    .args(["-c", "import aiosmtpd"])
                    .output()
                    .is_ok_and(|o| o.status.success()),
            "SmtpLab needs python3-aiosmtpd.\n\
             Install it with: apt-get install -y --no-install-recommends python3-aiosmtpd\n\
             or run the project's test command, `scripts/test`, which installs everything the tests need."
        );
        let dir = tempfile::Builder::new().prefix("mfa-smtplab-").tempdir().expect("SmtpLab: temp");
        let info =
            super::issue(&tls.openssl, &tls.dir().join("ca"), dir.path(), &SPEC, super::unix_now());
        let script = dir.path().join("relay.py");
        fs::write(&script, SERVER_PY).expect("SmtpLab: write relay.py");
        let stderr = fs::File::create(dir.path().join("stderr.log")).expect("SmtpLab: log");

        let mut child = Command::new(PYTHON)
            .arg(&script)
            .arg(mode.arg())
            .arg(&info.cert)
            .arg(&info.key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("SmtpLab: cannot run {PYTHON}: {e}"));
        let stdout = child.stdout.take().expect("SmtpLab: stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut lab = SmtpLab { child: Some(child), port: 0, dir };
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Ok(line) = rx.recv_timeout(left) {
                if let Some(p) = line.strip_prefix("READY ") {
                    lab.port = p.trim().parse().expect("SmtpLab: port");
                    return lab;
                }
            } else {
                let log = fs::read_to_string(lab.dir.path().join("stderr.log")).unwrap_or_default();
                lab.stop();
                panic!("SmtpLab: aiosmtpd did not listen within {READY_DEADLINE:?}:\n{log}");
            }
        }
    }

    /// The 127.0.0.1 port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp.corp.contoso.com=127.0.0.1:PORT`, for `--connect`.
    pub fn connect_arg(&self) -> String {
        format!("{SMTP_HOST}=127.0.0.1:{}", self.port)
    }

    /// The folder holding the relay's certificate and log.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        let pid = child.id().to_string();
        let _ = Command::new("sh").args(["-c", "kill -TERM \"$1\"", "sh", &pid]).status();
        let deadline = Instant::now() + STOP_DEADLINE;
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

impl Drop for SmtpLab {
    fn drop(&mut self) {
        self.stop();
    }
}
