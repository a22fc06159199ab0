//! Versioned inputs end to end (the `create_ticket` example): saved configurations of both
//! earlier versions execute over HTTP with real signatures on both platforms, the handler sees
//! the current type, form state migrates saved values, replays of old-shape inputs replay, and
//! the export keeps every version's schema and says when a change is covered by one.

use actionkit::App;
use actionkit::export::{self, ExportError};
use actionkit::platform::epilot;
use actionkit::testing::Simulator;
use serde_json::json;

use crate::support::temp_path;

#[path = "../../examples/create_ticket/ticket.rs"]
mod ticket;
use ticket::{CreateTicket, CreateTicketField, CreateTicketV1, CreateTicketV2, Priority, Tracker};

fn app(tracker: &Tracker) -> App<Tracker> {
    App::new(tracker.clone()).action::<CreateTicket>()
}

fn v1(urgent: bool) -> CreateTicketV1 {
    CreateTicketV1 {
        title: "Printer on fire".into(),
        body: "Third floor".into(),
        urgent: Some(urgent),
    }
}

fn opened(tracker: &Tracker) -> Vec<CreateTicket> {
    tracker.tickets.lock().unwrap().clone()
}

#[tokio::test]
async fn inputs_of_every_version_execute_and_the_handler_sees_the_current_type() {
    let tracker = Tracker::default();
    let sim = Simulator::new(app(&tracker));
    let current = CreateTicket {
        subject: "Login fails".into(),
        description: "Since 9:00".into(),
        priority: Priority::Low,
        team: Some("team_platform".into()),
    };
    let run = sim.execute(current.clone()).await;
    assert_eq!(run.first().status, 200, "{}", run.first().body);
    let run = sim
        .execute_saved::<CreateTicket>(CreateTicketV2 {
            title: "Refund".into(),
            description: "Order 42".into(),
            priority: Priority::High,
        })
        .await;
    assert_eq!(run.first().status, 200, "{}", run.first().body);
    assert_eq!(run.first().body["output"]["ticket"]["subject"], "Refund");
    let run = sim.execute_saved::<CreateTicket>(v1(true)).await;
    assert_eq!(run.first().status, 200, "{}", run.first().body);
    assert_eq!(
        opened(&tracker),
        [
            current,
            CreateTicket {
                subject: "Refund".into(),
                description: "Order 42".into(),
                priority: Priority::High,
                team: None,
            },
            CreateTicket {
                subject: "Printer on fire".into(),
                description: "Third floor".into(),
                priority: Priority::High,
                team: None,
            },
        ]
    );
}

#[tokio::test]
async fn input_of_no_version_is_refused_against_the_current_schema() {
    let tracker = Tracker::default();
    let sim = Simulator::new(app(&tracker));
    // Neither the current shape nor an earlier one: `body` without `title`.
    let run = sim
        .execute_saved::<CreateTicket>(json!({"body": "x", "urgent": true}))
        .await;
    assert_eq!(run.first().status, 400);
    let error = &run.first().body["error"];
    assert_eq!(
        error,
        &json!({"type": "invalid_input", "message": "missing required field `subject`", "field": "/subject"}),
        "the current schema's error, not an earlier version's"
    );
    assert!(opened(&tracker).is_empty(), "nothing ran");
}

#[tokio::test]
async fn a_redelivery_of_an_old_shape_input_replays() {
    let tracker = Tracker::default();
    let sim = Simulator::new(app(&tracker));
    let first = sim
        .execute_saved::<CreateTicket>(v1(false))
        .id("req_saved_v1")
        .await;
    let again = sim
        .execute_saved::<CreateTicket>(v1(false))
        .id("req_saved_v1")
        .delivered(2)
        .await;
    assert_eq!(first.first().status, 200);
    assert_eq!(again.statuses(), [200, 200]);
    assert_eq!(again.first().body, first.first().body);
    assert_eq!(again.handler_calls(), 0, "replayed, not run again");
    assert_eq!(opened(&tracker).len(), 1);
    assert_eq!(opened(&tracker)[0].priority, Priority::Normal);
}

#[tokio::test]
async fn epilot_configurations_of_an_earlier_version_execute() {
    let tracker = Tracker::default();
    let sim = Simulator::new(app(&tracker)).platform(epilot::PLATFORM);
    let run = sim.execute_saved::<CreateTicket>(v1(true)).await;
    assert_eq!(run.first().status, 200, "{}", run.first().body);
    assert_eq!(run.handler_calls(), 1);
    assert_eq!(opened(&tracker)[0].subject, "Printer on fire");
}

