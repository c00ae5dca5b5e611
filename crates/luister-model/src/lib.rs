//! Types shared along Luister's data path.
//!
//! This crate owns the vocabulary (what an event is before and after enrichment,
//! what a site is, how time is read) and nothing else: no I/O, no parsing rules.

mod clock;
mod event;
mod session;
mod site;

pub use clock::{Clock, FixedClock, SystemClock};
pub use event::{EventRecord, RawEvent, UNKNOWN_SEARCH_RESULTS};
pub use session::SessionRecord;
pub use site::{SaltRotation, Site, DEFAULT_SEARCH_PARAMS};
