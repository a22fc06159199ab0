//! Derived inputs exercising every schema feature; shared by the schema tests.

use actionkit::{Action, InputType};
use serde::{Deserialize, Serialize};

#[path = "../../examples/send_email/app.rs"]
pub mod send_email;
pub use send_email::input::SendEmail;

/// How urgently to deliver.
#[derive(InputType, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Priority {
    Low,
    Normal,
    RightNow,
    #[serde(rename = "later")]
    Deferred,
    #[serde(skip)]
    #[allow(dead_code)]
    Internal,
}

/// Where to deliver.
#[derive(InputType, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Recipient {
    /// The address to write to
    #[field(format = "email", max_length = 254)]
    pub email: String,
    /// Shown in the greeting
    #[field(min_length = 1, max_length = 40)]
    pub display_name: Option<String>,
}

/// Notify someone, with every schema feature on one struct.
#[derive(Action, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[action(
    id = "notify.v2",
    group(label = "Delivery", fields(recipient, channels, priority)),
    row(first_name, last_name)
)]
#[serde(rename_all = "camelCase")]
pub struct Notify {
    /// Given name
    #[field(min_length = 1, max_length = 40, pattern = "^[A-Za-z][A-Za-z -]*$")]
    pub first_name: String,
    #[field(label = "Surname", max_length = 40)]
    pub last_name: Option<String>,
    pub recipient: Recipient,
    /// Channels to use, in order
    #[field(min_items = 1, max_items = 3, options = channel_options)]
    pub channels: Vec<String>,
    #[serde(default = "normal")]
    #[field(default = "NORMAL")]
    pub priority: Priority,
    /// How many times to retry
    #[field(minimum = 0, maximum = 10, default = 3, group = "Advanced")]
    pub retries: u8,
    #[field(group = "Advanced", title = "Quiet hours")]
    pub quiet: bool,
    #[serde(rename = "ttl_seconds")]
    #[field(minimum = 60, group = "Advanced")]
    pub time_to_live: Option<u32>,
    pub tags: Option<Vec<Priority>>,
    pub offsets: Vec<i64>,
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    #[serde(skip)]
    pub cached_token: Option<String>,
}

async fn channel_options()
-> Result<actionkit::form_state::Options, actionkit::form_state::FieldError> {
    Ok(["email", "sms", "push"]
        .into_iter()
        .map(|c| actionkit::form_state::Choice::new(c, c))
        .collect())
}

fn normal() -> Priority {
    Priority::Normal
}

/// A generic nested object: the bound is added by the derive.
#[derive(InputType, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Labelled<T> {
    pub label: String,
    pub value: T,
}

/// Counters of every integer width, with their ranges in the schema.
#[derive(Action, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[action(id = "counters", description = "Integer widths")]
pub struct Counters {
    pub tiny: i8,
    pub small: u16,
    pub medium: i32,
    pub large: u64,
    pub huge: i64,
    pub flags: Vec<bool>,
    pub labelled: Labelled<u8>,
    pub r#type: Option<String>,
}
