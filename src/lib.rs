#![doc = include_str!("../README.md")]

pub use actionkit_core::*;
pub use actionkit_macros::*;
