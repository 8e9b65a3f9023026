//! Directory checks against hostile LDAP servers written here in a few lines of BER: one
//! that accepts and never answers, one that closes the connection in the middle of a
//! search, one that answers with a referral. Each must give a clear result within about
//! one timeout: never a hang, never a panic, never the password.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

const PASSWORD: &str = "Hostile-Lab.Passw0rd!5";

#[derive(Clone, Copy)]
enum Mode {
    Silent,
    CloseMidSearch,
    Referral,
}

/// Reads one LDAP message; returns (message id, operation tag).
fn read_message(s: &mut TcpStream) -> Option<(u8, u8)> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).ok()?;
    let len = if head[1] & 0x80 == 0 {
        usize::from(head[1])
    } else {
        let n = usize::from(head[1] & 0x7f);
        let mut b = vec![0u8; n];
        s.read_exact(&mut b).ok()?;
        b.iter().fold(0usize, |a, x| (a << 8) | usize::from(*x))
    };
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    // 02 01 ID <op tag>
    Some((body[2], body[3]))
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    if content.len() < 0x80 {
        out.push(u8::try_from(content.len()).unwrap());
    } else {
        out.push(0x82);
        out.extend(u16::try_from(content.len()).unwrap().to_be_bytes());
    }
    out.extend(content);
    out
}

fn message(id: u8, op: &[u8]) -> Vec<u8> {
    let mut inner = vec![0x02, 0x01, id];
    inner.extend(op);
    tlv(0x30, &inner)
}

fn serve(mode: Mode) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { return };
            std::thread::spawn(move || {
                let mut searches = 0;
                while let Some((id, op)) = read_message(&mut s) {
                    if op == 0x63 {
                        searches += 1;
                        if searches == 1 && !matches!(mode, Mode::Silent) {
                            // The rootDSE probe: an empty, successful answer (not AD).
                            let _ = s.write_all(&message(
                                id,
                                &[0x65, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00],
                            ));
                            continue;
                        }
                    }
                    match (mode, op) {
                        (Mode::Silent, _) => {
                            std::thread::sleep(Duration::from_secs(60));
                            return;
                        }
                        (_, 0x60) => {
                            // BindResponse: success
                            let _ = s.write_all(&message(
                                id,
                                &[0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00],
                            ));
                        }
                        (Mode::CloseMidSearch, 0x63) => {
                            let dn = b"CN=Half,DC=corp,DC=contoso,DC=com";
                            let mut entry = tlv(0x04, dn);
                            entry.extend([0x30, 0x00]);
                            let _ = s.write_all(&message(id, &tlv(0x64, &entry)));
                            return; // drop the connection mid-search
                        }
                        (Mode::Referral, 0x63) => {
                            let url = b"ldap://elsewhere.example.net/DC=corp,DC=contoso,DC=com";
                            let mut done = vec![0x0a, 0x01, 0x0a, 0x04, 0x00, 0x04, 0x00];
                            done.extend(tlv(0xa3, &tlv(0x04, url)));
                            let _ = s.write_all(&message(id, &tlv(0x65, &done)));
                        }
                        _ => return,
                    }
                }
            });
        }
    });
    port
}

fn run_check(port: u16) -> (i32, Value, String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_mfa-rollout");
    let init = Command::new(bin)
        .current_dir(dir.path())
        .args(["init", "--profile", "demo", "--set", "ldap_url=ldap://dc9.corp.contoso.com/?plain"])
        .env_remove("MFA_ROLLOUT_STATE")
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let connect = format!("dc9.corp.contoso.com=127.0.0.1:{port}");
    let started = Instant::now();
    let out = Command::new(bin)
        .current_dir(dir.path())
        .args([
            "check",
            "primary.phonefactor-group",
            "--format",
            "json",
            "--timeout",
            "2",
            "--connect",
            &connect,
        ])
        .env_remove("MFA_ROLLOUT_STATE")
        .env("MFA_ROLLOUT_SECRET_LDAP_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &stdout;
    assert!(!text.contains(PASSWORD), "the password leaked:\n{text}");
    assert!(!text.contains("panicked"), "{text}");
    let json: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    let r = json["results"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["kind"] == "ldap-group").cloned())
        .unwrap_or_else(|| panic!("no ldap-group result:\n{text}"));
    (out.status.code().unwrap_or(-1), r, text, took)
}

#[test]
fn a_dc_that_never_answers_costs_one_timeout() {
    let (code, r, text, took) = run_check(serve(Mode::Silent));
    assert_eq!((code, r["outcome"].as_str()), (2, Some("error")), "{text}");
    assert!(took < Duration::from_secs(5), "took {took:?}: {text}");
}

#[test]
fn a_dc_that_closes_mid_search_is_an_error_not_a_hang() {
    let (code, r, text, took) = run_check(serve(Mode::CloseMidSearch));
    assert_eq!((code, r["outcome"].as_str()), (2, Some("error")), "{text}");
    assert!(r["summary"].as_str().unwrap().contains("PhoneFactor Admins"), "{r:#}");
    assert!(took < Duration::from_secs(5), "took {took:?}: {text}");
}

#[test]
fn a_referral_is_named() {
    let (code, r, text, _) = run_check(serve(Mode::Referral));
    assert_eq!((code, r["outcome"].as_str()), (2, Some("error")), "{text}");
    assert!(r["summary"].as_str().unwrap().contains("referral"), "{r:#}");
}
