//! The action's input: one annotated struct holds everything the platforms must know.

use actionkit::Action;
use serde::{Deserialize, Serialize};

use super::mailer::{Mailer, audiences, segments, send_email, template_variables, templates};

/// Send an email to a mailing list.
#[derive(Action, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[action(id = "send_email", name = "Send email", execute = send_email, state = Mailer)]
pub struct SendEmail {
    /// Select a mailing list
    #[field(title = "Audience", options = audiences)]
    pub audience_id: String,

    /// Target a specific segment within the audience (optional)
    #[field(title = "Segment", options = segments, depends_on(audience_id))]
    pub segment_id: Option<String>,

    /// Select an email template to use
    #[field(title = "Email Template", options = templates)]
    pub template_id: String,

    /// Fill in the merge fields for your selected template
    #[field(title = "Template Variables", schema = template_variables, depends_on(template_id))]
    pub template_variables: Option<serde_json::Map<String, serde_json::Value>>,

    /// Custom message body to include in the email
    #[field(multi, template)]
    pub message: Option<String>,
}
