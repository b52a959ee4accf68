//! The README's library example is compiled as a doctest: `lib.rs` includes `README.md` in the
//! docs of a `#[cfg(doctest)]` item, so `cargo test` fails when the example stops compiling.
//! This checks that the wiring stays: the include is there and the example is still a Rust
//! block that rustdoc compiles (not `ignore`d, not turned into text).

const README: &str = include_str!("../../README.md");
const LIB: &str = include_str!("../src/lib.rs");

#[test]
fn the_readme_is_included_as_doctests() {
    assert!(
        LIB.contains("#[cfg(doctest)]\n#[doc = include_str!(\"../../README.md\")]"),
        "lib.rs no longer compiles the README's examples"
    );
}

#[test]
fn the_library_example_is_a_compiled_rust_block() {
    let section = README
        .split("## `do-api` as a library")
        .nth(1)
        .expect("README has a `do-api` as a library section");
    let fence = section
        .lines()
        .find(|l| l.starts_with("```"))
        .expect("the section has a code block");
    assert_eq!(fence, "```rust,no_run", "the example must be compiled");
    let code = section.split("```").nth(1).unwrap();
    // Written against the typed IP handlers: an `Ipv4Addr`, never a string.
    assert!(code.contains("use std::net::Ipv4Addr;"), "{code}");
    assert!(code.contains(".reserved_ips().assign(ip, "), "{code}");
}
