//! Contract tests of do-api against the official OpenAPI description, and their helpers.
//! (The stateful fake of the DigitalOcean API used by the strategy scenario tests in
//! `zdd-core/tests` and the CLI tests is its own crate, `fake-do`.)
//!
//! - [`prism`]: a Prism mock server serving the official OpenAPI description, for the contract
//!   tests in `tests/contract_prism.rs` (run them with
//!   `.ci/install-prism.sh && cargo test -p zdd-tests --test contract_prism -- --ignored`).
//! - `tests/spec_examples.rs` decodes every example of the spec into the do-api models.

pub mod prism;