#[tokio::test]
async fn form_state_migrates_saved_values_and_answers_the_new_shape() {
    let tracker = Tracker::default();
    let sim = Simulator::new(app(&tracker));
    let form = sim
        .form::<CreateTicket>()
        .with_saved(CreateTicketV2 {
            title: "Refund".into(),
            description: "Order 42".into(),
            priority: Priority::Low,
        })
        .load()
        .await;
    assert_eq!(
        serde_json::Value::Object(form.values().clone()),
        json!({"subject": "Refund", "description": "Order 42", "priority": "low", "team": null})
    );
    assert_eq!(form.options(CreateTicketField::Team).len(), 2);
    // A new, empty form is not an earlier version's (whose fields could all be optional).
    let form = sim.form::<CreateTicket>().load().await;
    assert!(form.values().is_empty(), "{:?}", form.values());
    // Values of the current shape are left as they are.
    let form = sim
        .form::<CreateTicket>()
        .with_value(CreateTicketField::Subject, "Half typed")
        .load()
        .await;
    assert_eq!(
        serde_json::Value::Object(form.values().clone()),
        json!({"subject": "Half typed"})
    );
}

#[test]
fn the_export_keeps_every_version_and_a_change_from_a_declared_one_is_covered() {
    let tracker = Tracker::default();
    let dir = temp_path("versions");
    export::write(&app(&tracker), &dir).unwrap();
    let read = |file: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
    };
    assert_eq!(
        &read("versions/create_ticket/v1.input_schema.json"),
        <CreateTicketV1 as actionkit::Action>::input_schema()
    );
    assert_eq!(
        &read("versions/create_ticket/v2.input_schema.json"),
        <CreateTicketV2 as actionkit::Action>::input_schema()
    );
    // The committed current schema is version 2's, as before this release: breaking, but covered.
    std::fs::copy(
        dir.join("versions/create_ticket/v2.input_schema.json"),
        dir.join("extensions/create_ticket/input_schema.json"),
    )
    .unwrap();
    let Err(ExportError::Stale { changes, .. }) = export::check(&app(&tracker), &dir) else {
        panic!("the changed schema is stale");
    };
    assert_eq!(changes[0].earlier_version, Some(2));
    assert!(changes[0].changes.iter().any(|c| c.breaking
        && c.to_string() == "breaking: /properties/title: field `title` removed or renamed"));
    let message = export::check(&app(&tracker), &dir).unwrap_err().to_string();
    assert!(
        message.contains("and the committed schema is its declared earlier version 2: saved workflows are migrated"),
        "{message}"
    );
    assert!(!message.contains("fix:"), "{message}");
}

mod all_optional {
    use actionkit::prelude::*;
    use serde::{Deserialize, Serialize};

    /// An earlier version every value of which is optional: `{}` decodes as it.
    #[derive(Action, Serialize, Deserialize)]
    #[action(id = "note")]
    pub struct NoteV1 {
        pub text: Option<String>,
    }

    #[derive(Action, Serialize, Deserialize)]
    #[action(id = "note", execute = note, previous = NoteV1)]
    pub struct Note {
        pub body: String,
        #[field(options = kinds)]
        pub kind: Option<String>,
    }

    impl From<NoteV1> for Note {
        fn from(v1: NoteV1) -> Self {
            Note {
                body: v1.text.unwrap_or_else(|| "(empty)".into()),
                kind: None,
            }
        }
    }

    pub async fn kinds() -> Result<Options, FieldError> {
        Ok([Choice::new("memo", "Memo")].into_iter().collect())
    }

    pub async fn note(_: Note) -> Result<(), ActionError> {
        Ok(())
    }
}

#[tokio::test]
async fn an_empty_form_is_not_taken_for_an_earlier_version() {
    use all_optional::{Note, NoteV1};
    let sim = Simulator::new(App::new(()).action::<Note>());
    let form = sim.form::<Note>().load().await;
    assert!(form.values().is_empty(), "{:?}", form.values());
    let form = sim
        .form::<Note>()
        .with_saved(NoteV1 {
            text: Some("hi".into()),
        })
        .load()
        .await;
    assert_eq!(
        serde_json::Value::Object(form.values().clone()),
        json!({"body": "hi", "kind": null})
    );
}
