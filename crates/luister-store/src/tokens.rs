//! The `tokens` table: API bearer tokens, stored only as SHA-256 hashes.
//!
//! A plain token exists once, in the return value of [`Store::create_token`]; this
//! module never logs or stores it. Deciding what a token may read is the API's job.

use crate::{Store, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Prefix of every plain token, so a leaked one is recognisable in a scan.
pub const TOKEN_PREFIX: &str = "lst_";

/// Characters of the hash shown as a token's id (enough to tell tokens apart, useless to forge one).
const ID_LEN: usize = 12;

/// What a token may do. Each scope includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Read the reports of its sites.
    #[default]
    Read,
    /// Also change its sites' goals, funnels and actions.
    Write,
    /// Every site, and managing sites, tokens and users.
    Admin,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
            TokenScope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "read" => Some(TokenScope::Read),
            "write" => Some(TokenScope::Write),
            "admin" => Some(TokenScope::Admin),
            _ => None,
        }
    }
}

/// What a token grants, as stored; the plain token itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// The first characters of the token's hash: safe to show, used to revoke.
    pub id: String,
    pub name: String,
    pub admin: bool,
    pub scope: TokenScope,
    /// Domains a site token may read; empty for admin tokens.
    pub sites: Vec<String>,
    /// Unix seconds.
    pub created_at: u32,
}

impl TokenInfo {
    /// Whether this token may read `domain`'s data.
    pub fn can_read(&self, domain: &str) -> bool {
        self.admin || self.sites.iter().any(|s| s == domain)
    }
}

#[derive(Debug, Serialize, Deserialize, clickhouse::Row)]
struct TokenRow {
    token_hash: String,
    name: String,
    admin: u8,
    sites: Vec<String>,
    created_at: u32,
    deleted: u8,
    version: u64,
    scope: String,
}

impl TokenRow {
    fn info(&self) -> TokenInfo {
        TokenInfo {
            id: self.token_hash.chars().take(ID_LEN).collect(),
            name: self.name.clone(),
            admin: self.admin != 0,
            scope: if self.admin != 0 {
                TokenScope::Admin
            } else {
                TokenScope::parse(&self.scope).unwrap_or_default()
            },
            sites: self.sites.clone(),
            created_at: self.created_at,
        }
    }
}

