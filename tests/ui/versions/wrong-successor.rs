use actionkit::Action;

#[derive(Action, serde::Serialize, serde::Deserialize)]
#[action(id = "ticket")]
struct TicketV1 {
    title: String,
}

#[derive(Action, serde::Serialize, serde::Deserialize)]
#[action(id = "ticket", previous = TicketV1)]
struct TicketV2 {
    subject: String,
}

#[derive(Action, serde::Serialize, serde::Deserialize)]
#[action(id = "ticket", previous = TicketV2)]
struct Ticket {
    subject: String,
}

// Version 1 converts straight into the current input, skipping version 2 that names it.
impl From<TicketV1> for Ticket {
    fn from(v1: TicketV1) -> Self {
        Ticket { subject: v1.title }
    }
}

impl From<TicketV2> for Ticket {
    fn from(v2: TicketV2) -> Self {
        Ticket { subject: v2.subject }
    }
}

fn main() {}
