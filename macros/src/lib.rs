//! Derive macros for actionkit. Use them through the `actionkit` crate.
