use actionkit::Action;

#[derive(Action, serde::Serialize, serde::Deserialize)]
#[action(id = "ticket")]
struct TicketV1 {
    title: String,
}

// Version 2 names version 1, but nothing converts version 1 into version 2.
#[derive(Action, serde::Serialize, serde::Deserialize)]
#[action(id = "ticket", previous = TicketV1)]
struct TicketV2 {
    subject: String,
}

#[derive(Action, serde::Serialize, serde::Deserialize)]
#[action(id = "ticket", previous = TicketV2)]
struct Ticket {
    subject: String,
    body: Option<String>,
}

impl From<TicketV2> for Ticket {
    fn from(v2: TicketV2) -> Self {
        Ticket { subject: v2.subject, body: None }
    }
}

fn main() {}
