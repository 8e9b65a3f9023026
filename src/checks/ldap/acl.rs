//! `ldap-replication`: does the account the MFA server synchronises as hold "Replicating
//! Directory Changes" (`DS-Replication-Get-Changes`) on the domain head? Reads the head's
//! security descriptor (DACL only, through the SD flags control), the account's SID and
//! its transitive group SIDs (`tokenGroups`), and looks for an allow ACE granting that
//! control access right to any of them. Without it the sync falls back to full sweeps.

use std::fmt::Write as _;

use ldap3::Scope;
use ldap3::controls::RawControl;

use super::{Dir, attr};
use crate::checks::{CheckResult, Outcome, Planned};

/// `1131f6aa-9c07-11d1-f79f-00c04fc2dcd2` as stored in an ACE (mixed-endian GUID).
pub const GET_CHANGES: [u8; 16] = [
    0xaa, 0xf6, 0x31, 0x11, 0x07, 0x9c, 0xd1, 0x11, 0xf7, 0x9f, 0x00, 0xc0, 0x4f, 0xc2, 0xdc, 0xd2,
];
/// `LDAP_SERVER_SD_FLAGS_OID`, asking for the DACL only (readable without `SeSecurityPrivilege`).
const SD_FLAGS: &str = "1.2.840.113556.1.4.801";
const CONTROL_ACCESS: u32 = 0x100;
const GENERIC_ALL: u32 = 0x1000_0000;
const INHERIT_ONLY: u8 = 0x08;

/// One ACE of a DACL, as far as this check needs it.
#[derive(Debug, PartialEq, Eq)]
pub struct Ace {
    pub allow: bool,
    pub mask: u32,
    pub object_type: Option<[u8; 16]>,
    pub inherit_only: bool,
    pub sid: Vec<u8>,
}

