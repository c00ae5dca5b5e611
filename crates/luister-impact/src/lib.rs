//! Luister's measurement of actions (the Digitaal Luisteren cycle): what a team changed,
//! and whether the numbers moved more than chance explains, with the value in euros and
//! hours and the checks that say how far to trust that.
//!
//! [`action`] is the model, [`measure`] reads targets from the query engine, [`stats`]
//! holds the tests (pure functions, checked against SciPy), [`impact`] puts them
//! together, [`verdict`] says it in Dutch or English. No HTTP here.

pub mod action;
pub mod alerts;
pub mod cycle;
pub mod impact;
pub mod its;
pub mod measure;
pub mod report;
pub mod robustness;
pub mod stats;
pub mod summary;
pub mod verdict;

pub use action::{Action, ActionError, ActionPatch, Kind, NewAction, Target};
pub use alerts::{alerts_for_day, Alert};
pub use cycle::{Cycle, CycleSetting};
pub use impact::{impact, Impact, ImpactParams};
pub use report::{cycle_report, CycleReport};
pub use summary::{summary, Summary};
pub use verdict::Lang;
