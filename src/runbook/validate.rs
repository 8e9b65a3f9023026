//! One validator per variable kind. Each returns the reason a value is refused, worded so
//! the operator can fix it (`mfa-rollout set NAME=VALUE`).

use serde::{Deserialize, Serialize};

/// The kinds of value a runbook variable can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VarKind {
    Fqdn,
    Netbios,
    Sam,
    Account,
    Name,
    Url,
    LdapUrl,
    Ipv4,
    Hostport,
    Number,
    Path,
    Vdir,
    Email,
    Cidr,
    /// DOMAIN\user or a user principal name (user@corp.contoso.com).
    Principal,
    Text,
}

/// Checks one (non-empty) value of `kind`; `min`/`max` bound numbers.
pub fn check(kind: VarKind, value: &str, min: Option<i64>, max: Option<i64>) -> Result<(), String> {
    if value.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    match kind {
        VarKind::Fqdn => fqdn(value),
        VarKind::Netbios => netbios(value),
        VarKind::Sam => sam(value),
        VarKind::Account => account(value),
        VarKind::Name => name(value),
        VarKind::Url => url(value, &["https://", "http://"]),
        VarKind::LdapUrl => url(value, &["ldaps://", "ldap://"]),
        VarKind::Ipv4 => value
            .parse::<std::net::Ipv4Addr>()
            .map(|_| ())
            .map_err(|_| "is not an IPv4 address like 10.0.0.50".into()),
        VarKind::Hostport => hostport(value),
        VarKind::Number => number(value, min, max),
        VarKind::Path => path(value),
        VarKind::Vdir => vdir(value),
        VarKind::Email => email(value),
        VarKind::Cidr => cidr(value),
        VarKind::Principal => {
            if value.contains('\\') {
                account(value)
            } else {
                email(value).map_err(|_| {
                    "must be DOMAIN\\user or a UPN like mfa-audit@corp.contoso.com".to_string()
                })
            }
        }
        VarKind::Text => Ok(()),
    }
}

