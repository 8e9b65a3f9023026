//! The edits against fixtures shaped like the real files (UTF-8 with BOM, CRLF, comments,
//! several appSettings): what changes, that nothing else does, that a second apply is a
//! no-op, and that a malformed file is refused with its line.

use super::*;

const WEB: &[u8] = include_bytes!("../../tests/fixtures/edit/web.config");
const ADAPTER: &[u8] = include_bytes!("../../tests/fixtures/edit/adapter.config");
const SCRIPT: &[u8] = include_bytes!("../../tests/fixtures/edit/register.ps1");
const SCRIPT_CONTINUED: &[u8] = include_bytes!("../../tests/fixtures/edit/register-continued.ps1");

const CONFIG: &str = r"C:\Program Files\Multi-Factor Authentication Server\MultiFactorAuthenticationAdfsAdapter.config";

fn wanted(password: &str) -> Wanted {
    Wanted {
        account: r"CORP\PFWSDK_APP1".into(),
        url: "https://mfa.corp.contoso.com/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx".into(),
        password: Some(password.into()),
        thumbprint: None,
        config_path: CONFIG.into(),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Every line of `after` that differs from `before` (same line count expected).
fn changed_lines(before: &[u8], after: &[u8]) -> Vec<String> {
    let (b, a) = (text(before), text(after));
    let bl: Vec<&str> = b.split("\r\n").collect();
    let al: Vec<&str> = a.split("\r\n").collect();
    assert_eq!(bl.len(), al.len(), "line count changed");
    bl.iter().zip(&al).filter(|(x, y)| x != y).map(|(_, y)| (*y).to_string()).collect()
}

#[test]
fn web_config_sets_the_four_values_and_nothing_else() {
    let out = compute(Target::WebConfig, WEB, &wanted("S3cret&\"x'y>")).unwrap();
    assert!(out.bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "BOM kept");
    assert_eq!(
        changed_lines(WEB, &out.bytes),
        vec![
            r#"    <add key="USE_WEB_SERVICE_SDK" value="true" />"#,
            r#"    <add value="CORP\PFWSDK_APP1" key="WEB_SERVICE_SDK_AUTHENTICATION_USERNAME" />"#,
            r#"    <add key='WEB_SERVICE_SDK_AUTHENTICATION_PASSWORD' value='S3cret&amp;"x&apos;y&gt;' />"#,
            "        <value>https://mfa.corp.contoso.com/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx</value>",
        ]
    );
    assert_eq!(out.changed.len(), 4);

    let again = compute(Target::WebConfig, &out.bytes, &wanted("S3cret&\"x'y>")).unwrap();
    assert_eq!(again.bytes, out.bytes, "a second apply changes nothing");
    assert!(again.changed.is_empty());

    let found = inspect(Target::WebConfig, &out.bytes, &wanted("S3cret&\"x'y>")).unwrap();
    assert!(found.iter().all(|f| matches!(f, Finding::Set { .. })), "{found:?}");
}

#[test]
fn web_config_refuses_a_password_with_angle_bracket_and_letter() {
    let err = compute(Target::WebConfig, WEB, &wanted("abc<def")).unwrap_err();
    assert!(err.message.contains("`<` followed by a letter"), "{}", err.message);
    assert!(!err.message.contains("abc<def"));
    compute(Target::WebConfig, WEB, &wanted("a<1 b< c")).unwrap();
}

#[test]
fn web_config_adds_a_missing_key_with_the_line_indentation() {
    let src = text(WEB).replace("    <add key=\"USE_WEB_SERVICE_SDK\" value=\"false\" />\r\n", "");
    let out = compute(Target::WebConfig, src.as_bytes(), &wanted("pw")).unwrap();
    let t = text(&out.bytes);
    assert!(
        t.contains("\t<add key=\"PFUP_LANGUAGE\" value=\"en\" />\r\n\t<add key=\"USE_WEB_SERVICE_SDK\" value=\"true\" />\r\n  </appSettings>"),
        "{t}"
    );
}

#[test]
fn web_config_inspect_reports_placeholder_wrong_and_missing() {
    let found = inspect(Target::WebConfig, WEB, &wanted("pw")).unwrap();
    let lines: Vec<String> = found.iter().map(Finding::line).collect();
    let joined = lines.join("\n");
    assert!(
        joined.contains("USE_WEB_SERVICE_SDK: wrong (expected `true`, found `false`)"),
        "{joined}"
    );
    assert!(joined.contains("WEB_SERVICE_SDK_AUTHENTICATION_USERNAME: missing"), "{joined}");
    assert!(joined.contains("WEB_SERVICE_SDK_AUTHENTICATION_PASSWORD: missing"), "{joined}");
    assert!(joined.contains("placeholder"), "{joined}");

    let set = compute(Target::WebConfig, WEB, &wanted("right")).unwrap().bytes;
    let found = inspect(Target::WebConfig, &set, &wanted("other")).unwrap();
    let pw = found.iter().find(|f| f.line().starts_with(webconfig::PASSWORD)).unwrap();
    assert_eq!(
        pw.line(),
        format!("{}: wrong (does not match the stored password)", webconfig::PASSWORD)
    );
    let mut none = wanted("x");
    none.password = None;
    let found = inspect(Target::WebConfig, &set, &none).unwrap();
    assert!(found.iter().any(|f| matches!(f, Finding::Unchecked { .. })));
}

#[test]
fn malformed_files_are_refused_with_the_line() {
    let cases: Vec<(&str, String, usize, &str)> = vec![
        ("not xml", text(WEB).replace("</appSettings>", "</appSetting>"), 21, "not well-formed"),
        (
            "two keys",
            text(WEB).replace(
                "<add key=\"SESSION_TIMEOUT_MINUTES\" value=\"20\" />",
                "<add key=\"USE_WEB_SERVICE_SDK\" value=\"true\" />",
            ),
            19,
            "appears twice",
        ),
        (
            "no applicationSettings",
            text(WEB)
                .replace("<applicationSettings>", "<other>")
                .replace("</applicationSettings>", "</other>"),
            6,
            "no <applicationSettings>",
        ),
        ("no appSettings", text(WEB).replace("appSettings>", "appStuff>"), 6, "no <appSettings>"),
    ];
    for (name, src, line, needle) in cases {
        let err = compute(Target::WebConfig, src.as_bytes(), &wanted("pw")).unwrap_err();
        assert_eq!(err.line, line, "{name}: {}", err.message);
        assert!(err.message.contains(needle), "{name}: {}", err.message);
    }
}

#[test]
fn adapter_sets_elements_including_self_closing_ones() {
    let mut w = wanted("pa<ss>");
    w.thumbprint = Some("ab cd ef 01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef 01".into());
    let out = compute(Target::Adapter, ADAPTER, &w).unwrap();
    assert_eq!(
        changed_lines(ADAPTER, &out.bytes),
        vec![
            "  <UseWebServiceSdk>true</UseWebServiceSdk>",
            "  <WebServiceSdkUrl>https://mfa.corp.contoso.com/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx</WebServiceSdkUrl>",
            r"  <WebServiceSdkUsername>CORP\PFWSDK_APP1</WebServiceSdkUsername>",
            "  <WebServiceSdkPassword>pa&lt;ss&gt;</WebServiceSdkPassword>",
            "  <WebServiceSdkCertificateThumbprint>ABCDEF0123456789ABCDEF0123456789ABCDEF01</WebServiceSdkCertificateThumbprint>  ",
        ]
    );
    let again = compute(Target::Adapter, &out.bytes, &w).unwrap();
    assert_eq!(again.bytes, out.bytes);
    let found = inspect(Target::Adapter, &out.bytes, &w).unwrap();
    assert!(found.iter().all(|f| matches!(f, Finding::Set { .. })), "{found:?}");
}

#[test]
fn adapter_refuses_ampersand_and_leaves_thumbprint_alone_when_not_asked() {
    let err = compute(Target::Adapter, ADAPTER, &wanted("a&b")).unwrap_err();
    assert!(err.message.contains("`&`"));
    let out = compute(Target::Adapter, ADAPTER, &wanted("ab")).unwrap();
    assert!(text(&out.bytes).contains("<WebServiceSdkCertificateThumbprint />  \r\n"));
}

#[test]
fn adapter_adds_a_missing_element_after_the_last_one() {
    let src = text(ADAPTER).replace("  <WebServiceSdkPassword />\r\n", "");
    let out = compute(Target::Adapter, src.as_bytes(), &wanted("pw")).unwrap();
    assert!(text(&out.bytes).contains(
        "<WebServiceSdkUsername>CORP\\PFWSDK_APP1</WebServiceSdkUsername>\r\n  <WebServiceSdkPassword>pw</WebServiceSdkPassword>\r\n"
    ));
}

#[test]
fn script_appends_the_parameter_once_before_the_comment() {
    let out = compute(Target::Script, SCRIPT, &wanted("")).unwrap();
    assert_eq!(
        changed_lines(SCRIPT, &out.bytes),
        vec![format!(
            "Register-AdfsAuthenticationProvider -TypeName $typeName -Name WindowsAzureMultiFactorAuthentication -Verbose -ConfigurationFilePath '{CONFIG}'   # farm-wide"
        )]
    );
    let again = compute(Target::Script, &out.bytes, &wanted("")).unwrap();
    assert_eq!(again.bytes, out.bytes);
    let found = inspect(Target::Script, &out.bytes, &wanted("")).unwrap();
    assert!(matches!(found[0], Finding::Set { .. }), "{found:?}");
    assert!(matches!(
        inspect(Target::Script, SCRIPT, &wanted("")).unwrap()[0],
        Finding::Missing { .. }
    ));
}

#[test]
fn script_follows_backtick_continuations_and_replaces_a_wrong_path() {
    let out = compute(Target::Script, SCRIPT_CONTINUED, &wanted("")).unwrap();
    let t = text(&out.bytes);
    assert!(t.contains(&format!("-Name WindowsAzureMultiFactorAuthentication -ConfigurationFilePath '{CONFIG}'\nWrite-Host")), "{t}");

    let wrong = t.replace(CONFIG, r"C:\old\adapter.config");
    let found = inspect(Target::Script, wrong.as_bytes(), &wanted("")).unwrap();
    assert!(matches!(found[0], Finding::Wrong { .. }), "{found:?}");
    let fixed = compute(Target::Script, wrong.as_bytes(), &wanted("")).unwrap();
    assert_eq!(text(&fixed.bytes), t);
}

#[test]
fn script_without_or_with_two_commands_is_refused() {
    let err = compute(Target::Script, b"Write-Host hi\n", &wanted("")).unwrap_err();
    assert!(err.message.contains("no `Register-AdfsAuthenticationProvider`"));
    let two = "Register-AdfsAuthenticationProvider -Name A\nif ($x) { Register-AdfsAuthenticationProvider -Name B }\n";
    let err = compute(Target::Script, two.as_bytes(), &wanted("")).unwrap_err();
    assert_eq!(err.line, 2);
}

#[test]
fn script_quotes_paths_with_quotes() {
    assert_eq!(script::quote(r"C:\it's here\a.config"), r"'C:\it''s here\a.config'");
}

#[test]
fn url_problems_are_found() {
    let cases = [
        ("https://mfa.corp.contoso.com/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx", None),
        ("http://mfa.corp.contoso.com/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx", Some("http")),
        ("https://10.0.0.5/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx", Some("IP address")),
        ("https://[::1]/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx", Some("IP address")),
        ("http://localhost:4898/PfWsSdk.asmx", Some("placeholder")),
        ("https://www.contoso.com/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx", Some("placeholder")),
        ("https://mfa.corp.contoso.com/MultiFactorAuthWebServiceSdk/", Some("PfWsSdk.asmx")),
    ];
    for (url, want) in cases {
        match (url_problem(url), want) {
            (None, None) => {}
            (Some(p), Some(w)) => assert!(p.contains(w), "{url}: {p}"),
            (got, _) => panic!("{url}: {got:?}"),
        }
    }
}

#[test]
fn the_diff_masks_old_and_new_passwords() {
    let first = compute(Target::WebConfig, WEB, &wanted("OldPass&1")).unwrap();
    let second = compute(Target::WebConfig, &first.bytes, &wanted("NewPass\"2")).unwrap();
    let d = diff::unified("web.config", &first.bytes, &second.bytes, &second.secrets);
    assert!(d.contains(diff::MASK), "{d}");
    for leak in ["OldPass", "NewPass"] {
        assert!(!d.contains(leak), "{leak} leaked: {d}");
    }
    let a = compute(Target::Adapter, ADAPTER, &wanted("Adapter!9")).unwrap();
    let d = diff::unified("a", ADAPTER, &a.bytes, &a.secrets);
    assert!(!d.contains("Adapter!9"), "{d}");
    assert!(d.contains("+  <UseWebServiceSdk>true"), "{d}");
}

#[test]
fn utf16_and_lf_files() {
    let err = compute(Target::WebConfig, &[0xFF, 0xFE, b'<', 0], &wanted("x")).unwrap_err();
    assert!(err.message.contains("UTF-16"));
    let lf = text(WEB).replace("\r\n", "\n");
    let out = compute(Target::WebConfig, lf.as_bytes(), &wanted("x")).unwrap();
    assert!(!text(&out.bytes).contains('\r'));
}

#[test]
fn a_parse_error_on_the_password_line_does_not_quote_it() {
    let src = text(WEB).replace(
        "<add key='WEB_SERVICE_SDK_AUTHENTICATION_PASSWORD' value='' />",
        "<add key='WEB_SERVICE_SDK_AUTHENTICATION_PASSWORD' value='Hid&den;' />",
    );
    let err = inspect(Target::WebConfig, src.as_bytes(), &wanted("x")).unwrap_err();
    assert_eq!(err.line, 18);
    assert!(!err.message.contains("den"), "{}", err.message);
}
