//! Cross-crate integration tests for zdd-do, and helpers they share.
//!
//! - [`fake_do`]: a stateful fake of the DigitalOcean API (wiremock) with real HTTP apps on
//!   loopback addresses, for the strategy scenario tests and the CLI tests.
//! - [`prism`]: a Prism mock server serving the official OpenAPI description, for the contract
//!   tests in `tests/contract_prism.rs` (run them with
//!   `.ci/install-prism.sh && cargo test -p zdd-tests --test contract_prism -- --ignored`).
//! - `tests/spec_examples.rs` decodes every example of the spec into the do-api models.

pub mod fake_do;
pub mod prism;
