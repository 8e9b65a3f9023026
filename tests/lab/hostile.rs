//! Hostile servers on 127.0.0.1 for the network checks' limits: silence, a trickle, a reset
//! in the middle of the TLS handshake, an enormous certificate chain, endless HTTP headers,
//! an endless SMTP reply. Each runs in threads of the test process (no child process);
//! every loop is bounded, and a server stops writing as soon as its client goes away.
//!
//! TLS servers present the TLS lab's `valid` certificate (`mfa.corp.contoso.com`).

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsLab;

/// A TLS record header announcing a `ServerHello`, and the start of its body: 64 bytes, so
/// a trickle of them outlasts any short `--timeout`.
const TLS_START: [u8; 64] = {
    let mut b = [0x42u8; 64];
    let head = [0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76, 0x03, 0x03];
    let mut i = 0;
    while i < head.len() {
        b[i] = head[i];
        i += 1;
    }
    b
};

/// Connections a hostile server accepts before it stops listening.
const MAX_CONNECTIONS: usize = 32;
/// The most a flooding server writes to one client (it stops earlier when the client
/// hangs up).
const MAX_FLOOD: u64 = 4 * 1024 * 1024 * 1024;

/// What the server does with each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Accepts and never says a word.
    Silent,
    /// Sends the start of a TLS record, one byte every 150 ms.
    TrickleTls,
    /// Reads part of the `ClientHello`, then closes with data unread (the kernel sends RST).
    ResetMidHandshake,
    /// Completes TLS presenting the leaf plus 400 copies of the CA certificate.
    HugeChain,
    /// Completes TLS, then sends `HTTP/1.1 401` and headers without end.
    EndlessHeaders,
    /// Completes TLS, then sends `HTTP/1.1 401 ...` one byte every 150 ms.
    TrickleHttp,
    /// An SMTP greeting continued (`220-...`) without end.
    EndlessSmtpReply,
    /// An SMTP greeting one byte every 150 ms.
    TrickleSmtp,
}

/// A running hostile server.
pub struct Hostile {
    port: u16,
    written: Arc<AtomicU64>,
}

impl Hostile {
    /// Starts `behaviour` on a free 127.0.0.1 port.
    pub fn start(behaviour: Behaviour, lab: &TlsLab) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("Hostile: bind");
        let port = listener.local_addr().expect("Hostile: addr").port();
        let written = Arc::new(AtomicU64::new(0));
        let config = tls_config(lab, behaviour == Behaviour::HugeChain);
        let counter = Arc::clone(&written);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().take(MAX_CONNECTIONS) {
                let Ok(stream) = stream else { break };
                if behaviour == Behaviour::Silent {
                    held.push(stream);
                    continue;
                }
                let config = Arc::clone(&config);
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || serve(behaviour, stream, &config, &counter));
            }
        });
        Hostile { port, written }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Bytes written to clients so far (flooding servers).
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

fn tls_config(lab: &TlsLab, huge: bool) -> Arc<rustls::ServerConfig> {
    let leaf = CertificateDer::from_pem_file(lab.cert_path("valid")).expect("Hostile: leaf");
    let ca = CertificateDer::from_pem_file(lab.ca_file()).expect("Hostile: CA");
    let key = PrivateKeyDer::from_pem_file(lab.key_path("valid")).expect("Hostile: key");
    let mut chain = vec![leaf];
    if huge {
        chain.extend(std::iter::repeat_n(ca, 400));
    }
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("Hostile: versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("Hostile: certificate");
    Arc::new(config)
}

fn serve(
    behaviour: Behaviour,
    mut tcp: TcpStream,
    config: &Arc<rustls::ServerConfig>,
    written: &AtomicU64,
) {
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(30)));
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(30)));
    match behaviour {
        Behaviour::Silent => {}
        Behaviour::TrickleTls => trickle(&mut tcp, &TLS_START, written),
        Behaviour::ResetMidHandshake => {
            let mut first = [0u8; 8];
            let _ = tcp.read_exact(&mut first);
            // Let the rest of the ClientHello arrive, then close with it unread: RST.
            std::thread::sleep(Duration::from_millis(100));
        }
        Behaviour::TrickleSmtp => {
            trickle(&mut tcp, b"220 smtp.corp.contoso.com ESMTP ready\r\n", written);
        }
        Behaviour::EndlessSmtpReply => {
            flood(&mut tcp, b"220-smtp.corp.contoso.com says hello, and hello again\r\n", written);
        }
        Behaviour::HugeChain | Behaviour::EndlessHeaders | Behaviour::TrickleHttp => {
            let Ok(conn) = rustls::ServerConnection::new(Arc::clone(config)) else { return };
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut request = [0u8; 4096];
            if tls.read(&mut request).is_err() {
                return;
            }
            match behaviour {
                Behaviour::EndlessHeaders
                    if tls.write_all(b"HTTP/1.1 401 Unauthorized\r\n").is_ok() =>
                {
                    flood(
                        &mut tls,
                        b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
                        written,
                    );
                }
                Behaviour::TrickleHttp => {
                    trickle(
                        &mut tls,
                        b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\n\r\n",
                        written,
                    );
                }
                _ => {}
            }
        }
    }
}

/// Writes `bytes` one at a time, 150 ms apart, until done or the client goes away.
fn trickle(out: &mut impl std::io::Write, bytes: &[u8], written: &AtomicU64) {
    for b in bytes {
        if out.write_all(&[*b]).and_then(|()| out.flush()).is_err() {
            return;
        }
        written.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// Writes `line` again and again, up to [`MAX_FLOOD`] bytes, until the client goes away.
fn flood(out: &mut impl std::io::Write, line: &[u8], written: &AtomicU64) {
    let block: Vec<u8> = line.iter().copied().cycle().take(line.len() * 256).collect();
    let mut sent = 0u64;
    while sent < MAX_FLOOD {
        if out.write_all(&block).is_err() {
            return;
        }
        sent += block.len() as u64;
        written.fetch_add(block.len() as u64, Ordering::Relaxed);
    }
}

/// A loopback port whose accept queue is full, so the kernel drops new SYNs: a client's
/// connect hangs as it would towards a firewall that drops packets.
pub struct BlackHole {
    port: u16,
    _fillers: Vec<TcpStream>,
    _listener: tokio::net::TcpListener,
    // Last: the listener is deregistered before its runtime goes.
    _runtime: tokio::runtime::Runtime,
}

impl BlackHole {
    /// Listens with a backlog of 0 and fills the queue until a connect times out.
    pub fn start() -> BlackHole {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("BlackHole: runtime");
        let guard = runtime.enter();
        let socket = tokio::net::TcpSocket::new_v4().expect("BlackHole: socket");
        socket.bind("127.0.0.1:0".parse().expect("address")).expect("BlackHole: bind");
        let listener = socket.listen(0).expect("BlackHole: listen");
        let addr = listener.local_addr().expect("BlackHole: addr");
        drop(guard);
        let mut fillers = Vec::new();
        for _ in 0..16 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
                Ok(s) => fillers.push(s),
                Err(_) => {
                    return BlackHole {
                        port: addr.port(),
                        _fillers: fillers,
                        _listener: listener,
                        _runtime: runtime,
                    };
                }
            }
        }
        panic!("BlackHole: the accept queue of {addr} never filled");
    }

    /// The port where connects hang.
    pub fn port(&self) -> u16 {
        self.port
    }
}
