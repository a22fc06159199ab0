use actionkit::Action;

#[derive(Action, serde::Serialize, serde::Deserialize)]
#[action(id = "ticket_v1")]
struct TicketV1 {
    title: String,
}

#[derive(Action, serde::Serialize, serde::Deserialize)]
#[action(id = "ticket", previous = TicketV1)]
struct Ticket {
    subject: String,
}

impl From<TicketV1> for Ticket {
    fn from(v1: TicketV1) -> Self {
        Ticket { subject: v1.title }
    }
}

fn main() {}
