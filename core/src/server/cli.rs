//! The command line a user's binary gets from [`App::run_cli`]: `serve`, `export`, `sign`,
//! configured by the environment variables of `server.md`, overridable by flags.
//!
//! To add flags of your own, flatten [`Command`] into your own clap parser and call
//! [`App::run`]:
//!
//! ```no_run
//! use actionkit_core::server::cli::{Command, clap};
//! #[derive(clap::Parser)]
//! struct Cli {
//!     /// Where sent emails go.
//!     #[arg(long, global = true, default_value = "outbox.jsonl")]
//!     outbox: std::path::PathBuf,
//!     #[command(subcommand)]
//!     command: Command,
//! }
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use clap;
use clap::{Args, Parser, Subcommand};

use super::{App, ServerConfig};
use crate::platform::{PlatformArgs, PlatformSignArgs, SignRequest};

/// `serve | export | sign`.
#[derive(Debug, Parser)]
#[command(about = "Serve, export and try custom workflow actions", long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the actions over HTTP (every platform's routes, health check).
    Serve(ServeArgs),
    /// Write (or with --check, verify) the schema and manifest files the platform needs.
    Export(ExportArgs),
    /// Print a correctly signed request, as a curl command, for trying the server.
    Sign(SignArgs),
}

/// `serve` flags; each falls back to its environment variable.
#[derive(Args)]
pub struct ServeArgs {
    /// Listen address.
    #[arg(long, env = "ACTIONKIT_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Idempotency store: `memory`, `file:<path>` or `postgres://…`.
    #[arg(
        long,
        env = "ACTIONKIT_STORE",
        default_value = "file:.actionkit/idempotency.db",
        hide_env_values = true
    )]
    pub store: String,
    /// Execute budget in milliseconds.
    #[arg(
        long = "deadline-ms",
        env = "ACTIONKIT_DEADLINE_MS",
        default_value_t = 20_000
    )]
    pub deadline_ms: u64,
    /// Form-state budget in milliseconds: a look-up not done by then is its field's timeout
    /// error.
    #[arg(long = "form-state-budget-ms", env = "ACTIONKIT_FORM_STATE_BUDGET_MS", default_value_t = millis(crate::runtime::DEFAULT_FORM_STATE_BUDGET))]
    pub form_state_budget_ms: u64,
    /// Largest accepted request body, in bytes.
    #[arg(long = "body-limit", env = "ACTIONKIT_BODY_LIMIT", default_value_t = super::DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
    /// Route prefix, e.g. `/actions`.
    #[arg(long, env = "ACTIONKIT_PREFIX", default_value = "")]
    pub prefix: String,
    /// Milliseconds a client may take to send a request head.
    #[arg(long = "header-timeout-ms", env = "ACTIONKIT_HEADER_TIMEOUT_MS", default_value_t = millis(super::DEFAULT_HEADER_TIMEOUT))]
    pub header_timeout_ms: u64,
    /// Milliseconds a client may take to send a request body (`408` past it).
    #[arg(long = "body-timeout-ms", env = "ACTIONKIT_BODY_TIMEOUT_MS", default_value_t = millis(super::DEFAULT_BODY_TIMEOUT))]
    pub body_timeout_ms: u64,
    /// Milliseconds a kept-alive connection may wait for its next request.
    #[arg(long = "idle-timeout-ms", env = "ACTIONKIT_IDLE_TIMEOUT_MS", default_value_t = millis(super::DEFAULT_IDLE_TIMEOUT))]
    pub idle_timeout_ms: u64,
    /// The most connections served at once; more wait until one closes.
    #[arg(long = "max-connections", env = "ACTIONKIT_MAX_CONNECTIONS", default_value_t = super::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Log lines as text (coloured only on a terminal) or as one JSON object per line.
    #[arg(long = "log-format", env = "ACTIONKIT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Serve the preview pages under /preview/ (each action's form, driven by its real form
    /// state); only on a loopback address.
    #[cfg(feature = "preview")]
    #[arg(long, env = "ACTIONKIT_PREVIEW", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub preview: bool,
    /// Each platform's keys.
    #[command(flatten)]
    pub platforms: PlatformArgs,
}

/// How log lines are written (`ACTIONKIT_LOG_FORMAT`, `--log-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, with colours only when stderr is a terminal.
    #[default]
    Text,
    /// One JSON object per line, the event's fields at the top level.
    Json,
}

impl LogFormat {
    /// `ACTIONKIT_LOG_FORMAT` (`text` or `json`, any case); text when unset or unknown.
    pub fn from_env() -> Self {
        match std::env::var("ACTIONKIT_LOG_FORMAT") {
            Ok(value) if value.eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

impl std::fmt::Debug for ServeArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("ServeArgs");
        debug
            .field("addr", &self.addr)
            .field("deadline_ms", &self.deadline_ms)
            .field("form_state_budget_ms", &self.form_state_budget_ms)
            .field("body_limit", &self.body_limit)
            .field("prefix", &self.prefix)
            .field("header_timeout_ms", &self.header_timeout_ms)
            .field("body_timeout_ms", &self.body_timeout_ms)
            .field("idle_timeout_ms", &self.idle_timeout_ms)
            .field("max_connections", &self.max_connections)
            .field("log_format", &self.log_format);
        #[cfg(feature = "preview")]
        debug.field("preview", &self.preview);
        debug
            .field("platforms", &self.platforms)
            .finish_non_exhaustive()
    }
}

/// `export` flags.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The directory of the platforms' app files (schemas, components, app manifests).
    #[arg(long)]
    pub out: PathBuf,
    /// Do not write: exit non-zero with a diff when the files on disk are stale.
    #[arg(long)]
    pub check: bool,
}

