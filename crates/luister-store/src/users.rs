//! The `users` table: dashboard accounts, with passwords stored only as Argon2id hashes.
//!
//! This module hashes and checks passwords so a plain password never leaves it; deciding
//! what a role may see or change is the dashboard's job.

use crate::{Store, StoreError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};

/// Shortest password accepted (NCSC advice for accounts with a second factor is 8+; we ask 12).
pub const MIN_PASSWORD_CHARS: usize = 12;

/// What a dashboard user may do. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    /// Reads the reports of its sites.
    #[default]
    Viewer,
    /// Also manages goals, funnels and actions of its sites.
    Analyst,
    /// Every site, and managing sites, users, tokens and share links.
    Admin,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Viewer => "viewer",
            UserRole::Analyst => "analyst",
            UserRole::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "viewer" => Some(UserRole::Viewer),
            "analyst" => Some(UserRole::Analyst),
            "admin" => Some(UserRole::Admin),
            _ => None,
        }
    }
}

/// A dashboard account as shown and checked; the password hash stays in this module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Lower-case e-mail address: the sign-in name.
    pub email: String,
    pub role: UserRole,
    /// Domains a viewer or analyst may open; empty for admins (they see every site).
    pub sites: Vec<String>,
    /// Unix seconds.
    pub created_at: u32,
    /// Whether the user signs in with a second factor (a TOTP app).
    pub has_totp: bool,
    /// Whether the user signs in through single sign-on (OpenID Connect), not a password.
    pub sso: bool,
}

impl User {
    /// Whether this user may open `domain`'s dashboard.
    pub fn can_read(&self, domain: &str) -> bool {
        self.role == UserRole::Admin || self.sites.iter().any(|s| s == domain)
    }

    /// Whether this user may change `domain`'s goals and funnels.
    pub fn can_change(&self, domain: &str) -> bool {
        self.role >= UserRole::Analyst && self.can_read(domain)
    }
}

#[derive(Debug, Serialize, Deserialize, clickhouse::Row)]
struct UserRow {
    email: String,
    role: String,
    sites: Vec<String>,
    password_hash: String,
    created_at: u32,
    deleted: u8,
    version: u64,
    totp_secret: String,
    recovery_hashes: Vec<String>,
    auth_source: String,
}

/// `auth_source` of a single sign-on user.
const SSO: &str = "oidc";

impl UserRow {
    fn user(&self) -> User {
        User {
            email: self.email.clone(),
            role: UserRole::parse(&self.role).unwrap_or_default(),
            sites: self.sites.clone(),
            created_at: self.created_at,
            has_totp: !self.totp_secret.is_empty(),
            sso: self.auth_source == SSO,
        }
    }
}

const SELECT_USERS: &str = "SELECT email, role, sites, password_hash, toUInt32(created_at) AS created_at, deleted, version, totp_secret, recovery_hashes, auth_source FROM users FINAL";

/// Argon2id hash in PHC form (`$argon2id$v=19$…`), with a fresh random salt.
pub fn hash_password(plain: &str) -> Result<String, StoreError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| StoreError::Invalid {
        field: "password",
        reason: e.to_string(),
    })?;
    Argon2::default()
        .hash_password(plain.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid {
            field: "password",
            reason: e.to_string(),
        })
}

/// Whether `plain` matches a hash made by [`hash_password`]; a damaged hash never matches.
pub fn verify_password(plain: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(plain.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Refuses passwords too short or too long to be sensible.
pub fn check_password_strength(plain: &str) -> Result<(), StoreError> {
    let chars = plain.chars().count();
    if !(MIN_PASSWORD_CHARS..=200).contains(&chars) {
        return Err(StoreError::Invalid {
            field: "password",
            reason: format!("a password has {MIN_PASSWORD_CHARS} to 200 characters"),
        });
    }
    Ok(())
}

/// Normalises and checks an e-mail address used as a sign-in name.
pub fn normalise_email(email: &str) -> Result<String, StoreError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(StoreError::Invalid {
            field: "email",
            reason: format!("{email:?} is not an e-mail address"),
        })
    }
}

