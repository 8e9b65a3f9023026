//! The probe judges, fed JSON documents in the shape the scripts print: success, a missing
//! item, PowerShell's own error text, garbage; and the command text the runner sends.

use std::collections::BTreeMap;

use super::*;

fn planned(probe: &str, params: &[(&str, &str)]) -> Planned {
    let mut map: BTreeMap<String, String> =
        params.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
    map.insert("probe".into(), probe.into());
    Planned {
        step: "primary.cert".into(),
        name: format!("{probe} probe"),
        kind: "powershell".into(),
        params: map,
        not_run: None,
        domain: None,
    }
}

fn now() -> time::OffsetDateTime {
    time::macros::datetime!(2026-12-01 00:00 UTC)
}

fn judged(probe: &str, params: &[(&str, &str)], stdout: &str) -> CheckResult {
    let out = Ok(Output { exit_code: Some(0), stdout: stdout.into(), stderr: String::new() });
    judge(&planned(probe, params), probe, &out, 42, now())
}

const CERT_OK: &str = r#"{"certificates":[{"subject":"mfa.corp.contoso.com","sans":["mfa.corp.contoso.com"],"thumbprint":"AB12","serial":"01","issuer":"CN=Corp CA","not_before":"2026-01-01T00:00:00Z","not_after":"2027-06-01T00:00:00Z","has_private_key":true}]}"#;

