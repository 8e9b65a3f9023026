//! A Samba 4 Active Directory domain controller for `corp.contoso.com` on 127.0.0.2
//! (LDAP 389 with `StartTLS`, LDAPS 636, DNS 53), with a certificate for
//! `dc1.corp.contoso.com` from the lab's private CA.
//!
//! `start` adds the loopback alias 127.0.0.2 when it is missing (and removes it again on
//! drop), provisions a fresh domain into a temp folder (the `dns forwarder` line deleted,
//! so nothing is forwarded off the machine), starts `samba` in its own process group with
//! `setsid`, and waits for LDAP. `Drop` sends SIGTERM to that group by PID, waits, and
//! cleans up. Tests create their own objects with [`SambaLab::add`] / [`SambaLab::tool`].

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Issuer, Spec, find_tool, issue, make_ca, run, run_with_stdin, unix_now};

/// The lab DC's address.
pub const ADDR: &str = "127.0.0.2";
/// The DC's name on its certificate.
pub const DC: &str = "dc1.corp.contoso.com";
/// The domain's naming context.
pub const BASE: &str = "DC=corp,DC=contoso,DC=com";
/// Administrator's password (also the directory checks' bind password in tests).
pub const ADMIN_PASSWORD: &str = "Lab-Admin.Passw0rd!7x";
/// The bind name tests use.
pub const BIND: &str = "CORP\\Administrator";

const DC_SPEC: Spec = Spec {
    name: "dc1",
    cn: DC,
    sans: &[DC],
    issuer: Issuer::Trusted,
    start: -86_400,
    end: 365 * 86_400,
};

pub struct SambaLab {
    dir: tempfile::TempDir,
    child: Option<Child>,
    alias_added: bool,
    ca: PathBuf,
    /// How long provisioning + start + ready took.
    pub started_in: Duration,
}

