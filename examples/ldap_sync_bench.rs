//! Runs the `ldap-sync` check once, exactly as `mfa-rollout check mfa.sync-items` would,
//! against any directory, for benches/ldap-sync.sh. It bypasses the rollout file only so
//! that it can bind with a plain DN (an `OpenLDAP` entry), which `ldap_bind`
//! (`DOMAIN\user`) does not take. The password comes from `MFA_ROLLOUT_SECRET_LDAP_PASSWORD`.
//!
//! Usage: `ldap_sync_bench URL BIND_DN GROUP`

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use mfa_rollout::checks::{self, OnDone, Planned, RunOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, bind, group] = args.as_slice() else {
        eprintln!("usage: ldap_sync_bench URL BIND_DN GROUP");
        std::process::exit(2);
    };
    let params: BTreeMap<String, String> = [
        ("url", url.as_str()),
        ("bind", bind.as_str()),
        ("group", group.as_str()),
        ("domain", "corp.contoso.com"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let planned = Planned {
        step: "mfa.sync-items".into(),
        name: "sync coverage (bench)".into(),
        kind: "ldap-sync".into(),
        params,
        not_run: None,
        domain: Some("corp.contoso.com".into()),
    };
    let opts = RunOptions { timeout: Duration::from_secs(300), ..RunOptions::default() };
    let on_done: OnDone = Arc::new(|_, _| {});
    match checks::run_all(vec![planned], &opts, &on_done) {
        Ok(results) => {
            for r in &results {
                println!("{}: {}", r.outcome.as_str(), r.summary);
                for (k, v) in &r.evidence {
                    println!("  {k} = {v}");
                }
            }
            let ok = results.iter().all(|r| matches!(r.outcome.as_str(), "pass" | "warn"));
            std::process::exit(i32::from(!ok));
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}
