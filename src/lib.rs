//! `mfa-rollout`: the engine behind a terminal wizard that walks an administrator through
//! deploying MFA Server, the Web Service SDK, the User Portal and the AD FS adapter for
//! Windows Hello for Business certificate trust.
//!
//! The engine (runbook, state, checks, reports, secrets) has no terminal code; the front
//! ends in [`ui`] and the CLI in `main.rs` call it.

pub mod checks;
pub mod edit;
pub mod engine;
pub mod error;
pub mod hex;
pub mod logging;
pub mod report;
pub mod runbook;
pub mod secrets;
pub mod state;
pub mod ui;

pub use engine::{Access, Rollout};
pub use error::{Error, Result};