impl Store {
    /// Adds a user, or replaces the role, sites and password of an existing one.
    pub async fn put_user(
        &self,
        email: &str,
        role: UserRole,
        sites: Vec<String>,
        password: &str,
    ) -> Result<User, StoreError> {
        let email = normalise_email(email)?;
        check_password_strength(password)?;
        if role != UserRole::Admin && sites.is_empty() {
            return Err(StoreError::Invalid {
                field: "sites",
                reason: "a viewer or analyst needs at least one site (--site DOMAIN)".into(),
            });
        }
        for domain in &sites {
            if self.get_site(domain).await?.is_none() {
                return Err(StoreError::SiteNotFound(domain.clone()));
            }
        }
        let old = self.user_row(&email).await?;
        if old.as_ref().is_some_and(|o| o.auth_source == SSO) {
            return Err(StoreError::Invalid {
                field: "email",
                reason: format!("{email} signs in through single sign-on; remove that user first"),
            });
        }
        let created_at = old.as_ref().map_or_else(now_secs, |o| o.created_at);
        // A changed role or password keeps the second factor already set up.
        let (totp_secret, recovery_hashes) = old
            .map(|o| (o.totp_secret, o.recovery_hashes))
            .unwrap_or_default();
        let row = UserRow {
            email,
            role: role.as_str().into(),
            sites: if role == UserRole::Admin {
                Vec::new()
            } else {
                sites
            },
            password_hash: hash_password(password)?,
            created_at,
            deleted: 0,
            version: crate::sites::version_now(),
            totp_secret,
            recovery_hashes,
            auth_source: "local".into(),
        };
        self.write_user(&row).await?;
        Ok(row.user())
    }

    /// Records a user who signed in through single sign-on, with the role and sites the
    /// provider's claims gave (unknown sites are left out). An address that belongs to a
    /// local (password) user is refused: a provider must not take over a local account.
    pub async fn put_sso_user(
        &self,
        email: &str,
        role: UserRole,
        sites: Vec<String>,
    ) -> Result<User, StoreError> {
        let email = normalise_email(email)?;
        let old = self.user_row(&email).await?;
        if old.as_ref().is_some_and(|o| o.auth_source != SSO) {
            return Err(StoreError::Conflict(format!(
                "{email} has a local account; sign in with its password"
            )));
        }
        let known: Vec<String> = self
            .list_sites()
            .await?
            .into_iter()
            .map(|s| s.domain)
            .collect();
        let sites = if role == UserRole::Admin {
            Vec::new()
        } else {
            sites.into_iter().filter(|s| known.contains(s)).collect()
        };
        let unusable: String = {
            use rand::distr::{Alphanumeric, SampleString};
            Alphanumeric.sample_string(&mut rand::rng(), 40)
        };
        let row = UserRow {
            created_at: old.as_ref().map_or_else(now_secs, |o| o.created_at),
            email,
            role: role.as_str().into(),
            sites,
            password_hash: hash_password(&unusable)?,
            deleted: 0,
            version: crate::sites::version_now(),
            totp_secret: String::new(),
            recovery_hashes: Vec::new(),
            auth_source: SSO.into(),
        };
        self.write_user(&row).await?;
        Ok(row.user())
    }

    /// The TOTP secret of a user with two-factor sign-in (base32), or `None`.
    pub async fn user_totp_secret(&self, email: &str) -> Result<Option<String>, StoreError> {
        let Ok(email) = normalise_email(email) else {
            return Ok(None);
        };
        Ok(self
            .user_row(&email)
            .await?
            .map(|r| r.totp_secret)
            .filter(|s| !s.is_empty()))
    }

    /// Sets up two-factor sign-in: the TOTP secret and the recovery codes (stored hashed).
    pub async fn set_user_totp(
        &self,
        email: &str,
        secret: &str,
        recovery_codes: &[String],
    ) -> Result<(), StoreError> {
        let mut row = self.existing_user(email).await?;
        row.totp_secret = secret.to_string();
        row.recovery_hashes = recovery_codes
            .iter()
            .map(|c| crate::tokens::hash_token(&normalise_recovery_code(c)))
            .collect();
        row.version = crate::sites::version_now();
        self.write_user(&row).await
    }

    /// Turns two-factor sign-in off (a lost phone: `luister users reset-2fa`).
    pub async fn clear_user_totp(&self, email: &str) -> Result<(), StoreError> {
        self.set_user_totp(email, "", &[]).await
    }

