//! The flagship example: the documented "send email" custom action.
//!
//! Its input struct reproduces the platforms' reference input schema and UI schema exactly
//! (the integration tests compare them byte for byte). Run it with
//! `cargo run --example send_email`, which prints both schemas.

mod input;

use actionkit::Action;
pub use input::SendEmail;

fn main() {
    println!(
        "{}",
        serde_json::to_string_pretty(SendEmail::input_schema()).expect("JSON")
    );
    println!(
        "{}",
        serde_json::to_string_pretty(SendEmail::ui_schema()).expect("JSON")
    );
}