/// `sign` flags: the route and body, and each platform's signing flags (the platform is the
/// one whose routes the route belongs to).
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The route to call, e.g. `/stripe/send_email/execute` or `/epilot/send_email`.
    #[arg(long)]
    pub route: String,
    /// The JSON body, sent byte for byte as given.
    #[arg(long)]
    pub body: String,
    /// The server's address.
    #[arg(long, env = "ACTIONKIT_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Each platform's signing flags.
    #[command(flatten)]
    pub platforms: PlatformSignArgs,
}

impl<S: Send + Sync + 'static> App<S> {
    /// Parses the process's arguments and runs the command. Logs go to stderr (`RUST_LOG`
    /// filters them, default `info`) in `serve`'s `--log-format`.
    pub async fn run_cli(self) -> ExitCode {
        let command = Cli::parse().command;
        match &command {
            Command::Serve(args) => init_logging_as(args.log_format),
            _ => init_logging(),
        }
        self.run(command).await
    }

    /// Runs one command (call [`init_logging`] first for log output).
    pub async fn run(self, command: Command) -> ExitCode {
        let result = match command {
            Command::Serve(args) => self.serve_command(args).await,
            Command::Export(args) => export_command(&self, &args),
            Command::Sign(args) => sign_command(&args),
        };
        match result {
            Ok(code) => code,
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::FAILURE
            }
        }
    }

    /// Validates the whole configuration (every platform's keys, the store) before binding
    /// the address or announcing anything, so a bad setting stops the process with a message
    /// naming its variable.
    async fn serve_command(self, args: ServeArgs) -> Result<ExitCode, String> {
        #[cfg(feature = "preview")]
        if args.preview {
            super::preview::loopback_only(args.addr)?;
        }
        let platforms = args.platforms.into_platforms()?;
        let store = crate::store::open(&args.store)
            .await
            .map_err(|e| format!("ACTIONKIT_STORE: {e}"))?;
        let config = ServerConfig::new()
            .addr(args.addr)
            .platforms(platforms)
            .store(store)
            .deadline(Duration::from_millis(args.deadline_ms))
            .form_state_budget(Duration::from_millis(args.form_state_budget_ms))
            .body_limit(args.body_limit)
            .header_timeout(Duration::from_millis(args.header_timeout_ms))
            .body_timeout(Duration::from_millis(args.body_timeout_ms))
            .idle_timeout(Duration::from_millis(args.idle_timeout_ms))
            .max_connections(args.max_connections)
            .prefix(args.prefix);
        #[cfg(feature = "preview")]
        let config = config.preview(args.preview);
        let ids: Vec<&str> = self.runtime.actions().map(|a| a.id).collect();
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|e| format!("ACTIONKIT_ADDR: cannot listen on {}: {e}", config.addr))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(addr = %local, actions = ?ids, platforms = ?config.platform_names(), store = store_kind(&args.store), deadline_ms = args.deadline_ms, "serving");
        eprintln!(
            "actionkit: serving {} on http://{local} (store {})",
            ids.join(", "),
            store_kind(&args.store)
        );
        #[cfg(feature = "preview")]
        if config.preview {
            eprintln!(
                "actionkit: preview on http://{local}{}/preview/",
                config.prefix.trim_end_matches('/')
            );
        }
        self.serve_on(listener, &config, super::shutdown_signal())
            .await
            .map_err(|e| e.to_string())?;
        Ok(ExitCode::SUCCESS)
    }
}

const fn millis(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

fn store_kind(spec: &str) -> &str {
    if spec.starts_with("postgres") {
        "postgres"
    } else {
        spec
    }
}

fn export_command(
    app: &impl crate::export::Exportable,
    args: &ExportArgs,
) -> Result<ExitCode, String> {
    if args.check {
        return match crate::export::check(app, &args.out) {
            Ok(()) => {
                eprintln!("actionkit: {} is up to date", args.out.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(err @ crate::export::ExportError::Stale { .. }) => {
                println!("{err}");
                Ok(ExitCode::FAILURE)
            }
            Err(err) => Err(err.to_string()),
        };
    }
    let changed = crate::export::write(app, &args.out).map_err(|e| e.to_string())?;
    for path in &changed {
        eprintln!("actionkit: wrote {}", args.out.join(path).display());
    }
    if changed.is_empty() {
        eprintln!("actionkit: {} was already up to date", args.out.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn sign_command(args: &SignArgs) -> Result<ExitCode, String> {
    serde_json::from_str::<serde_json::Value>(&args.body)
        .map_err(|e| format!("--body is not JSON: {e}"))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let request = SignRequest {
        route: &args.route,
        body: &args.body,
        addr: args.addr,
        now,
    };
    println!("{}", args.platforms.sign(&request)?);
    Ok(ExitCode::SUCCESS)
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), in the format of
/// `ACTIONKIT_LOG_FORMAT` ([`LogFormat::from_env`]); [`App::run_cli`] sets logging up itself,
/// a binary with its own parser calls this (or [`init_logging_as`] with
/// [`ServeArgs::log_format`]) before [`App::run`]. Does nothing if logging is already set up.
pub fn init_logging() {
    init_logging_as(LogFormat::from_env());
}

/// [`init_logging`] in `format`. Text is coloured only when stderr is a terminal, so a log file
/// or a collector gets no escape codes.
pub fn init_logging_as(format: LogFormat) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