/// Hex SHA-256 of a plain token: the only form in which it is stored.
pub fn hash_token(plain: &str) -> String {
    Sha256::digest(plain.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_plain_token() -> String {
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{TOKEN_PREFIX}{hex}")
}

const SELECT_TOKENS: &str =
    "SELECT token_hash, name, admin, sites, toUInt32(created_at) AS created_at, deleted, version, scope FROM tokens FINAL";

impl Store {
    /// Creates a token and returns the plain token; it cannot be shown again.
    ///
    /// An admin token reads every site and manages sites; a `read` or `write` token acts
    /// only on `sites`.
    pub async fn create_token(
        &self,
        name: &str,
        scope: TokenScope,
        sites: Vec<String>,
    ) -> Result<String, StoreError> {
        let admin = scope == TokenScope::Admin;
        validate_token(name, admin, &sites)?;
        for domain in &sites {
            if self.get_site(domain).await?.is_none() {
                return Err(StoreError::SiteNotFound(domain.clone()));
            }
        }
        let plain = new_plain_token();
        let row = TokenRow {
            token_hash: hash_token(&plain),
            name: name.into(),
            admin: admin.into(),
            sites: if admin { Vec::new() } else { sites },
            created_at: now_secs(),
            deleted: 0,
            version: crate::sites::version_now(),
            scope: scope.as_str().into(),
        };
        self.write_token(&row).await?;
        Ok(plain)
    }

    /// The grants of a plain token, or `None` when it is unknown or revoked.
    pub async fn find_token(&self, plain: &str) -> Result<Option<TokenInfo>, StoreError> {
        if !plain.starts_with(TOKEN_PREFIX) || plain.len() > 200 {
            return Ok(None);
        }
        let row: Option<TokenRow> = self
            .client
            .query(&format!(
                "{SELECT_TOKENS} WHERE token_hash = ? AND deleted = 0"
            ))
            .bind(hash_token(plain))
            .fetch_optional()
            .await?;
        Ok(row.map(|r| r.info()))
    }

    /// All tokens that are not revoked, oldest first.
    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let rows: Vec<TokenRow> = self
            .client
            .query(&format!(
                "{SELECT_TOKENS} WHERE deleted = 0 ORDER BY created_at, name"
            ))
            .fetch_all()
            .await?;
        Ok(rows.iter().map(TokenRow::info).collect())
    }

    /// Revokes the token whose id (see [`TokenInfo::id`]) or name is `id_or_name`.
    ///
    /// A name shared by several tokens is refused: revoke those by id.
    pub async fn revoke_token(&self, id_or_name: &str) -> Result<TokenInfo, StoreError> {
        let rows: Vec<TokenRow> = self
            .client
            .query(&format!("{SELECT_TOKENS} WHERE deleted = 0 AND (substring(token_hash, 1, {ID_LEN}) = ? OR name = ?)"))
            .bind(id_or_name)
            .bind(id_or_name)
            .fetch_all()
            .await?;
        let mut row = match rows.len() {
            1 => rows.into_iter().next().expect("one row"),
            0 => {
                return Err(StoreError::Invalid {
                    field: "token",
                    reason: format!("no token with id or name {id_or_name:?}"),
                })
            }
            n => {
                return Err(StoreError::Invalid {
                    field: "token",
                    reason: format!("{n} tokens are named {id_or_name:?}; revoke one by id"),
                })
            }
        };
        row.deleted = 1;
        row.version = crate::sites::version_now();
        self.write_token(&row).await?;
        Ok(row.info())
    }

    /// Takes `domain` out of every token; returns (revoked, narrowed): tokens left without
    /// a site are revoked.
    pub(crate) async fn remove_site_from_tokens(
        &self,
        domain: &str,
    ) -> Result<(usize, usize), StoreError> {
        let rows: Vec<TokenRow> = self
            .client
            .query(&format!(
                "{SELECT_TOKENS} WHERE deleted = 0 AND has(sites, ?)"
            ))
            .bind(domain)
            .fetch_all()
            .await?;
        let (mut revoked, mut narrowed) = (0, 0);
        for mut row in rows {
            row.sites.retain(|s| s != domain);
            if row.sites.is_empty() {
                row.deleted = 1;
                revoked += 1;
            } else {
                narrowed += 1;
            }
            row.version = crate::sites::version_now();
            self.write_token(&row).await?;
        }
        Ok((revoked, narrowed))
    }

    async fn write_token(&self, row: &TokenRow) -> Result<(), StoreError> {
        let mut insert = self.client.insert::<TokenRow>("tokens").await?;
        insert.write(row).await?;
        insert.end().await?;
        Ok(())
    }
}

fn validate_token(name: &str, admin: bool, sites: &[String]) -> Result<(), StoreError> {
    if name.trim().is_empty() || name.len() > 100 {
        return Err(StoreError::Invalid {
            field: "name",
            reason: "a token needs a name of 1 to 100 characters".into(),
        });
    }
    if admin && !sites.is_empty() {
        return Err(StoreError::Invalid {
            field: "sites",
            reason: "an admin token reads every site; give either admin or sites".into(),
        });
    }
    if !admin && sites.is_empty() {
        return Err(StoreError::Invalid {
            field: "sites",
            reason: "a site token needs at least one site".into(),
        });
    }
    Ok(())
}

fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs().min(u32::MAX.into()) as u32)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let a = new_plain_token();
        let b = new_plain_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn validation() {
        assert!(validate_token("ci", true, &[]).is_ok());
        assert!(validate_token("ci", true, &["a.nl".into()]).is_err());
        assert!(validate_token("ci", false, &[]).is_err());
        assert!(validate_token(" ", false, &["a.nl".into()]).is_err());
    }
}
