//! Two-factor sign-in with a TOTP app (RFC 6238: 6 digits, 30 seconds, SHA-1, what every
//! authenticator app reads), and one-time recovery codes for a lost phone.
//!
//! The BIO (the Dutch government's security baseline) asks for multi-factor
//! authentication on administrative accounts: admins must set this up by default.

use parking_lot::Mutex;
use std::collections::HashMap;
use totp_rs::{Builder, Secret, Totp};

const ISSUER: &str = "Luister";
/// Recovery codes made at set-up.
pub const RECOVERY_CODES: usize = 10;

/// A new random secret, base32 (160 bits, as RFC 4226 recommends).
pub fn new_secret() -> String {
    let bytes: [u8; 20] = rand::random();
    Secret::from(bytes).to_base32()
}

fn totp(secret: &str, email: &str) -> Option<Totp> {
    Builder::new()
        .with_secret(Secret::try_from_base32(secret).ok()?)
        .with_account_name(email.to_string())
        .with_issuer(Some(ISSUER))
        .build()
        .ok()
}

/// The `otpauth://` URL an authenticator app scans.
pub fn otpauth_url(secret: &str, email: &str) -> Option<String> {
    totp(secret, email)?.to_url().ok()
}

/// The URL as a QR code in SVG (dark on white), labelled for screen readers.
pub fn qr_svg(url: &str, label: &str) -> Option<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    let svg = svg.split_once("?>").map_or(svg.as_str(), |(_, rest)| rest);
    Some(svg.replacen(
        "<svg ",
        &format!(
            "<svg role=\"img\" aria-label=\"{}\" ",
            crate::chart::escape(label)
        ),
        1,
    ))
}

/// Ten codes like `k3d9-x7qp`, each usable once.
pub fn recovery_codes() -> Vec<String> {
    use rand::distr::{Alphanumeric, SampleString};
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw = Alphanumeric
                .sample_string(&mut rand::rng(), 8)
                .to_ascii_lowercase();
            format!("{}-{}", &raw[..4], &raw[4..])
        })
        .collect()
}

/// Codes already used, per user: a code seen once is refused for the rest of its window.
#[derive(Default)]
pub struct UsedCodes {
    last_step: Mutex<HashMap<String, u64>>,
}

impl UsedCodes {
    /// Whether `code` is valid for `secret` at `unix_seconds` and not used before.
    pub fn check(&self, email: &str, secret: &str, code: &str, unix_seconds: u64) -> bool {
        let code: String = code.chars().filter(|c| c.is_ascii_digit()).collect();
        let Some(step) = totp(secret, email).and_then(|t| t.check(&code, unix_seconds)) else {
            return false;
        };
        let mut used = self.last_step.lock();
        if used.get(email).is_some_and(|last| step <= *last) {
            return false;
        }
        used.insert(email.to_string(), step);
        true
    }
}

/// The code an app shows for `secret` at `unix_seconds` (for tests).
#[cfg(test)]
pub fn code_at(secret: &str, unix_seconds: u64) -> Option<String> {
    Some(
        totp(secret, "test@luister")?
            .generate(unix_seconds)
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_check_once_within_their_window() {
        let secret = new_secret();
        let t = 1_800_000_000;
        let code = code_at(&secret, t).unwrap();
        assert_eq!(code.len(), 6);
        let used = UsedCodes::default();
        assert!(!used.check("a@x.nl", &secret, "000000", t) || code == "000000");
        assert!(used.check("a@x.nl", &secret, &code, t + 10));
        assert!(
            !used.check("a@x.nl", &secret, &code, t + 10),
            "a code works once"
        );
        let later = code_at(&secret, t + 60).unwrap();
        assert!(
            !used.check("a@x.nl", &secret, &later, t),
            "two steps ahead is too far"
        );
        assert!(used.check("a@x.nl", &secret, &later, t + 60));
    }

    #[test]
    fn rfc_6238_test_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); its last 6 digits.
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        assert_eq!(code_at(&secret, 59).unwrap(), "287082");
    }

    #[test]
    fn setup_material() {
        let secret = new_secret();
        let url = otpauth_url(&secret, "beheer@enschede.nl").unwrap();
        assert!(
            url.starts_with("otpauth://totp/Luister:beheer%40enschede.nl?")
                || url.starts_with("otpauth://totp/Luister:beheer@enschede.nl?"),
            "{url}"
        );
        let svg = qr_svg(&url, "QR").unwrap();
        assert!(svg.starts_with("<svg role=\"img\" aria-label=\"QR\""));
        let codes = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert!(codes
            .iter()
            .all(|c| c.len() == 9 && c.as_bytes()[4] == b'-'));
    }
}
