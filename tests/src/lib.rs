//! Shared helpers for zdd-do's cross-crate integration tests.

pub mod fake_do;
