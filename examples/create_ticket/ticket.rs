//! The ticket action in its three shapes: two earlier versions, each converting into the next,
//! and the current input, which names the previous one with `previous = …`.

use std::sync::{Arc, Mutex};

use actionkit::prelude::*;
use serde::{Deserialize, Serialize};

/// Version 1, as first published: a body and an urgent flag.
#[derive(Action, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[action(id = "create_ticket", name = "Create ticket")]
pub struct CreateTicketV1 {
    pub title: String,
    pub body: String,
    pub urgent: Option<bool>,
}

/// Version 2: the body became a description, the flag a priority.
#[derive(Action, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[action(id = "create_ticket", name = "Create ticket", previous = CreateTicketV1)]
pub struct CreateTicketV2 {
    pub title: String,
    pub description: String,
    pub priority: Priority,
}

impl From<CreateTicketV1> for CreateTicketV2 {
    fn from(v1: CreateTicketV1) -> Self {
        CreateTicketV2 {
            title: v1.title,
            description: v1.body,
            priority: if v1.urgent == Some(true) {
                Priority::High
            } else {
                Priority::Normal
            },
        }
    }
}

/// How soon the team should look at it.
#[derive(InputType, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Normal,
    High,
}

/// Opens a ticket in the tracker (the current version: the title became a subject, and a team
/// can be picked).
#[derive(Action, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[action(
    id = "create_ticket",
    name = "Create ticket",
    execute = create_ticket,
    state = Tracker,
    previous = CreateTicketV2
)]
pub struct CreateTicket {
    /// One line that says what is wrong
    #[field(max_length = 120)]
    pub subject: String,
    /// Everything the team needs to know
    #[field(multi)]
    pub description: String,
    pub priority: Priority,
    /// The team that gets the ticket (the triage team when empty)
    #[field(options = teams)]
    pub team: Option<String>,
}

impl From<CreateTicketV2> for CreateTicket {
    fn from(v2: CreateTicketV2) -> Self {
        CreateTicket {
            subject: v2.title,
            description: v2.description,
            priority: v2.priority,
            team: None,
        }
    }
}

/// The teams a ticket can go to.
pub async fn teams(State(_): State<Tracker>) -> Result<Options, FieldError> {
    Ok([("team_billing", "Billing"), ("team_platform", "Platform")]
        .into_iter()
        .map(|(id, label)| Choice::new(id, label))
        .collect())
}

/// The tickets opened so far (in memory: the example needs no services).
#[derive(Clone, Default)]
pub struct Tracker {
    /// The tickets opened so far, oldest first.
    pub tickets: Arc<Mutex<Vec<CreateTicket>>>,
}

/// What the action answers: the ticket's number and the input it was opened with.
#[derive(Serialize)]
pub struct Opened {
    pub number: usize,
    pub ticket: CreateTicket,
}

/// The execute handler: it only ever sees the current input, whatever version was saved.
pub async fn create_ticket(
    State(tracker): State<Tracker>,
    input: CreateTicket,
) -> Result<Opened, ActionError> {
    let mut tickets = tracker.tickets.lock().unwrap_or_else(|e| e.into_inner());
    tickets.push(input.clone());
    Ok(Opened {
        number: tickets.len(),
        ticket: input,
    })
}
