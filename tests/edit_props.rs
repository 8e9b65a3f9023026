//! Property tests of the file edits: for any values, apply then read back gives the values,
//! every byte outside the edited values is unchanged, and a second apply is a no-op.

use mfa_rollout::edit::{Finding, Target, Wanted, compute, inspect};
use proptest::prelude::*;

const WEB: &[u8] = include_bytes!("fixtures/edit/web.config");
const ADAPTER: &[u8] = include_bytes!("fixtures/edit/adapter.config");
const SCRIPT: &[u8] = include_bytes!("fixtures/edit/register.ps1");

/// Printable text with the characters XML and PowerShell care about.
fn value() -> impl Strategy<Value = String> {
    // Values come from variables, which are trimmed: no blank at either end.
    proptest::string::string_regex(r#"[A-Za-z0-9&<>"'\\/:;.$`#é-][A-Za-z0-9 &<>"'\\/:;.$`#é-]{0,22}[A-Za-z0-9&<>"'\\/:;.$`#é-]"#).unwrap()
}

fn wanted(account: &str, url: &str, password: &str, path: &str) -> Wanted {
    Wanted {
        account: account.into(),
        url: url.into(),
        password: Some(password.into()),
        thumbprint: None,
        config_path: path.into(),
    }
}

/// The bytes of `before` and `after` outside the changed lines agree, and the lines are
/// the same in number (the edits never add or remove a line in these fixtures).
fn same_outside(before: &[u8], after: &[u8], changed_markers: &[&str]) {
    let b = String::from_utf8_lossy(before);
    let a = String::from_utf8_lossy(after);
    let bl: Vec<&str> = b.split_inclusive('\n').collect();
    let al: Vec<&str> = a.split_inclusive('\n').collect();
    assert_eq!(bl.len(), al.len());
    for (x, y) in bl.iter().zip(&al) {
        if x != y {
            assert!(
                changed_markers.iter().any(|m| x.contains(m)),
                "an unrelated line changed:\n{x}\n{y}"
            );
            // The line's prefix up to the value and its line ending are kept.
            assert_eq!(x.ends_with("\r\n"), y.ends_with("\r\n"));
            let lead = |s: &str| s.len() - s.trim_start().len();
            assert_eq!(lead(x), lead(y));
        }
    }
    assert_eq!(&after[..3], &before[..3], "BOM kept");
}

fn all_set(found: &[Finding]) -> bool {
    found.iter().all(|f| matches!(f, Finding::Set { .. } | Finding::Problem { .. }))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn web_config_round_trip(account in value(), url in value(), password in value()) {
        let w = wanted(&account, &url, &password, "");
        let Ok(out) = compute(Target::WebConfig, WEB, &w) else {
            // Refused only for `<` followed by a letter.
            prop_assert!(password.as_bytes().windows(2).any(|p| p[0] == b'<' && p[1].is_ascii_alphabetic()));
            return Ok(());
        };
        same_outside(WEB, &out.bytes, &["USE_WEB_SERVICE_SDK", "WEB_SERVICE_SDK_AUTHENTICATION", "<value>"]);
        let found = inspect(Target::WebConfig, &out.bytes, &w).unwrap();
        prop_assert!(all_set(&found), "{found:?}");
        let again = compute(Target::WebConfig, &out.bytes, &w).unwrap();
        prop_assert_eq!(again.bytes, out.bytes);
    }

    #[test]
    fn adapter_round_trip(account in value(), url in value(), password in value()) {
        let w = wanted(&account, &url, &password, "");
        let Ok(out) = compute(Target::Adapter, ADAPTER, &w) else {
            prop_assert!(password.contains('&'));
            return Ok(());
        };
        same_outside(ADAPTER, &out.bytes, &["<UseWebServiceSdk>", "<WebServiceSdk"]);
        let found = inspect(Target::Adapter, &out.bytes, &w).unwrap();
        prop_assert!(all_set(&found), "{found:?}");
        let again = compute(Target::Adapter, &out.bytes, &w).unwrap();
        prop_assert_eq!(again.bytes, out.bytes);
    }

    #[test]
    fn script_round_trip(path in r"C:\\[A-Za-z0-9 '$&()._-]{1,30}\\[A-Za-z0-9 ._-]{1,20}\.config") {
        let w = wanted("", "", "", &path);
        let out = compute(Target::Script, SCRIPT, &w).unwrap();
        same_outside(SCRIPT, &out.bytes, &["Register-AdfsAuthenticationProvider -TypeName"]);
        let found = inspect(Target::Script, &out.bytes, &w).unwrap();
        prop_assert!(matches!(&found[0], Finding::Set { value, .. } if value == &path), "{found:?}");
        let again = compute(Target::Script, &out.bytes, &w).unwrap();
        prop_assert_eq!(again.bytes, out.bytes);
    }
}
