//! Compile-fail tests: every user-facing macro error, pinned with its exact message.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
}
