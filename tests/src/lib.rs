//! Cross-crate integration tests for zdd-do, and helpers they share.
//!
//! - [`prism`]: a Prism mock server serving the official OpenAPI description, for the contract
//!   tests in `tests/contract_prism.rs` (run them with
//!   `.ci/install-prism.sh && cargo test -p zdd-tests --test contract_prism -- --ignored`).
//! - `tests/spec_examples.rs` decodes every example of the spec into the do-api models.

pub mod prism;
