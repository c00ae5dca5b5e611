//! Luister's ClickHouse layer.
//!
//! Owns the connection (with the 18.x/current compatibility switches), the schema and
//! its migrations, writing event batches exactly once, and the small tables (sites,
//! salts, tokens, goals, funnels,
//! dashboard users and share links). It knows nothing of HTTP or of enrichment.

mod actions;
mod audit;
mod client;
mod cycles;
pub mod embedded;
mod error;
mod events;
mod funnels;
mod goals;
mod limits;
mod migrate;
mod retention;
pub mod salts;
pub mod schema;
mod share_links;
mod sites;
mod tls;
mod tokens;
mod users;

pub use actions::{StoredAction, MAX_ACTIONS_PER_SITE};
pub use audit::AuditEntry;
pub use client::{ClickHouseSettings, Store};
pub use cycles::StoredCycle;
pub use error::StoreError;
pub use funnels::{SavedFunnel, MAX_FUNNELS_PER_SITE};
pub use goals::{Goal, MAX_GOALS_PER_SITE};
pub use limits::{CancelOnDrop, QueryLimits};
pub use migrate::MigrationReport;
pub use share_links::ShareLink;
pub use sites::{is_site_domain, SiteRemoval};
pub use tokens::{hash_token, TokenInfo, TokenScope, TOKEN_PREFIX};
pub use users::{normalise_email, User, UserRole, MIN_PASSWORD_CHARS};
