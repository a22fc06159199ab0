//! The flagship example: the documented "send email" custom action.
//!
//! Its input struct reproduces the platforms' reference input schema and UI schema exactly
//! (the integration tests compare them byte for byte); its form cascades (audience → segments,
//! template → merge variables) come from a built-in catalog, so it runs with no services.

mod app;

use actionkit::Action;
use app::input::SendEmail;

fn main() {
    let _runtime = actionkit::runtime::Runtime::new(app::mailer::Mailer::new(".actionkit/outbox.jsonl")).action::<SendEmail>();
    println!(
        "{}",
        serde_json::to_string_pretty(SendEmail::input_schema()).expect("JSON")
    );
    println!(
        "{}",
        serde_json::to_string_pretty(SendEmail::ui_schema()).expect("JSON")
    );
}
