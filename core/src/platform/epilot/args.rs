//! epilot's `serve` flags.

use super::{DEFAULT_PUBLIC_KEY_URL, Epilot};
use crate::platform::SignRequest;
use crate::signature::standard_webhooks::{
    ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSigningKey,
};

/// epilot's `serve` flags; each falls back to its environment variable.
///
/// A pinned key (`EPILOT_PUBLIC_KEY` or `WEBHOOK_SECRET`) is trusted as given; with neither,
/// epilot's public key is fetched from `EPILOT_PUBLIC_KEY_URL` in the background
/// ([`Epilot::discover`]). Checking the flags fetches nothing.
///
/// ```
/// use actionkit_core::platform::epilot::Args;
/// use actionkit_core::server::cli::clap::Parser;
/// #[derive(Parser)]
/// struct Cli { #[command(flatten)] epilot: Args }
/// let cli = Cli::try_parse_from(["app", "--webhook-secret", "whsec_dGVzdHNlY3JldA=="]).unwrap();
/// assert!(cli.epilot.into_platform().is_ok());
/// let cli = Cli::try_parse_from(["app", "--epilot-public-key", "whpk_bad"]).unwrap();
/// assert!(cli.epilot.into_platform().unwrap_err().starts_with("EPILOT_PUBLIC_KEY"));
/// let cli = Cli::try_parse_from(["app", "--epilot-public-key-url", "http://example.com/key"]).unwrap();
/// assert!(cli.epilot.into_platform().unwrap_err().starts_with("EPILOT_PUBLIC_KEY_URL"));
/// ```
#[derive(clap::Args)]
#[group(id = "epilot")]
#[command(next_help_heading = "epilot")]
pub struct Args {
    /// epilot's Ed25519 public key (PEM or `whpk_…`), pinned; without it (and WEBHOOK_SECRET)
    /// the key is fetched from EPILOT_PUBLIC_KEY_URL.
    #[arg(
        long = "epilot-public-key",
        env = "EPILOT_PUBLIC_KEY",
        hide_env_values = true
    )]
    pub public_key: Option<String>,
    /// Standard Webhooks `whsec_…` secret(s) for `v1` senders, comma-separated.
    #[arg(
        long = "webhook-secret",
        env = "WEBHOOK_SECRET",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub webhook_secrets: Vec<String>,
    /// Where epilot's public key is fetched from (JSON `{"public_key": "<PEM>", …}`) when
    /// neither EPILOT_PUBLIC_KEY nor WEBHOOK_SECRET is set: fetched in the background, refreshed
    /// hourly and when a signature matches no cached key; calls get 503 until it is known.
    /// Other stages: `https://cdn.app.<stage>.sls.epilot.io/v1/.well-known/public-key`.
    #[arg(
        long = "epilot-public-key-url",
        env = "EPILOT_PUBLIC_KEY_URL",
        default_value = DEFAULT_PUBLIC_KEY_URL
    )]
    pub public_key_url: String,
}

impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Args")
            .field("public_key", &self.public_key.as_ref().map(|_| "redacted"))
            .field(
                "webhook_secrets",
                &format_args!("[{} redacted]", self.webhook_secrets.len()),
            )
            .field("public_key_url", &self.public_key_url)
            .finish()
    }
}

impl Args {
    /// epilot trusting the given key and secrets, or, when there are none, the key discovered
    /// at the key URL (nothing is fetched here).
    ///
    /// # Errors
    /// When a key or the key URL is unusable, naming its variable.
    pub fn into_platform(self) -> Result<Epilot, String> {
        let mut keys = Vec::new();
        if let Some(key) = self.public_key.filter(|k| !k.trim().is_empty()) {
            Epilot::new([key.trim()])
                .map_err(|e| format!("EPILOT_PUBLIC_KEY (--epilot-public-key): {e}"))?;
            keys.push(key.trim().to_owned());
        }
        for secret in self.webhook_secrets.iter().filter(|s| !s.trim().is_empty()) {
            Epilot::new([secret.trim()])
                .map_err(|e| format!("WEBHOOK_SECRET (--webhook-secret): {e}"))?;
            keys.push(secret.trim().to_owned());
        }
        if keys.is_empty() {
            return Epilot::discover(&self.public_key_url)
                .map_err(|e| format!("EPILOT_PUBLIC_KEY_URL (--epilot-public-key-url): {e}"));
        }
        Epilot::new(keys).map_err(|e| format!("EPILOT_PUBLIC_KEY / WEBHOOK_SECRET: {e}"))
    }
}

/// epilot's `sign` flags.
#[derive(clap::Args)]
#[group(id = "epilot_sign")]
#[command(next_help_heading = "epilot")]
pub struct SignArgs {
    /// A Standard Webhooks `whsec_…` secret the server trusts (`WEBHOOK_SECRET`); the request
    /// is signed `v1` with it.
    #[arg(
        long = "webhook-secret",
        env = "WEBHOOK_SECRET",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub webhook_secret: Vec<String>,
    /// The `webhook-id` (the idempotency key); random when absent.
    #[arg(long = "webhook-id")]
    pub webhook_id: Option<String>,
}

impl std::fmt::Debug for SignArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignArgs")
            .field("webhook_id", &self.webhook_id)
            .finish_non_exhaustive()
    }
}

impl SignArgs {
    /// A curl command for `request`, signed with Standard Webhooks `v1`.
    ///
    /// # Errors
    /// When no usable `whsec_` secret is given.
    pub fn sign(&self, request: &SignRequest<'_>) -> Result<String, String> {
        let secret = self.webhook_secret.iter().find(|s| !s.trim().is_empty()).ok_or(
            "epilot routes are signed with a Standard Webhooks secret: pass --webhook-secret whsec_… (the server must trust it through WEBHOOK_SECRET)",
        )?;
        let key = WebhookSigningKey::hmac_secret(secret.trim())
            .map_err(|e| format!("--webhook-secret: {e}"))?;
        let id = match &self.webhook_id {
            Some(id) => id.clone(),
            None => {
                let random = crate::signature::random_bytes::<12>().map_err(|e| e.to_string())?;
                let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
                format!("msg_{hex}")
            }
        };
        let signature = key.sign(&id, request.now, request.body.as_bytes());
        Ok(request.curl(&[
            (ID_HEADER, id),
            (TIMESTAMP_HEADER, request.now.to_string()),
            (SIGNATURE_HEADER, signature),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        epilot: Args,
    }

    fn keys(args: &[&str]) -> String {
        let cli = Cli::try_parse_from([&["app"], args].concat()).unwrap();
        format!("{:?}", cli.epilot.into_platform().unwrap())
    }

    #[test]
    fn a_pinned_key_disables_discovery() {
        let url = ["--epilot-public-key-url", "http://127.0.0.1:1/key"];
        let pinned = keys(
            &[
                &url[..],
                &[
                    "--epilot-public-key",
                    "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=",
                ],
            ]
            .concat(),
        );
        assert!(
            pinned.contains("Pinned") && !pinned.contains("Discovered"),
            "{pinned}"
        );
        let secret = keys(
            &[
                &url[..],
                &["--webhook-secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            ]
            .concat(),
        );
        assert!(secret.contains("Pinned"), "{secret}");
        let discovered = keys(&url);
        assert!(
            discovered.contains("Discovered") && discovered.contains("127.0.0.1:1"),
            "{discovered}"
        );
        let default = keys(&[]);
        assert!(default.contains(DEFAULT_PUBLIC_KEY_URL), "{default}");
    }
}