#[test]
fn cert_cases() {
    let p = [("host", "mfa.corp.contoso.com")];
    let r = judged("cert", &p, CERT_OK);
    assert_eq!(r.outcome, Outcome::Pass, "{}", r.summary);
    assert_eq!(r.evidence["thumbprint"], "AB12");
    assert_eq!(r.evidence["expires"], "2027-06-01T00:00:00Z");

    let no_key = CERT_OK.replace("\"has_private_key\":true", "\"has_private_key\":false");
    assert_eq!(judged("cert", &p, &no_key).outcome, Outcome::Fail);
    let soon = CERT_OK.replace("2027-06-01", "2026-12-20");
    assert_eq!(judged("cert", &p, &soon).outcome, Outcome::Warn);
    let expired = CERT_OK.replace("2027-06-01", "2026-11-20");
    assert_eq!(judged("cert", &p, &expired).outcome, Outcome::Fail);
    let r = judged("cert", &[("host", "app1"), ("also_names", "mfaweb.corp.contoso.com")], CERT_OK);
    assert!(r.outcome == Outcome::Fail && r.summary.contains("mfaweb"), "{}", r.summary);
    let none = judged("cert", &p, r#"{"certificates":[]}"#);
    assert!(none.outcome == Outcome::Fail && none.summary.contains("no certificate"));
    // PowerShell 5.1 writes a one-item array as a bare object.
    let bare = CERT_OK.replace("[{", "{").replace("}]}", "}}");
    assert_eq!(judged("cert", &p, &bare).outcome, Outcome::Pass);
}

#[test]
fn features_report_the_missing_names() {
    let p = [("features", "Web-Default-Doc, Web-Basic-Auth, Web-Asp-Net45")];
    let ok = r#"{"features":[{"name":"Web-Default-Doc","installed":true},{"name":"Web-Basic-Auth","installed":true},{"name":"Web-Asp-Net45","installed":true}]}"#;
    assert_eq!(judged("features", &p, ok).outcome, Outcome::Pass);
    let missing = ok.replace(
        r#"{"name":"Web-Basic-Auth","installed":true},"#,
        r#"{"name":"Web-Basic-Auth","installed":false},"#,
    );
    let r = judged("features", &p, &missing);
    assert_eq!(r.outcome, Outcome::Fail);
    assert_eq!(r.evidence["missing"], "Web-Basic-Auth");
    assert!(r.hint.contains("Install-WindowsFeature -Name Web-Basic-Auth"));
}

#[test]
fn updates_binding_service_provider_runtime_root() {
    assert_eq!(
        judged("updates", &[], r#"{"pending":[],"reboot_required":false}"#).outcome,
        Outcome::Pass
    );
    assert_eq!(
        judged("updates", &[], r#"{"pending":null,"reboot_required":true}"#).outcome,
        Outcome::Warn
    );
    let r = judged(
        "updates",
        &[],
        r#"{"pending":{"title":"2026-11 CU","kb":"KB5000001"},"reboot_required":false}"#,
    );
    assert!(r.outcome == Outcome::Fail && r.summary.contains("KB5000001"), "{}", r.summary);

    let p = [("site", "Default Web Site"), ("host", "mfa.corp.contoso.com")];
    let bound =
        r#"{"bindings":[{"binding":"*:443:","thumbprint":"ab12"}],"certificates":["AB12"]}"#;
    assert_eq!(judged("binding", &p, bound).outcome, Outcome::Pass);
    let other = bound.replace("\"ab12\"", "\"CD34\"");
    assert_eq!(judged("binding", &p, &other).outcome, Outcome::Fail);
    let r = judged("binding", &p, r#"{"bindings":[],"certificates":["AB12"]}"#);
    assert!(r.summary.contains("no https binding"));

    let p = [("service", "Multi-Factor Auth Server")];
    let running = r#"{"services":[{"name":"MultiFactorAuthSvc","display_name":"Multi-Factor Auth Server","status":"Running","start_type":"Auto"}]}"#;
    assert_eq!(judged("service", &p, running).outcome, Outcome::Pass);
    assert_eq!(
        judged("service", &p, &running.replace("Running", "Stopped")).outcome,
        Outcome::Fail
    );
    assert!(judged("service", &p, r#"{"services":[]}"#).summary.contains("not installed"));

    let both = r#"{"providers":["FormsAuthentication","AzureMfaServerAuthentication"],"additional":["AzureMfaServerAuthentication"]}"#;
    let r = judged("provider", &[], both);
    assert_eq!(r.outcome, Outcome::Pass);
    assert_eq!(r.evidence["provider_name"], "AzureMfaServerAuthentication");
    let off = r#"{"providers":["WindowsAzureMultiFactorAuthentication"],"additional":null}"#;
    assert_eq!(judged("provider", &[], off).outcome, Outcome::Warn);
    assert_eq!(
        judged("provider", &[], r#"{"providers":"FormsAuthentication","additional":[]}"#).outcome,
        Outcome::Fail
    );

    let rt = r#"{"runtimes":[{"arch":"x86","installed":true,"version":"v14.40"},{"arch":"x64","installed":false,"version":""}]}"#;
    let r = judged("vc-runtime", &[], rt);
    assert!(r.outcome == Outcome::Fail && r.summary.ends_with("x64"), "{}", r.summary);

    let root = r#"{"host":"mfa.corp.contoso.com","subject":"CN=mfa","chain_ok":true,"status":[],"root_subject":"CN=Corp Root","root_thumbprint":"EE","root_in_store":true}"#;
    assert_eq!(judged("root-trusted", &[], root).outcome, Outcome::Pass);
    let untrusted = root
        .replace("\"chain_ok\":true", "\"chain_ok\":false")
        .replace("\"root_in_store\":true", "\"root_in_store\":false");
    assert_eq!(judged("root-trusted", &[], &untrusted).outcome, Outcome::Fail);
}

#[test]
fn errors_and_garbage_are_errors_not_failures() {
    let ps_error = "WARNING: something\n{\"error\":\"Access is denied.\"}\n";
    let r = judged("service", &[("service", "adfssrv")], ps_error);
    assert_eq!(r.outcome, Outcome::Error);
    assert!(r.summary.contains("Access is denied") && r.hint.contains("elevated"), "{r:?}");

    let stderr_only = Ok(Output {
        exit_code: Some(1),
        stdout: String::new(),
        stderr: "Get-AdfsAuthenticationProvider : The term 'Get-AdfsAuthenticationProvider' is not recognized".into(),
    });
    let r = judge(&planned("provider", &[]), "provider", &stderr_only, 42, now());
    assert!(r.outcome == Outcome::Error && r.summary.contains("not recognized"), "{}", r.summary);

    for garbage in ["", "<html>nope</html>", "{not json", "[1,2,3]"] {
        let r = judged("cert", &[("host", "x")], garbage);
        assert_eq!(r.outcome, Outcome::Error, "{garbage}");
    }
    let missing_exe = Err("program not found".to_string());
    assert_eq!(
        judge(&planned("cert", &[]), "cert", &missing_exe, 42, now()).outcome,
        Outcome::Error
    );
}

#[test]
fn command_text_passes_parameters_as_literals() {
    let p = planned("features", &[("features", "Web-Default-Doc, It's")]);
    let text = command_text(probe("features").unwrap(), &p);
    assert!(text.contains("-Features @('Web-Default-Doc','It''s')"), "{text}");
    assert!(text.contains("param([string[]]$Features)"));
    assert!(text.contains("ConvertTo-Json"));
}

#[test]
fn every_probe_prints_json_and_declares_its_parameters() {
    for p in PROBES {
        assert!(p.script.contains("ConvertTo-Json -Compress"), "{}", p.name);
        for (_, ps, _) in p.params {
            assert!(p.script.contains(&format!("${ps}")), "{} lacks ${ps}", p.name);
        }
    }
}

#[cfg(not(windows))]
#[tokio::test]
async fn off_windows_every_probe_is_not_run() {
    for p in PROBES {
        let r = run(&planned(p.name, &[]), &RunOptions::default()).await;
        assert_eq!(r.outcome, Outcome::NotRun, "{}", p.name);
        assert_eq!(r.summary, "needs Windows");
    }
}
