//! Applies the versioned schema in `schema.rs`; safe to run on every start.

use crate::schema::{MIGRATIONS, MIGRATIONS_TABLE};
use crate::{Store, StoreError};

/// What `migrate` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    pub applied: Vec<u32>,
    pub current_version: u32,
}

impl Store {
    /// Brings the schema up to the newest version, applying only what is missing.
    pub async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        self.client.query(MIGRATIONS_TABLE).execute().await?;
        let done: Vec<u32> = self
            .client
            .query("SELECT DISTINCT version FROM schema_migrations")
            .fetch_all()
            .await?;
        let mut report = MigrationReport::default();
        for migration in MIGRATIONS {
            if !done.contains(&migration.version) {
                for statement in migration.statements {
                    self.client.query(statement).execute().await?;
                }
                self.client
                    .query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, now())")
                    .bind(migration.version)
                    .bind(migration.name)
                    .execute()
                    .await?;
                report.applied.push(migration.version);
            }
            report.current_version = migration.version;
        }
        Ok(report)
    }
}