/// Parses the DACL of a self-relative security descriptor. Malformed input gives an
/// error, never a panic.
pub fn dacl(sd: &[u8]) -> Result<Vec<Ace>, String> {
    let bad = |what: &str| format!("malformed security descriptor ({what})");
    let u16_at = |b: &[u8], i: usize| b.get(i..i + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let u32_at =
        |b: &[u8], i: usize| b.get(i..i + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    let off = u32_at(sd, 16).ok_or_else(|| bad("too short"))? as usize;
    if off == 0 {
        return Ok(Vec::new());
    }
    let count = u16_at(sd, off + 4).ok_or_else(|| bad("DACL header"))?;
    let mut at = off + 8;
    let mut out = Vec::new();
    for _ in 0..count {
        let kind = *sd.get(at).ok_or_else(|| bad("ACE header"))?;
        let flags = *sd.get(at + 1).ok_or_else(|| bad("ACE header"))?;
        let size = usize::from(u16_at(sd, at + 2).ok_or_else(|| bad("ACE size"))?);
        if size < 8 {
            return Err(bad("ACE size"));
        }
        let ace = sd.get(at..at + size).ok_or_else(|| bad("ACE past the end"))?;
        let mask = u32_at(ace, 4).ok_or_else(|| bad("ACE mask"))?;
        let (allow, object, sid_at) = match kind {
            0x00 => (true, None, 8),
            0x01 => (false, None, 8),
            0x05 | 0x06 => {
                let oflags = u32_at(ace, 8).ok_or_else(|| bad("object ACE"))?;
                let mut p = 12;
                let mut object = None;
                if oflags & 1 != 0 {
                    let g: [u8; 16] = ace
                        .get(p..p + 16)
                        .and_then(|s| s.try_into().ok())
                        .ok_or_else(|| bad("object type"))?;
                    object = Some(g);
                    p += 16;
                }
                if oflags & 2 != 0 {
                    p += 16;
                }
                (kind == 0x05, object, p)
            }
            _ => {
                at += size;
                continue;
            }
        };
        let sid = ace.get(sid_at..).ok_or_else(|| bad("SID"))?;
        let sid_len = 8 + 4 * usize::from(*sid.get(1).ok_or_else(|| bad("SID"))?);
        let sid = sid.get(..sid_len).ok_or_else(|| bad("SID length"))?.to_vec();
        out.push(Ace {
            allow,
            mask,
            object_type: object,
            inherit_only: flags & INHERIT_ONLY != 0,
            sid,
        });
        at += size;
    }
    Ok(out)
}

/// Does an ACE grant (or, for a deny ACE, refuse) Replicating Directory Changes?
fn covers(ace: &Ace) -> bool {
    !ace.inherit_only
        && (ace.mask & GENERIC_ALL != 0
            || (ace.mask & CONTROL_ACCESS != 0 && ace.object_type.is_none_or(|g| g == GET_CHANGES)))
}

/// A binary SID as `S-1-5-21-…`.
pub fn sid_string(sid: &[u8]) -> String {
    if sid.len() < 8 {
        return "S-?".into();
    }
    let auth = sid[2..8].iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
    let mut s = format!("S-{}-{auth}", sid[0]);
    for c in sid[8..].chunks_exact(4) {
        let _ = write!(s, "-{}", u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    }
    s
}

pub(super) async fn judge(check: &Planned, dir: &mut Dir) -> CheckResult {
    let account = check.params.get("account").map(String::as_str).unwrap_or_default().trim();
    let name = account.rsplit('\\').next().unwrap_or(account).to_string();
    let filter = format!("(sAMAccountName={})", ldap3::ldap_escape(name.as_str()));
    let entry = match dir.find(&filter, &["1.1"]).await {
        Ok(Some(e)) => e,
        Ok(None) => {
            return CheckResult::new(
                check,
                Outcome::Fail,
                format!("account `{name}` does not exist in the domain"),
            )
            .with_hint("join the MFA server to the domain (its computer account is NAME$)");
        }
        Err(why) => return CheckResult::error(check, format!("looking for `{name}`: {why}")),
    };
    // The account's own SID and every group it is in, transitively (tokenGroups).
    let mut sids: Vec<Vec<u8>> = vec![
        vec![1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0],  // Everyone
        vec![1, 1, 0, 0, 0, 0, 0, 5, 11, 0, 0, 0], // Authenticated Users
    ];
    let mut token = None;
    let got = dir
        .each_below(
            &entry.dn,
            Scope::Base,
            "(objectClass=*)",
            &["objectSid", "tokenGroups"],
            &mut |e| {
                token = Some(e);
            },
        )
        .await;
    if let Err(why) = got {
        return CheckResult::error(check, format!("reading the groups of `{name}`: {why}"));
    }
    if let Some(t) = token {
        for (k, values) in t.bin_attrs {
            if k.eq_ignore_ascii_case("objectSid") || k.eq_ignore_ascii_case("tokenGroups") {
                sids.extend(values);
            }
        }
    }
    let sd_flags = RawControl {
        ctype: SD_FLAGS.into(),
        crit: true,
        val: Some(vec![0x30, 0x03, 0x02, 0x01, 0x04]),
    };
    let base = dir.base.clone();
    let timeout = dir.timeout;
    let read = dir
        .ldap
        .with_controls(sd_flags)
        .with_timeout(timeout)
        .search(&base, Scope::Base, "(objectClass=*)", vec!["nTSecurityDescriptor"])
        .await;
    let sd = match read.map(ldap3::SearchResult::success) {
        Ok(Ok((entries, _))) => entries.into_iter().next().and_then(|e| {
            let e = ldap3::SearchEntry::construct(e);
            e.bin_attrs
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("nTSecurityDescriptor"))
                .and_then(|(_, mut v)| v.pop())
        }),
        Ok(Err(e)) | Err(e) => {
            return CheckResult::error(
                check,
                format!("reading the security of {base}: {}", super::describe(&e)),
            )
            .with_hint("the bind account needs read access to the domain head's permissions");
        }
    };
    let Some(sd) = sd else {
        return CheckResult::error(
            check,
            format!("the security descriptor of {base} was not returned"),
        )
        .with_hint("the bind account needs read access to the domain head's permissions");
    };
    let aces = match dacl(&sd) {
        Ok(a) => a,
        Err(why) => return CheckResult::error(check, why),
    };
    let holds = |ace: &&Ace| covers(ace) && sids.contains(&ace.sid);
    let denied = aces.iter().filter(|a| !a.allow).find(holds);
    let granted = aces.iter().filter(|a| a.allow).find(holds);
    let shown = attr(&entry, "sAMAccountName").unwrap_or(&name).to_string();
    let mut r = match (denied, granted) {
        (None, Some(ace)) => {
            let mut r = CheckResult::new(
                check,
                Outcome::Pass,
                format!("{shown} holds Replicating Directory Changes on {base}"),
            );
            r.put("granted_to", &sid_string(&ace.sid));
            r
        }
        (Some(ace), _) => {
            let mut r = CheckResult::new(
                check,
                Outcome::Warn,
                format!(
                    "Replicating Directory Changes is denied to {shown} on {base}: sync falls back to full synchronisation"
                ),
            );
            r.put("denied_to", &sid_string(&ace.sid));
            r
        }
        (None, None) => CheckResult::new(
            check,
            Outcome::Warn,
            format!(
                "{shown} lacks Replicating Directory Changes on {base}: sync falls back to full synchronisation"
            ),
        ),
    };
    if r.outcome != Outcome::Pass {
        r.hint = format!(
            "dsacls '{base}' /G '{account}:CA;Replicating Directory Changes' (on a DC, with approval)"
        );
    }
    r.put("account_dn", &entry.dn);
    r.put("aces_read", &aces.len().to_string());
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_descriptors_are_errors_not_panics() {
        for sd in [
            &[][..],
            &[1, 0, 4, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0],
            &[0xff; 40],
        ] {
            let _ = dacl(sd);
        }
    }

    #[test]
    fn reads_an_object_ace_for_get_changes() {
        let sid = [1u8, 1, 0, 0, 0, 0, 0, 5, 11, 0, 0, 0];
        let mut ace = vec![0x05, 0x00, 0, 0];
        ace.extend(CONTROL_ACCESS.to_le_bytes());
        ace.extend(1u32.to_le_bytes());
        ace.extend(GET_CHANGES);
        ace.extend(sid);
        let size = u16::try_from(ace.len()).unwrap().to_le_bytes();
        ace[2..4].copy_from_slice(&size);
        let mut acl = vec![2, 0, 0, 0, 1, 0, 0, 0];
        acl.extend(&ace);
        let mut sd = vec![1, 0, 4, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0];
        sd.extend(acl);
        let aces = dacl(&sd).unwrap();
        assert_eq!(aces.len(), 1);
        assert!(covers(&aces[0]) && aces[0].allow);
        assert_eq!(sid_string(&aces[0].sid), "S-1-5-11");
    }
}