// The helpers take `&self`: they only make sense while this lab's DC runs.
#[allow(clippy::unused_self)]
impl SambaLab {
    pub fn start() -> SambaLab {
        let t0 = Instant::now();
        let samba = find_tool("samba", "samba-ad-dc");
        let samba_tool = find_tool("samba-tool", "samba");
        let openssl = find_tool("openssl", "openssl");
        find_tool("ldapmodify", "ldap-utils");
        let alias_added = add_alias();
        let dir =
            tempfile::Builder::new().prefix("mfa-samba-").tempdir().expect("SambaLab: temp dir");
        let root = dir.path().to_path_buf();
        let prov = root.join("dc");
        let ca_dir = root.join("ca");
        fs::create_dir_all(&prov).expect("SambaLab: mkdir");
        fs::create_dir_all(&ca_dir).expect("SambaLab: mkdir");
        let ca = make_ca(&openssl, &ca_dir, super::CA_CN);
        let cert = issue(&openssl, &ca_dir, &ca_dir, &DC_SPEC, unix_now());
        fs::write(prov.join("empty.conf"), "").expect("SambaLab: empty.conf");
        let p = prov.display().to_string();
        let mut cmd = Command::new(&samba_tool);
        cmd.args(["domain", "provision"])
            .arg(format!("--targetdir={p}"))
            .arg("-s")
            .arg(prov.join("empty.conf"))
            .args([
                "--realm=CORP.CONTOSO.COM",
                "--domain=CORP",
                "--server-role=dc",
                "--dns-backend=SAMBA_INTERNAL",
                "--host-name=dc1",
            ])
            .arg(format!("--adminpass={ADMIN_PASSWORD}"))
            .args([
                "--option=ldb:nosync=true",
                "--option=interfaces=127.0.0.2",
                "--option=bind interfaces only=yes",
                "--option=disable netbios=yes",
                "--option=dns update command=/bin/true",
                "--option=spn update command=/bin/true",
            ])
            .arg(format!("--option=pid directory={p}/run"))
            .arg(format!("--option=ncalrpc dir={p}/run/ncalrpc"))
            .arg(format!("--option=winbindd socket directory={p}/run/winbindd"))
            .arg(format!("--option=ntp signd socket directory={p}/run/ntp_signd"))
            .arg(format!("--option=log file={p}/log.%m"));
        run(&mut cmd, "samba-tool domain provision");
        let conf = prov.join("etc/smb.conf");
        let text = fs::read_to_string(&conf).expect("SambaLab: read smb.conf");
        let mut out = String::new();
        for line in text.lines() {
            // Never forward lab queries off the machine.
            if line.trim_start().starts_with("dns forwarder") {
                continue;
            }
            out.push_str(line);
            out.push('\n');
            if line.trim() == "[global]" {
                let _ = write!(
                    out,
                    "\ttls enabled = yes\n\ttls certfile = {}\n\ttls keyfile = {}\n\ttls cafile = {}\n\tldap server require strong auth = no\n",
                    cert.cert.display(),
                    cert.key.display(),
                    ca.display()
                );
            }
        }
        fs::write(&conf, out).expect("SambaLab: write smb.conf");
        let child = Command::new("setsid")
            .arg(&samba)
            .arg("-s")
            .arg(&conf)
            .args(["-F", "--no-process-group", "-M", "single"])
            .stdin(Stdio::null())
            .stdout(fs::File::create(root.join("samba.out")).expect("SambaLab: log"))
            .stderr(Stdio::from(fs::File::create(root.join("samba.err")).expect("SambaLab: log")))
            .spawn()
            .expect("SambaLab: spawn samba");
        let mut lab =
            SambaLab { dir, child: Some(child), alias_added, ca, started_in: Duration::ZERO };
        lab.wait_ready();
        // The DC's own A record, for SRV discovery (dns update command is /bin/true).
        lab.tool(&["dns", "add", ADDR, "corp.contoso.com", "dc1", "A", ADDR]);
        lab.started_in = t0.elapsed();
        eprintln!("SambaLab: provisioned and ready in {:.1} s", lab.started_in.as_secs_f32());
        lab
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = Command::new("ldapsearch")
                .args([
                    "-x",
                    "-H",
                    "ldap://127.0.0.2",
                    "-b",
                    "",
                    "-s",
                    "base",
                    "defaultNamingContext",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(BASE));
            if ok {
                return;
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                panic!("SambaLab: samba exited ({status}):\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "SambaLab: LDAP not ready in 60 s:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log(&self) -> String {
        let mut s = String::new();
        for f in ["samba.out", "samba.err"] {
            s += &fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
        }
        s
    }

    /// The CA that issued the DC's certificate (for `--ca-file`).
    pub fn ca_file(&self) -> &Path {
        &self.ca
    }

    /// `--connect` value reaching the DC's name at the lab address.
    pub fn connect_arg(&self) -> String {
        format!("{DC}={ADDR}")
    }

    /// Runs `samba-tool ARGS -H ldap://127.0.0.2 -U Administrator%…`; panics on failure.
    pub fn tool(&self, args: &[&str]) -> String {
        let mut cmd = Command::new("samba-tool");
        cmd.args(args)
            .arg("--use-kerberos=off")
            .arg(format!("-UCORP\\Administrator%{ADMIN_PASSWORD}"));
        // `dns` subcommands name the server as an argument; the others take -H.
        if args.first() != Some(&"dns") {
            cmd.args(["-H", "ldap://127.0.0.2"]);
        }
        run(&mut cmd, "samba-tool")
    }

    /// Applies LDIF (changetype records, or plain entries = add) as Administrator.
    pub fn modify(&self, ldif: &str) {
        run_with_stdin(
            Command::new("ldapmodify").args([
                "-x",
                "-H",
                "ldap://127.0.0.2",
                "-D",
                BIND,
                "-w",
                ADMIN_PASSWORD,
            ]),
            ldif.as_bytes(),
            "ldapmodify",
        );
    }

    /// Adds a group under CN=Users; returns its DN.
    pub fn group(&self, cn: &str) -> String {
        let dn = format!("CN={},CN=Users,{BASE}", ldap3_escape_dn(cn));
        self.modify(&format!(
            "dn: {dn}\nchangetype: add\nobjectClass: group\nsAMAccountName: {}\n\n",
            sam(cn)
        ));
        dn
    }

    /// Adds an enabled user without a password (UAC 544) under CN=Users; returns its DN.
    pub fn user(&self, cn: &str, extra: &str) -> String {
        let dn = format!("CN={},CN=Users,{BASE}", ldap3_escape_dn(cn));
        self.modify(&format!(
            "dn: {dn}\nchangetype: add\nobjectClass: user\nsAMAccountName: {}\nuserAccountControl: 544\n{extra}\n",
            sam(cn)
        ));
        dn
    }

    /// Adds `member` (a DN) to `group` (a DN).
    pub fn add_member(&self, group: &str, member: &str) {
        self.modify(&format!(
            "dn: {group}\nchangetype: modify\nadd: member\nmember: {member}\n-\n\n"
        ));
    }
}

/// sAMAccountName from a CN: at most 20 characters, no `,` `"` etc.
fn sam(cn: &str) -> String {
    cn.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == ' ' || *c == '$')
        .take(20)
        .collect()
}

/// RFC 4514 escaping of a DN value (enough for the names tests use).
pub fn ldap3_escape_dn(v: &str) -> String {
    let mut out = String::new();
    for (i, c) in v.chars().enumerate() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && matches!(c, '#' | ' '))
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Drop for SambaLab {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id();
            // setsid made samba the leader of its own group: signal the group by PID.
            let _ = Command::new("kill").args(["-TERM", "--", &format!("-{pid}")]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if self.alias_added {
            let _ = Command::new("ip").args(["addr", "del", "127.0.0.2/8", "dev", "lo"]).status();
        }
    }
}

/// Adds 127.0.0.2/8 to lo when missing; true when this call added it.
fn add_alias() -> bool {
    let shown = Command::new("ip")
        .args(["-4", "addr", "show", "dev", "lo"])
        .output()
        .expect("SambaLab: ip");
    if String::from_utf8_lossy(&shown.stdout).contains("127.0.0.2/") {
        return false;
    }
    let ok = Command::new("ip")
        .args(["addr", "add", "127.0.0.2/8", "dev", "lo"])
        .status()
        .expect("SambaLab: ip");
    assert!(ok.success(), "SambaLab: cannot add 127.0.0.2 to lo (needs root)");
    true
}
