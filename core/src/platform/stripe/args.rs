//! Stripe's `serve` flags, and the development secret generated when none is given.

use std::path::Path;

use super::{DEFAULT_API_BASE, Stripe};
use crate::platform::SignRequest;
use crate::signature::stripe;

/// Where `serve` saves a generated development secret so `sign` can find it.
pub const DEV_SECRET_FILE: &str = ".actionkit/stripe-dev-secret";

/// Stripe's `serve` flags; each falls back to its environment variable.
///
/// ```
/// use actionkit_core::platform::stripe::Args;
/// use actionkit_core::server::cli::clap::Parser;
/// #[derive(Parser)]
/// struct Cli { #[command(flatten)] stripe: Args }
/// let cli = Cli::try_parse_from([
///     "app", "--stripe-secret", "whsec_a,whsec_b", "--stripe-api-key", "sk_test_1",
/// ]).unwrap();
/// assert_eq!(cli.stripe.secrets, ["whsec_a", "whsec_b"]);
/// assert_eq!(cli.stripe.api_base, "https://api.stripe.com");
/// let shown = format!("{:?}", cli.stripe);
/// assert!(!shown.contains("whsec_a") && !shown.contains("sk_test_1"));
/// // With a key, handlers can read the Secret Store at the base.
/// let stripe = format!("{:?}", cli.stripe.into_platform().unwrap());
/// assert!(stripe.contains("https://api.stripe.com/v1/apps/secrets/find") && !stripe.contains("sk_test_1"));
/// let cli = Cli::try_parse_from([
///     "app", "--stripe-secret", "whsec_a", "--stripe-api-key", "sk_test_1", "--stripe-api-base", "localhost",
/// ]).unwrap();
/// assert!(cli.stripe.into_platform().unwrap_err().contains("STRIPE_API_BASE"));
/// ```
#[derive(clap::Args)]
#[group(id = "stripe")]
#[command(next_help_heading = "Stripe")]
pub struct Args {
    /// Stripe signing secret(s), comma-separated; generated for development when absent.
    #[arg(
        long = "stripe-secret",
        env = "STRIPE_SIGNING_SECRET",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub secrets: Vec<String>,
    /// The app's secret key, for reading the calling account's secrets from Stripe's Secret
    /// Store (`StripeSecrets`); without it handlers cannot read secrets.
    #[arg(
        long = "stripe-api-key",
        env = "STRIPE_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
    /// Stripe's API (tests point it at a loopback fake).
    #[arg(long = "stripe-api-base", env = "STRIPE_API_BASE", default_value = DEFAULT_API_BASE)]
    pub api_base: String,
}

impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Args")
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.secrets.len()),
            )
            .field(
                "api_key",
                &self.api_key.as_ref().map(|_| format_args!("redacted")),
            )
            .field("api_base", &self.api_base)
            .finish()
    }
}

impl Args {
    /// Stripe with the given secrets; with none, a development secret is generated and saved
    /// to [`DEV_SECRET_FILE`] for `sign`, and only its path is printed (every request is still
    /// verified).
    /// With `STRIPE_API_KEY`, handlers can read the Secret Store.
    ///
    /// # Errors
    /// When the development secret cannot be generated or saved.
    pub fn into_platform(self) -> Result<Stripe, String> {
        let mut secrets: Vec<String> = self
            .secrets
            .into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let api_key = self.api_key.filter(|key| !key.trim().is_empty());
        if secrets.is_empty() {
            secrets.push(development_secret()?);
        }
        let stripe = Stripe::new(secrets).map_err(|e| format!("STRIPE_SIGNING_SECRET: {e}"))?;
        match api_key {
            #[cfg(feature = "stripe-secrets")]
            Some(key) => stripe
                .secret_store(key, &self.api_base)
                .map_err(|e| e.to_string()),
            #[cfg(not(feature = "stripe-secrets"))]
            Some(_) => Err(
                "STRIPE_API_KEY is set, but this build has no Secret Store client; \
                 enable actionkit's `stripe-secrets` cargo feature, or unset STRIPE_API_KEY"
                    .into(),
            ),
            None => Ok(stripe),
        }
    }
}

/// Generates a Stripe secret for this run and saves it for `sign`; it says where, never the
/// secret itself (the terminal of a server is often a log).
fn development_secret() -> Result<String, String> {
    let secret = stripe::generate_secret().map_err(|e| e.to_string())?;
    let path = Path::new(DEV_SECRET_FILE);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    write_private(path, &secret).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!(
        "actionkit: no STRIPE_SIGNING_SECRET set; generated a development secret for this run, \
         saved to {DEV_SECRET_FILE} for `sign`; every request is still verified"
    );
    Ok(secret)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(contents.as_bytes())
    }
    #[cfg(not(unix))]
    std::fs::write(path, contents)
}

/// Stripe's `sign` flags.
#[derive(clap::Args)]
#[group(id = "stripe_sign")]
#[command(next_help_heading = "Stripe")]
pub struct SignArgs {
    /// The signing secret; defaults to STRIPE_SIGNING_SECRET, then to the development secret
    /// `serve` saved.
    #[arg(
        long,
        env = "STRIPE_SIGNING_SECRET",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub secret: Vec<String>,
}

impl std::fmt::Debug for SignArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignArgs").finish_non_exhaustive()
    }
}

impl SignArgs {
    /// A curl command for `request`, signed with `Stripe-Signature`.
    ///
    /// # Errors
    /// When no secret is given and `serve` saved none.
    pub fn sign(&self, request: &SignRequest<'_>) -> Result<String, String> {
        let secret = match self.secret.iter().find(|s| !s.trim().is_empty()) {
            Some(secret) => secret.trim().to_owned(),
            None => std::fs::read_to_string(DEV_SECRET_FILE)
                .map(|s| s.trim().to_owned())
                .map_err(|_| {
                    format!("no secret: pass --secret, set STRIPE_SIGNING_SECRET, or start `serve` first so it saves {DEV_SECRET_FILE}")
                })?,
        };
        let header = stripe::sign(&secret, request.now, request.body.as_bytes());
        Ok(request.curl(&[(stripe::HEADER, header)]))
    }
}
