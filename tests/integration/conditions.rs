//! Typed conditional fields over signed HTTP: `visible_when` / `enabled_when` mark fields on
//! every form-state answer (plain fields included), a change that hides a field clears it, and
//! execute ignores the value of a field whose condition does not hold.

use std::sync::{Arc, Mutex};

use actionkit::prelude::*;
use actionkit::testing::Simulator;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The plan a workspace is on.
#[derive(InputType, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Pro,
    Team,
}

#[derive(Action, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[action(id = "subscribe", execute = subscribe, state = Seen)]
pub struct Subscribe {
    pub plan: Plan,
    /// Only paid plans have seats
    #[field(visible_when(plan = ["pro", "team"]))]
    pub seats: Option<u32>,
    pub notify: Option<bool>,
    #[field(enabled_when(notify = true))]
    pub reminder: Option<String>,
}

#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<Subscribe>>>);

async fn subscribe(State(seen): State<Seen>, input: Subscribe) -> Result<(), ActionError> {
    seen.0.lock().unwrap().push(input);
    Ok(())
}

fn sim(seen: &Seen) -> Simulator<Seen> {
    Simulator::new(App::new(seen.clone()).action::<Subscribe>())
}

#[tokio::test]
async fn every_answer_marks_the_fields_whose_conditions_fail() {
    let seen = Seen::default();
    let sim = sim(&seen);
    let form = sim
        .form::<Subscribe>()
        .with_value(SubscribeField::Plan, "free")
        .load()
        .await;
    let seats = form.config(SubscribeField::Seats);
    assert!(seats.hidden && !seats.disabled, "{seats:?}");
    assert!(seats.options.is_empty() && seats.schema.is_empty());
    let reminder = form.config(SubscribeField::Reminder);
    assert!(reminder.disabled && !reminder.hidden, "{reminder:?}");
    let form = form.set(SubscribeField::Plan, "team").await;
    assert!(!form.config(SubscribeField::Seats).hidden);
    let form = form.set(SubscribeField::Notify, true).await;
    assert!(!form.config(SubscribeField::Reminder).disabled);
}

#[tokio::test]
async fn a_change_that_hides_a_field_clears_its_value() {
    let seen = Seen::default();
    let sim = sim(&seen);
    let form = sim
        .form::<Subscribe>()
        .with_value(SubscribeField::Plan, "pro")
        .with_value(SubscribeField::Seats, 5)
        .load()
        .await;
    assert_eq!(form.value(SubscribeField::Seats), Some(&json!(5)));
    let form = form.set(SubscribeField::Plan, "free").await;
    assert_eq!(form.values()["seats"], json!(null), "cleared");
    assert!(form.config(SubscribeField::Seats).hidden);
}

#[tokio::test]
async fn execute_ignores_values_of_fields_whose_conditions_fail() {
    let seen = Seen::default();
    let sim = sim(&seen);
    // A stale hidden value, even of the wrong type, never reaches the handler.
    let run = sim
        .execute_saved::<Subscribe>(json!({"plan": "free", "seats": "many", "reminder": "daily"}))
        .await;
    assert_eq!(run.first().status, 200, "{}", run.first().body);
    let run = sim
        .execute_saved::<Subscribe>(
            json!({"plan": "pro", "seats": 3, "notify": true, "reminder": "daily"}),
        )
        .await;
    assert_eq!(run.first().status, 200, "{}", run.first().body);
    assert_eq!(
        *seen.0.lock().unwrap(),
        [
            Subscribe {
                plan: Plan::Free,
                seats: None,
                notify: None,
                reminder: None
            },
            Subscribe {
                plan: Plan::Pro,
                seats: Some(3),
                notify: Some(true),
                reminder: Some("daily".into())
            },
        ]
    );
    // A visible field is still validated.
    let run = sim
        .execute_saved::<Subscribe>(json!({"plan": "pro", "seats": "many"}))
        .await;
    assert_eq!(run.first().status, 400);
    assert_eq!(run.first().body["error"]["field"], "/seats");
}
