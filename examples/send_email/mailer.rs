//! The example's "email service": providers for the form, and the execute handler, which
//! "sends" by appending one JSON line per email to an outbox file.
//!
//! The email service's key is the calling account's `email_api_key` from Stripe's Secret Store
//! when the server has `STRIPE_API_KEY`; otherwise (no configuration, or an epilot call) the
//! built-in [`DEMO_EMAIL_KEY`] of the demo service. The outbox records which one was used,
//! never the key.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use actionkit::form_state::{Choice, FieldError, Options, Schema};
use actionkit::platform::stripe::StripeSecrets;
use actionkit::{ActionError, Context, Secret, State};
use serde::Serialize;
use serde_json::json;

use super::catalog::Catalog;
use super::input::{SendEmail, SendEmailField};

/// Shared state: the catalog and the outbox.
#[derive(Clone)]
pub struct Mailer {
    pub catalog: Arc<Catalog>,
    outbox: Arc<Mutex<PathBuf>>,
}

impl Mailer {
    /// A mailer writing to the outbox at `path` (created with its directory on first send).
    pub fn new(outbox: impl AsRef<Path>) -> Self {
        Mailer {
            catalog: Arc::new(Catalog::default()),
            outbox: Arc::new(Mutex::new(outbox.as_ref().to_owned())),
        }
    }

    fn append(&self, line: &serde_json::Value) -> std::io::Result<()> {
        let path = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&*path)?;
        writeln!(file, "{line}")?;
        file.sync_data()
    }
}

pub async fn audiences(State(mail): State<Mailer>) -> Result<Options, FieldError> {
    Ok(mail
        .catalog
        .audiences()
        .iter()
        .map(|a| Choice::new(a.id, a.name))
        .collect())
}

pub async fn segments(
    State(mail): State<Mailer>,
    audience_id: &str,
) -> Result<Options, FieldError> {
    let audience = mail
        .catalog
        .audience(audience_id)
        .ok_or_else(|| FieldError::new("pick an audience first"))?;
    let segments = audience.segments.ok_or_else(|| {
        FieldError::new(format!(
            "the segments of {} cannot be loaded right now",
            audience.name
        ))
    })?;
    Ok(segments
        .iter()
        .map(|(id, name)| Choice::new(*id, *name))
        .collect())
}

pub async fn templates(State(mail): State<Mailer>) -> Result<Options, FieldError> {
    Ok(mail
        .catalog
        .templates()
        .iter()
        .map(|t| Choice::new(t.id, t.name))
        .collect())
}

pub async fn template_variables(
    State(mail): State<Mailer>,
    template_id: &str,
) -> Result<Schema, FieldError> {
    let template = mail
        .catalog
        .template(template_id)
        .ok_or_else(|| FieldError::new("pick a template first"))?;
    Ok(Schema::object(
        template.variables.iter().map(|v| (*v, "string")),
    ))
}

/// What a successful send answers.
#[derive(Serialize)]
pub struct Sent {
    pub delivered: u32,
    pub template_id: String,
}

/// The demo email service's key, used when the Secret Store is not configured.
pub const DEMO_EMAIL_KEY: &str = "demo-email-service-key";

/// The name of the email service's key in each account's Secret Store (set by the app's
/// settings page).
pub const EMAIL_KEY_SECRET: &str = "email_api_key";

/// The email service's key for this call, and where it came from.
async fn email_service_key(secrets: &StripeSecrets) -> Result<(Secret, &'static str), ActionError> {
    if secrets.is_configured() {
        Ok((secrets.get(EMAIL_KEY_SECRET).await?, "secret_store"))
    } else {
        Ok((Secret::new(DEMO_EMAIL_KEY), "demo"))
    }
}

pub async fn send_email(
    ctx: Context,
    State(mail): State<Mailer>,
    secrets: StripeSecrets,
    input: SendEmail,
) -> Result<Sent, ActionError> {
    let audience = mail.catalog.audience(&input.audience_id).ok_or_else(|| {
        ActionError::permanent("no such audience").field(SendEmailField::AudienceId)
    })?;
    if let Some(segment) = &input.segment_id
        && !audience
            .segments
            .unwrap_or_default()
            .iter()
            .any(|(id, _)| id == segment)
    {
        return Err(ActionError::permanent("no such segment in this audience")
            .field(SendEmailField::SegmentId));
    }
    let template = mail.catalog.template(&input.template_id).ok_or_else(|| {
        ActionError::permanent("no such template").field(SendEmailField::TemplateId)
    })?;
    let variables = input.template_variables.clone().unwrap_or_default();
    if let Some(missing) = template
        .variables
        .iter()
        .find(|v| !variables.contains_key(**v))
    {
        return Err(
            ActionError::permanent(format!("the template needs `{missing}`"))
                .at(format!("/template_variables/{missing}")),
        );
    }
    if template.outage {
        return Err(ActionError::transient("the email service is unavailable")
            .retry_after(std::time::Duration::from_secs(30)));
    }
    // A real mailer would send `key.expose()` to the email service; the outbox records only
    // where the key came from.
    let (_key, key_source) = email_service_key(&secrets).await?;
    let line = json!({
        "request_id": ctx.request_id(),
        "account": secrets.account(),
        "key_source": key_source,
        "audience_id": input.audience_id,
        "segment_id": input.segment_id,
        "template_id": input.template_id,
        "variables": variables,
        "message": input.message,
    });
    mail.append(&line)
        .map_err(|e| ActionError::transient("the outbox could not be written").with_source(e))?;
    Ok(Sent {
        delivered: 1,
        template_id: input.template_id,
    })
}