fn fqdn(value: &str) -> Result<(), String> {
    if value.len() > 253 {
        return Err("is longer than 253 characters".into());
    }
    if value.trim_end_matches('.').split('.').count() < 2 {
        return Err(
            "is not a fully qualified name (expected something like mfa.corp.contoso.com)".into()
        );
    }
    if value.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(
            "is an IP address; a name is needed here, since certificates carry names".into()
        );
    }
    for label in value.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("has an empty or over-long label in `{value}`"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` starts or ends with a hyphen"));
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("label `{label}` may hold only letters, digits and hyphens"));
        }
    }
    Ok(())
}

fn netbios(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 15 {
        return Err("must be 1 to 15 characters (the NetBIOS domain name, like CORP)".into());
    }
    if value.chars().any(|c| "\\/:*?\"<>|. ".contains(c)) {
        return Err("may not contain \\ / : * ? \" < > | . or spaces".into());
    }
    Ok(())
}

fn sam(value: &str) -> Result<(), String> {
    if value.is_empty() || value.chars().count() > 20 {
        return Err("must be 1 to 20 characters (a pre-Windows 2000 logon name)".into());
    }
    if let Some(c) = value.chars().find(|c| "\"/\\[]:;|=,+*?<>@".contains(*c)) {
        return Err(format!("may not contain `{c}`"));
    }
    if value.trim() != value || value.ends_with('.') {
        return Err("may not start or end with a space, or end with a period".into());
    }
    Ok(())
}

fn account(value: &str) -> Result<(), String> {
    let Some((domain, user)) = value.split_once('\\') else {
        return Err("must be DOMAIN\\user, like CORP\\PFWSDK_APP1".into());
    };
    netbios(domain).map_err(|e| format!("domain part {e}"))?;
    sam(user).map_err(|e| format!("user part {e}"))
}

fn name(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("is empty".into());
    }
    if value.chars().count() > 256 {
        return Err("is longer than 256 characters".into());
    }
    Ok(())
}

fn url(value: &str, schemes: &[&str]) -> Result<(), String> {
    let Some(rest) = schemes.iter().find_map(|s| value.strip_prefix(s)) else {
        return Err(format!("must start with {}", schemes.join(" or ")));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err("has no host name".into());
    }
    if value.chars().any(char::is_whitespace) {
        return Err("contains a space".into());
    }
    Ok(())
}

fn hostport(value: &str) -> Result<(), String> {
    let (host, port) = match value.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (value, None),
    };
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => {}
            _ => return Err(format!("port `{p}` is not a number from 1 to 65535")),
        }
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Ok(());
    }
    fqdn(host)
}

fn number(value: &str, min: Option<i64>, max: Option<i64>) -> Result<(), String> {
    let n: i64 = value.parse().map_err(|_| "is not a whole number".to_string())?;
    if let Some(lo) = min.filter(|lo| n < *lo) {
        return Err(format!("must be at least {lo}"));
    }
    if let Some(hi) = max.filter(|hi| n > *hi) {
        return Err(format!("must be at most {hi}"));
    }
    Ok(())
}

fn path(value: &str) -> Result<(), String> {
    let bytes = value.as_bytes();
    let drive =
        bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'\\';
    if !(drive || value.starts_with("\\\\") || value.starts_with('/')) {
        return Err(
            "must be a full path, like C:\\inetpub\\wwwroot\\MultiFactorAuth\\web.config".into()
        );
    }
    if value[2..].chars().any(|c| "<>\"|?*".contains(c)) {
        return Err("contains a character Windows does not allow in paths (< > \" | ? *)".into());
    }
    Ok(())
}

fn email(value: &str) -> Result<(), String> {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return Err("is not an email address like mfa-noreply@corp.contoso.com".into());
    };
    if local.is_empty() || local.chars().any(|c| c.is_whitespace() || c == '<' || c == '>') {
        return Err("has an empty or invalid part before the @".into());
    }
    fqdn(domain).map_err(|e| format!("domain part {e}"))
}

fn cidr(value: &str) -> Result<(), String> {
    let (addr, bits) = value.split_once('/').unwrap_or((value, "32"));
    if addr.parse::<std::net::Ipv4Addr>().is_err() {
        return Err(format!("`{addr}` is not an IPv4 address (write 10.1.0.0/16 or 10.1.2.3)"));
    }
    match bits.parse::<u8>() {
        Ok(b) if b <= 32 => Ok(()),
        _ => Err(format!("prefix length `/{bits}` must be 0 to 32")),
    }
}

fn vdir(value: &str) -> Result<(), String> {
    if value.is_empty() || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("may hold only letters, digits, - and _ (like MultiFactorAuth)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_refuses_by_kind() {
        let cases: &[(VarKind, &str, bool)] = &[
            (VarKind::Fqdn, "mfa.corp.contoso.com", true),
            (VarKind::Fqdn, "mfa", false),
            (VarKind::Fqdn, "10.0.0.5", false),
            (VarKind::Fqdn, "bad_host.corp.com", false),
            (VarKind::Fqdn, "-x.corp.com", false),
            (VarKind::Netbios, "CORP", true),
            (VarKind::Netbios, "CORP.COM", false),
            (VarKind::Sam, "PFWSDK_APP1", true),
            (VarKind::Sam, "PFWSDK_A_VERY_LONG_NAME_X", false),
            (VarKind::Sam, "a@b", false),
            (VarKind::Account, "CORP\\mfa-audit", true),
            (VarKind::Account, "mfa-audit@corp.contoso.com", false),
            (VarKind::Url, "https://mfa.corp.contoso.com/x", true),
            (VarKind::Url, "ftp://x", false),
            (VarKind::LdapUrl, "ldaps://dc1.corp.contoso.com", true),
            (VarKind::LdapUrl, "https://dc1", false),
            (VarKind::Ipv4, "10.0.0.50", true),
            (VarKind::Ipv4, "10.0.0.256", false),
            (VarKind::Hostport, "smtp.corp.contoso.com:25", true),
            (VarKind::Hostport, "127.0.0.1:2525", true),
            (VarKind::Hostport, "smtp.corp.contoso.com:99999", false),
            (
                VarKind::Path,
                "C:\\Program Files\\Multi-Factor Authentication Server\\x.config",
                true,
            ),
            (VarKind::Path, "relative\\x.config", false),
            (VarKind::Vdir, "MultiFactorAuth", true),
            (VarKind::Vdir, "Multi Factor", false),
            (VarKind::Name, "PhoneFactor Admins", true),
            (VarKind::Name, " ", false),
            (VarKind::Fqdn, "localhost.", false),
            (VarKind::Email, "mfa-noreply@corp.contoso.com", true),
            (VarKind::Email, "not-an-email", false),
            (VarKind::Cidr, "10.1.0.0/16", true),
            (VarKind::Cidr, "10.1.2.3", true),
            (VarKind::Cidr, "10.2.0.0/33", false),
            (VarKind::Cidr, "hello", false),
            (VarKind::Principal, "CORP\\mfa-audit", true),
            (VarKind::Principal, "mfa-audit@corp.contoso.com", true),
            (VarKind::Principal, "mfa-audit", false),
        ];
        for (kind, value, ok) in cases {
            assert_eq!(check(*kind, value, None, None).is_ok(), *ok, "{kind:?} {value:?}");
        }
    }

    #[test]
    fn numbers_respect_bounds() {
        assert!(check(VarKind::Number, "42", Some(1), Some(365)).is_ok());
        assert_eq!(
            check(VarKind::Number, "0", Some(1), Some(365)),
            Err("must be at least 1".into())
        );
        assert_eq!(
            check(VarKind::Number, "400", Some(1), Some(365)),
            Err("must be at most 365".into())
        );
        assert!(check(VarKind::Number, "ten", None, None).is_err());
        assert!(check(VarKind::Text, "a\u{7}", None, None).is_err());
    }
}