    /// Uses up a recovery code; true when it was one of the user's unused codes.
    pub async fn use_recovery_code(&self, email: &str, code: &str) -> Result<bool, StoreError> {
        let mut row = self.existing_user(email).await?;
        let hash = crate::tokens::hash_token(&normalise_recovery_code(code));
        let before = row.recovery_hashes.len();
        row.recovery_hashes.retain(|h| *h != hash);
        if row.recovery_hashes.len() == before {
            return Ok(false);
        }
        row.version = crate::sites::version_now();
        self.write_user(&row).await?;
        Ok(true)
    }

    /// Changes the password of an existing user.
    pub async fn set_user_password(&self, email: &str, password: &str) -> Result<(), StoreError> {
        check_password_strength(password)?;
        let mut row = self.existing_user(email).await?;
        row.password_hash = hash_password(password)?;
        row.version = crate::sites::version_now();
        self.write_user(&row).await
    }

    /// The user whose e-mail and password match, or `None` (also for unknown users).
    ///
    /// An unknown user costs one hash too, so timing does not tell which accounts exist.
    pub async fn check_user_password(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Option<User>, StoreError> {
        let row = match normalise_email(email) {
            Ok(email) => self.user_row(&email).await?,
            Err(_) => None,
        };
        match row {
            Some(row) if row.auth_source == SSO => Ok(None),
            Some(row) if verify_password(password, &row.password_hash) => Ok(Some(row.user())),
            Some(_) => Ok(None),
            None => {
                verify_password(password, DUMMY_HASH);
                Ok(None)
            }
        }
    }

    /// A user by e-mail, or `None` when unknown or removed.
    pub async fn get_user(&self, email: &str) -> Result<Option<User>, StoreError> {
        let Ok(email) = normalise_email(email) else {
            return Ok(None);
        };
        Ok(self.user_row(&email).await?.map(|r| r.user()))
    }

    /// Every user, by e-mail.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = self
            .client
            .query(&format!("{SELECT_USERS} WHERE deleted = 0 ORDER BY email"))
            .fetch_all()
            .await?;
        Ok(rows.iter().map(UserRow::user).collect())
    }

    /// Removes a user; their dashboard sessions end at their next request.
    pub async fn remove_user(&self, email: &str) -> Result<User, StoreError> {
        let mut row = self.existing_user(email).await?;
        row.deleted = 1;
        row.version = crate::sites::version_now();
        self.write_user(&row).await?;
        Ok(row.user())
    }

    async fn existing_user(&self, email: &str) -> Result<UserRow, StoreError> {
        let email = normalise_email(email)?;
        self.user_row(&email)
            .await?
            .ok_or_else(|| StoreError::Invalid {
                field: "email",
                reason: format!("no user {email:?}"),
            })
    }

    async fn user_row(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        Ok(self
            .client
            .query(&format!("{SELECT_USERS} WHERE email = ? AND deleted = 0"))
            .bind(email)
            .fetch_optional()
            .await?)
    }

    async fn write_user(&self, row: &UserRow) -> Result<(), StoreError> {
        let mut insert = self.client.insert::<UserRow>("users").await?;
        insert.write(row).await?;
        insert.end().await?;
        Ok(())
    }
}

/// Recovery codes are compared without case, spaces or dashes (`ab12-cd34` = `AB12CD34`).
fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A valid hash of a random password, checked against when the user is unknown.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$V2Wn3pNQb2oAKcAp7mWBPrbzFJb0vA0ChX8lWg0Km3E";

fn now_secs() -> u32 {
    chrono::Utc::now().timestamp().max(0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_to_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(hash, hash_password("correct horse battery").unwrap());
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalise_email(" An@Enschede.NL ").unwrap(),
            "an@enschede.nl"
        );
        for bad in ["", "an", "@x.nl", "an@nl", "an @x.nl", "an@.nl"] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_order_and_access() {
        assert!(UserRole::Admin > UserRole::Analyst && UserRole::Analyst > UserRole::Viewer);
        let viewer = User {
            email: "v@x.nl".into(),
            role: UserRole::Viewer,
            sites: vec!["a.nl".into()],
            created_at: 0,
            has_totp: false,
            sso: false,
        };
        assert!(viewer.can_read("a.nl") && !viewer.can_read("b.nl"));
        assert!(!viewer.can_change("a.nl"));
        let analyst = User {
            role: UserRole::Analyst,
            ..viewer.clone()
        };
        assert!(analyst.can_change("a.nl") && !analyst.can_change("b.nl"));
    }
}
