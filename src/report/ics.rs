//! Certificate renewal reminders as iCalendar: for every certificate the rollout recorded
//! (by a TLS check or as attested evidence), one event `renewal_lead_days` before expiry
//! with an alarm, and one at expiry. UIDs derive from the thumbprint (or serial), so a
//! re-export updates the same events instead of adding new ones.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use icalendar::{Alarm, Calendar, Component, Event, EventLike, Trigger};
use serde::Serialize;

use super::Record;

/// What a renewal reminder carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Certificate {
    pub step: String,
    pub host: String,
    pub subject_cn: String,
    pub sans: String,
    pub serial: String,
    pub thumbprint: String,
    pub issuer: String,
    pub issued: String,
    pub expires: String,
}

impl Certificate {
    /// The stable identity used in UIDs.
    fn id(&self) -> String {
        let id = if self.thumbprint.is_empty() { &self.serial } else { &self.thumbprint };
        id.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase()
    }

    fn fill_from(&mut self, ev: &BTreeMap<String, String>) {
        let take = |slot: &mut String, key: &str| {
            if slot.is_empty()
                && let Some(v) = ev.get(key).filter(|v| !v.trim().is_empty())
            {
                *slot = v.trim().to_string();
            }
        };
        take(&mut self.host, "host");
        take(&mut self.subject_cn, "subject_cn");
        take(&mut self.sans, "sans");
        take(&mut self.serial, "serial");
        take(&mut self.thumbprint, "thumbprint");
        take(&mut self.issuer, "issuer");
        take(&mut self.issued, "issued");
        take(&mut self.expires, "expires");
    }
}

/// Parses an expiry written by a check (RFC 3339) or by hand (YYYY-MM-DD).
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Some(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0)?).into()
}

/// Every certificate in the record that has an expiry date, one per thumbprint/serial.
pub fn certificates(record: &Record) -> Vec<Certificate> {
    let mut found: BTreeMap<String, Certificate> = BTreeMap::new();
    for step in record.phases.iter().flat_map(|p| &p.steps) {
        // Check evidence first (read off the wire), then what the operator recorded.
        let sources =
            step.checks.iter().map(|c| &c.evidence).chain(std::iter::once(&step.evidence));
        let mut cert = Certificate { step: step.key.clone(), ..Certificate::default() };
        for ev in sources {
            cert.fill_from(ev);
        }
        if cert.expires.is_empty() || parse_date(&cert.expires).is_none() || cert.id().is_empty() {
            continue;
        }
        if cert.host.is_empty() {
            cert.host = step.server.clone().unwrap_or_else(|| cert.subject_cn.clone());
        }
        found.entry(cert.id()).or_insert(cert);
    }
    found.into_values().collect()
}

fn describe(c: &Certificate, lead: i64) -> String {
    let c = &Certificate {
        host: or_dash(&c.host),
        subject_cn: or_dash(&c.subject_cn),
        sans: or_dash(&c.sans),
        serial: or_dash(&c.serial),
        thumbprint: or_dash(&c.thumbprint),
        issuer: or_dash(&c.issuer),
        issued: or_dash(&c.issued),
        expires: or_dash(&c.expires),
        step: c.step.clone(),
    };
    format!(
        "Certificate of {host} (step {step}).\nSubject CN: {cn}\nSANs: {sans}\nSerial: {serial}\nThumbprint: {thumb}\nIssuer: {issuer}\nIssued: {issued}\nExpires: {expires}\nRenew at least {lead} days before expiry, then bind the new certificate and re-run the TLS checks.",
        host = c.host,
        step = c.step,
        cn = c.subject_cn,
        sans = c.sans,
        serial = c.serial,
        thumb = c.thumbprint,
        issuer = c.issuer,
        issued = c.issued,
        expires = c.expires,
    )
}

fn or_dash(text: &str) -> String {
    if text.trim().is_empty() { "—".into() } else { text.to_string() }
}

/// Renders the reminders as an iCalendar file.
pub fn to_ics(record: &Record) -> String {
    let stamp = parse_date(&record.exported_at).unwrap_or_else(Utc::now);
    let lead = record.renewal_lead_days;
    let name =
        if record.domain.is_empty() { record.rollout.clone() } else { record.domain.clone() };
    let mut cal = Calendar::new();
    cal.name(&format!("MFA certificates — {name}"));
    cal.append_property(("X-MFA-ROLLOUT-JOURNAL", record.journal.marker.as_str()));

    for c in certificates(record) {
        let Some(expires) = parse_date(&c.expires) else { continue };
        let id = c.id();
        let label = if c.subject_cn.is_empty() { c.host.clone() } else { c.subject_cn.clone() };
        let text = describe(&c, lead);

        let renew_day = (expires - Duration::days(lead)).date_naive();
        let renew_at = Utc.from_utc_datetime(&renew_day.and_hms_opt(9, 0, 0).unwrap_or_default());
        let renew = Event::new()
            .uid(&format!("renew-{id}@mfa-rollout"))
            .timestamp(stamp)
            .summary(&format!("Renew certificate {label} ({lead} days before expiry)"))
            .description(&text)
            .location(&c.host)
            .starts(renew_at)
            .ends(renew_at + Duration::minutes(30))
            .alarm(
                Alarm::display(
                    &format!("Renew certificate {label}"),
                    Trigger::before_start(Duration::zero()),
                )
                .uid(&format!("renew-{id}-alarm@mfa-rollout"))
                .done(),
            )
            .done();
        let expiry = Event::new()
            .uid(&format!("expiry-{id}@mfa-rollout"))
            .timestamp(stamp)
            .summary(&format!("Certificate {label} expires"))
            .description(&text)
            .location(&c.host)
            .starts(expires)
            .ends(expires + Duration::minutes(15))
            .alarm(
                Alarm::display(
                    &format!("Certificate {label} expires tomorrow"),
                    Trigger::before_start(Duration::days(1)),
                )
                .uid(&format!("expiry-{id}-alarm@mfa-rollout"))
                .done(),
            )
            .done();
        cal.push(renew);
        cal.push(expiry);
    }
    cal.done().to_string()
}
