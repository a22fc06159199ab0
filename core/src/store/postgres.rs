//! [`PostgresStore`]: one table shared by every server behind a load balancer.
//!
//! Every decision is one atomic statement, so any number of stores, in any number of processes,
//! can share a table: a claim is a single `INSERT … ON CONFLICT (key) DO UPDATE … WHERE <the row
//! is a lease that expired or a record past retention> RETURNING …`. PostgreSQL serialises
//! concurrent upserts of one key on its row lock and re-checks the `WHERE` against the latest
//! row, so exactly one of them inserts or takes over. When nothing was returned, a follow-up read
//! classifies the row that blocked the claim. All times (lease expiry, retention) are the
//! database's clock (`now()`), so replicas with drifting clocks still agree.
//!
//! One [`tokio_postgres::Client`] pipelines concurrent calls over one connection; no pool is
//! needed because each call is a single autocommitted statement. A broken connection is reopened
//! on the next call (at most one attempt per half second, so an outage answers fast).
//!
//! TLS follows the connection string's `sslmode` and `sslrootcert`, read as libpq reads them
//! (see [`PostgresStore`]); errors carry the database's own message and SQLSTATE.
//!
//! The [`CallbackQueue`] lives in a second table, `<table>_jobs` (see [`queue`]).

mod queue;
mod tls;

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use tokio_postgres::{Client, Config, Statement};

use self::queue::{JobSql, JobStatements};
use self::tls::{SslMode, Tls};
#[cfg(doc)]
use super::CallbackQueue;
use super::record::{self, Entry, State};
use super::{
    Claim, DEFAULT_RETENTION, IdempotencyStore, InputHash, Lease, MAX_DURATION, Recorded,
    StoreError,
};

/// The table a [`PostgresStore`] uses unless told otherwise.
///
/// ```
/// assert_eq!(actionkit_core::store::DEFAULT_TABLE, "actionkit_idempotency");
/// ```
pub const DEFAULT_TABLE: &str = "actionkit_idempotency";

/// How long to fail fast after a failed connection attempt before trying again.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(500);
/// Connection timeout when the URL sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a claim re-runs when the row that blocked it vanished or expired before it was read.
const CLAIM_ATTEMPTS: usize = 5;

/// An [`IdempotencyStore`] and [`CallbackQueue`] in PostgreSQL, shared safely by several
/// processes.
///
/// The records' table (default [`DEFAULT_TABLE`]) and the jobs' table (the same name with
/// `_jobs` appended) are created if missing. Connection and query failures are
/// [`StoreError::Unavailable`], with the database's own message and SQLSTATE when it sent one
/// (a `pg_hba.conf` rejection, a wrong password, a missing schema).
///
/// # TLS
///
/// The connection string's `sslmode` and `sslrootcert` (URL query or `key=value` form) work as
/// in libpq, over rustls:
///
/// | `sslmode` | encrypted | server certificate checked |
/// | --- | --- | --- |
/// | `disable` | never | — |
/// | `prefer` (default) | when the server offers TLS; plain if it does not, or if the TLS attempt fails | only when `sslrootcert` is given: chain, not host name |
/// | `require` | always | only when `sslrootcert` is given: chain, not host name (libpq's rule) |
/// | `verify-ca` | always | chain against the CA, any host name |
/// | `verify-full` | always | chain against the CA, and the certificate names the host |
///
/// `sslrootcert=<file>` names a PEM file of CA certificates; without it the `verify-*` modes
/// trust the Mozilla roots (the `webpki-roots` set), as does `sslrootcert=system` (which, as in
/// libpq, needs `verify-full`). Client certificates (`sslcert`, `sslkey`) are not supported.
/// A certificate the settings refuse, or a server that turns the connection down, is a start-up
/// error that names the settings in use (never the rest of the connection string, which may
/// hold a password):
///
/// ```text
/// idempotency store unavailable: connecting to PostgreSQL: error performing TLS handshake:
/// invalid peer certificate: UnknownIssuer; the server's certificate is not signed by the CA in
/// `sslrootcert` (`sslmode=verify-full`, `sslrootcert=/etc/ssl/db-ca.pem`)
/// ```
///
/// ```no_run
/// use std::time::Duration;
/// use actionkit_core::store::{IdempotencyStore, InputHash, PostgresStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
/// let claim = store.claim("evt_1", &InputHash([1; 32]), Duration::from_secs(30)).await?;
/// # let _ = claim;
/// # Ok::<(), actionkit_core::store::StoreError>(())
/// # }).unwrap();
/// ```
pub struct PostgresStore {
    config: Config,
    tls: Tls,
    table: String,
    sql: Sql,
    retention: Duration,
    slot: tokio::sync::Mutex<Slot>,
}

/// Configures and connects a [`PostgresStore`]; from [`PostgresStore::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// use actionkit_core::store::PostgresStore;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = PostgresStore::builder("postgres://app@127.0.0.1/app")
///     .table("idempotency.records")
///     .retention(Duration::from_secs(24 * 3600))
///     .connect()
///     .await?;
/// # let _ = store;
/// # Ok::<(), actionkit_core::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct PostgresStoreBuilder {
    url: String,
    table: String,
    retention: Duration,
}

impl fmt::Debug for PostgresStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // the URL may hold a password
        f.debug_struct("PostgresStoreBuilder")
            .field("table", &self.table)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects with the default table and retention, creating the table if missing.
    ///
    /// ```no_run
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = actionkit_core::store::PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
    /// # let _ = store;
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    /// Starts configuring a store on the database at `url` (`postgres://user:password@host:port/db`
    /// or the `key=value` form; `sslmode` and `sslrootcert` as in [`PostgresStore`]'s TLS table).
    ///
    /// ```
    /// let builder = actionkit_core::store::PostgresStore::builder("postgres://app@127.0.0.1/app");
    /// # let _ = builder;
    /// ```
    pub fn builder(url: impl Into<String>) -> PostgresStoreBuilder {
        PostgresStoreBuilder {
            url: url.into(),
            table: DEFAULT_TABLE.to_owned(),
            retention: DEFAULT_RETENTION,
        }
    }

    /// The table this store uses, as configured (`name` or `schema.name`).
    ///
    /// ```no_run
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = actionkit_core::store::PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
    /// assert_eq!(store.table(), "actionkit_idempotency");
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Whether the store's connection is encrypted, as the server sees it (`pg_stat_ssl`).
    ///
    /// ```no_run
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = actionkit_core::store::PostgresStore::connect(
    ///     "postgres://app@db.internal/app?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem",
    /// )
    /// .await?;
    /// assert!(store.uses_tls().await?);
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    pub async fn uses_tls(&self) -> Result<bool, StoreError> {
        let conn = self.conn().await?;
        let row = conn
            .client
            .query_opt(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .map_err(|e| StoreError::unavailable("reading pg_stat_ssl", PgError(e)))?;
        match row {
            Some(row) => row.try_get(0).map_err(bad_row),
            None => Ok(false),
        }
    }

    /// The connection to use, reopened if it broke.
    async fn conn(&self) -> Result<Arc<Conn>, StoreError> {
        let mut slot = self.slot.lock().await;
        if let Some(conn) = slot.conn.as_ref().filter(|c| !c.client.is_closed()) {
            return Ok(conn.clone());
        }
        slot.conn = None;
        if let Some((at, message)) = &slot.failed
            && at.elapsed() < RECONNECT_BACKOFF
        {
            return Err(StoreError::unavailable(
                "connecting to PostgreSQL",
                message.clone(),
            ));
        }
        match Conn::open(&self.config, &self.tls, &self.sql).await {
            Ok(conn) => {
                let conn = Arc::new(conn);
                slot.conn = Some(conn.clone());
                slot.failed = None;
                Ok(conn)
            }
            Err(e) => {
                let message = connect_failure(e, &self.tls);
                slot.failed = Some((Instant::now(), message.clone()));
                Err(StoreError::unavailable("connecting to PostgreSQL", message))
            }
        }
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("table", &self.table)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl PostgresStoreBuilder {
    /// The table to use: `name` or `schema.name`, each part `[A-Za-z_][A-Za-z0-9_]*` and at most
    /// 50 characters (the schema must exist). Default [`DEFAULT_TABLE`]. The jobs' table is
    /// `name_jobs` in the same schema.
    ///
    /// ```
    /// let builder = actionkit_core::store::PostgresStore::builder("postgres://app@127.0.0.1/app")
    ///     .table("tenant_a.idempotency");
    /// # let _ = builder;
    /// ```
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// How long completed records are replayed, and finished jobs kept (default
    /// [`DEFAULT_RETENTION`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = actionkit_core::store::PostgresStore::builder("postgres://app@127.0.0.1/app")
    ///     .retention(Duration::from_secs(3600));
    /// # let _ = builder;
    /// ```
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Connects and creates the table (and its indexes) if missing. A malformed URL or table name
    /// is [`StoreError::InvalidConfig`]; a database that cannot be reached is
    /// [`StoreError::Unavailable`].
    ///
    /// ```no_run
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = actionkit_core::store::PostgresStore::builder("postgres://app@127.0.0.1/app").connect().await?;
    /// # let _ = store;
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect(self) -> Result<PostgresStore, StoreError> {
        let (mut config, tls) = Tls::parse(&self.url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let sql = Sql::new(&self.table)?;
        let store = PostgresStore {
            config,
            tls,
            table: self.table,
            sql,
            retention: self.retention,
            slot: tokio::sync::Mutex::new(Slot::default()),
        };
        store.conn().await?;
        Ok(store)
    }
}

#[async_trait]
impl IdempotencyStore for PostgresStore {
    async fn claim(
        &self,
        key: &str,
        input: &InputHash,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let conn = self.conn().await?;
        let lease_secs = lease.min(MAX_DURATION).as_secs_f64();
        let retention_secs = self.retention.min(MAX_DURATION).as_secs_f64();
        for _ in 0..CLAIM_ATTEMPTS {
            let token = super::new_token()?;
            let acquired = conn
                .client
                .query_opt(
                    &conn.claim,
                    &[
                        &key,
                        &&input.0[..],
                        &&token[..],
                        &lease_secs,
                        &retention_secs,
                    ],
                )
                .await
                .map_err(|e| StoreError::unavailable("claiming an id in PostgreSQL", PgError(e)))?;
            if let Some(row) = acquired {
                let expires_at: SystemTime = row.try_get(0).map_err(bad_row)?;
                return Ok(Claim::Acquired(Lease::new(key, token, expires_at)));
            }
            let row = conn
                .client
                .query_opt(&conn.read, &[&key])
                .await
                .map_err(|e| {
                    StoreError::unavailable("reading an id from PostgreSQL", PgError(e))
                })?;
            let Some(row) = row else { continue }; // released or purged in between: claim again
            let (entry, now) = entry_from_row(&row)?;
            if let Some(answer) = record::classify(Some(&entry), input, now, self.retention) {
                return Ok(answer);
            }
            // expired in between: claim again
        }
        // The id kept changing hands under us; let the caller retry shortly.
        Ok(Claim::InProgress {
            retry_after: Duration::from_millis(100),
        })
    }

    async fn complete(&self, lease: &Lease, outcome: &Recorded) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        let token = &lease.token()[..];
        let status = i32::from(outcome.status);
        let updated = conn
            .client
            .execute(
                &conn.complete,
                &[
                    &lease.key(),
                    &token,
                    &status,
                    &&outcome.body[..],
                    &outcome.recorded_at,
                ],
            )
            .await
            .map_err(|e| {
                StoreError::unavailable("recording an outcome in PostgreSQL", PgError(e))
            })?;
        if updated == 1 {
            return Ok(());
        }
        let already = conn
            .client
            .query_opt(&conn.completed_by, &[&lease.key(), &token])
            .await
            .map_err(|e| StoreError::unavailable("reading an id from PostgreSQL", PgError(e)))?;
        match already {
            Some(_) => Ok(()),
            None => Err(StoreError::LeaseLost),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        let deleted = conn
            .client
            .execute(&conn.release, &[&lease.key(), &&lease.token()[..]])
            .await
            .map_err(|e| StoreError::unavailable("releasing an id in PostgreSQL", PgError(e)))?;
        if deleted == 1 {
            Ok(())
        } else {
            Err(StoreError::LeaseLost)
        }
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        let conn = self.conn().await?;
        let retention_secs = self.retention.min(MAX_DURATION).as_secs_f64();
        let row = conn
            .client
            .query_one(&conn.purge, &[&retention_secs])
            .await
            .map_err(|e| {
                StoreError::unavailable("purging expired ids in PostgreSQL", PgError(e))
            })?;
        let removed: i64 = row.try_get(0).map_err(bad_row)?;
        Ok(u64::try_from(removed).unwrap_or_default())
    }

    /// `SELECT 1` on the store's connection (reconnecting if it broke).
    async fn ping(&self) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.client
            .simple_query("SELECT 1")
            .await
            .map_err(|e| StoreError::unavailable("pinging PostgreSQL", e))?;
        Ok(())
    }
}

fn bad_row(e: tokio_postgres::Error) -> StoreError {
    StoreError::unavailable("reading a PostgreSQL row", PgError(e))
}

/// A tokio-postgres error shown with what it carries: the database's own message and SQLSTATE
/// (tokio-postgres alone says "db error"), or its chain of causes.
#[derive(Debug)]
struct PgError(tokio_postgres::Error);

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(db) = self.0.as_db_error() {
            write!(
                f,
                "{}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            )?;
            if let Some(detail) = db.detail() {
                write!(f, "; {detail}")?;
            }
            if let Some(hint) = db.hint() {
                write!(f, "; hint: {hint}")?;
            }
            return Ok(());
        }
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl StdError for PgError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.0)
    }
}

/// Why a connection failed, with the TLS settings it was made with and, where the cause is
/// known, what to change.
fn connect_failure(e: tokio_postgres::Error, tls: &Tls) -> String {
    use rustls::CertificateError as Cert;
    let hint = match (rustls_error(&e), e.as_db_error()) {
        (Some(rustls::Error::InvalidCertificate(Cert::UnknownIssuer | Cert::BadSignature)), _) => {
            Some(if tls.names_a_ca() {
                "the server's certificate is not signed by the CA in `sslrootcert`"
            } else {
                "the server's certificate is not signed by a public CA; name its CA with \
                 `sslrootcert=<file>`"
            })
        }
        (
            Some(rustls::Error::InvalidCertificate(
                Cert::NotValidForName | Cert::NotValidForNameContext { .. },
            )),
            _,
        ) => Some(
            "the server's certificate is not for the host connected to (`verify-ca` does not \
             check the name)",
        ),
        (None, Some(db))
            if tls.mode() == SslMode::Disable
                && *db.code()
                    == tokio_postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION
                && db.message().contains("pg_hba.conf") =>
        {
            Some("if the server takes TLS connections only, use `sslmode=require` or stronger")
        }
        _ => None,
    };
    let mut message = PgError(e).to_string();
    if let Some(hint) = hint {
        message.push_str("; ");
        message.push_str(hint);
    }
    format!("{message} ({tls})")
}

/// The rustls error behind a failed handshake (tokio-rustls wraps it in an `io::Error`).
fn rustls_error(e: &tokio_postgres::Error) -> Option<&rustls::Error> {
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(found) = cause.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(found) = cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(found);
        }
        source = cause.source();
    }
    None
}

/// Builds the entry the read statement returned, and the database's `now()`.
fn entry_from_row(row: &tokio_postgres::Row) -> Result<(Entry, SystemTime), StoreError> {
    let corrupt = |what: &str| {
        StoreError::unavailable("reading a PostgreSQL row", format!("corrupt row: {what}"))
    };
    let input: &[u8] = row.try_get("input_hash").map_err(bad_row)?;
    let token: &[u8] = row.try_get("token").map_err(bad_row)?;
    let status: Option<i32> = row.try_get("status").map_err(bad_row)?;
    let now: SystemTime = row.try_get("now").map_err(bad_row)?;
    let state = match status {
        None => State::Running {
            expires_at: row
                .try_get::<_, Option<SystemTime>>("lease_expires_at")
                .map_err(bad_row)?
                .ok_or_else(|| corrupt("running claim without a lease"))?,
        },
        Some(status) => State::Done(Recorded {
            status: u16::try_from(status).map_err(|_| corrupt("status"))?,
            body: row
                .try_get::<_, Option<Vec<u8>>>("body")
                .map_err(bad_row)?
                .unwrap_or_default()
                .into(),
            recorded_at: row
                .try_get::<_, Option<SystemTime>>("recorded_at")
                .map_err(bad_row)?
                .ok_or_else(|| corrupt("record without a time"))?,
        }),
    };
    let entry = Entry {
        input: InputHash(input.try_into().map_err(|_| corrupt("input hash"))?),
        token: token.try_into().map_err(|_| corrupt("token"))?,
        state,
    };
    Ok((entry, now))
}

#[derive(Default)]
struct Slot {
    conn: Option<Arc<Conn>>,
    /// When the last connection attempt failed, and why.
    failed: Option<(Instant, String)>,
}

/// One connection with its prepared statements.
struct Conn {
    client: Client,
    claim: Statement,
    read: Statement,
    complete: Statement,
    completed_by: Statement,
    release: Statement,
    purge: Statement,
    jobs: JobStatements,
}

impl Conn {
    async fn open(config: &Config, tls: &Tls, sql: &Sql) -> Result<Self, tokio_postgres::Error> {
        let client = match Self::client(config, tls).await {
            // libpq's `prefer`: a TLS attempt that fails (the handshake, or the server turning
            // TLS connections down) is made again in plain
            Err(e)
                if tls.mode() == SslMode::Prefer
                    && (e.as_db_error().is_some() || rustls_error(&e).is_some()) =>
            {
                let mut plain = config.clone();
                plain.ssl_mode(tokio_postgres::config::SslMode::Disable);
                Self::client(&plain, tls).await?
            }
            other => other?,
        };
        client.batch_execute(&sql.create).await?;
        Ok(Self {
            claim: client.prepare(&sql.claim).await?,
            read: client.prepare(&sql.read).await?,
            complete: client.prepare(&sql.complete).await?,
            completed_by: client.prepare(&sql.completed_by).await?,
            release: client.prepare(&sql.release).await?,
            purge: client.prepare(&sql.purge).await?,
            jobs: JobStatements::prepare(&client, &sql.jobs).await?,
            client,
        })
    }

    async fn client(config: &Config, tls: &Tls) -> Result<Client, tokio_postgres::Error> {
        let (client, connection) = config.connect(tls.connector().clone()).await?;
        // The connection task ends when the client is dropped or the connection breaks; the
        // client then reports `is_closed` and the next call reconnects.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }
}

/// The statements, with the table name filled in.
struct Sql {
    create: String,
    claim: String,
    read: String,
    complete: String,
    completed_by: String,
    release: String,
    purge: String,
    jobs: JobSql,
}

/// Serialises table creation between stores starting at once (an arbitrary constant).
const DDL_LOCK: i64 = 0x6163_6b69_745f_6964;

impl Sql {
    fn new(table: &str) -> Result<Self, StoreError> {
        let (schema, name) = match table.split_once('.') {
            Some((schema, name)) => (Some(schema), name),
            None => (None, table),
        };
        for part in schema.into_iter().chain([name]) {
            check_identifier(part, table)?;
        }
        let qualified = |name: &str| match schema {
            Some(schema) => format!("\"{schema}\".\"{name}\""),
            None => format!("\"{name}\""),
        };
        let t = qualified(name);
        let jobs_name = format!("{name}_jobs");
        let jobs = JobSql::new(&qualified(&jobs_name), &jobs_name);
        let create_jobs = &jobs.create;
        let create = format!(
            "BEGIN;
             SELECT pg_advisory_xact_lock({DDL_LOCK});
             CREATE TABLE IF NOT EXISTS {t} (
                 key              text PRIMARY KEY,
                 input_hash       bytea NOT NULL,
                 token            bytea NOT NULL,
                 lease_expires_at timestamptz,
                 status           integer,
                 body             bytea,
                 recorded_at      timestamptz,
                 CHECK ((status IS NULL) = (recorded_at IS NULL)),
                 CHECK (status IS NOT NULL OR lease_expires_at IS NOT NULL)
             );
             CREATE INDEX IF NOT EXISTS \"{name}_lease_idx\" ON {t} (lease_expires_at) WHERE status IS NULL;
             CREATE INDEX IF NOT EXISTS \"{name}_recorded_idx\" ON {t} (recorded_at) WHERE status IS NOT NULL;
             {create_jobs}
             COMMIT;"
        );
        // $1 key, $2 input hash, $3 token, $4 lease seconds, $5 retention seconds
        let claim = format!(
            "INSERT INTO {t} AS r (key, input_hash, token, lease_expires_at)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))
             ON CONFLICT (key) DO UPDATE
                 SET input_hash = excluded.input_hash, token = excluded.token,
                     lease_expires_at = excluded.lease_expires_at,
                     status = NULL, body = NULL, recorded_at = NULL
                 WHERE (r.status IS NULL AND r.lease_expires_at <= now())
                    OR (r.status IS NOT NULL AND r.recorded_at <= now() - make_interval(secs => $5))
             RETURNING lease_expires_at"
        );
        let read = format!(
            "SELECT input_hash, token, lease_expires_at, status, body, recorded_at, now() AS now
             FROM {t} WHERE key = $1"
        );
        // $1 key, $2 token, $3 status, $4 body, $5 recorded_at
        let complete = format!(
            "UPDATE {t} SET status = $3, body = $4, recorded_at = $5, lease_expires_at = NULL
             WHERE key = $1 AND token = $2 AND status IS NULL"
        );
        let completed_by =
            format!("SELECT 1 FROM {t} WHERE key = $1 AND token = $2 AND status IS NOT NULL");
        let release = format!("DELETE FROM {t} WHERE key = $1 AND token = $2 AND status IS NULL");
        // $1 retention seconds; one statement for both tables, answering the total
        let purge_jobs = &jobs.purge;
        let purge = format!(
            "WITH records AS (
                 DELETE FROM {t}
                 WHERE (status IS NULL AND lease_expires_at <= now())
                    OR (status IS NOT NULL AND recorded_at <= now() - make_interval(secs => $1))
                 RETURNING 1),
             jobs AS ({purge_jobs})
             SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM jobs)"
        );
        Ok(Self {
            create,
            claim,
            read,
            complete,
            completed_by,
            release,
            purge,
            jobs,
        })
    }
}

fn check_identifier(part: &str, table: &str) -> Result<(), StoreError> {
    let mut chars = part.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && part.len() <= 50;
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidConfig(format!(
            "invalid PostgreSQL table name `{table}`; expected `name` or `schema.name`, each \
             part `[A-Za-z_][A-Za-z0-9_]*` and at most 50 characters"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_postgres_table_names_are_checked() {
        for good in [
            "actionkit_idempotency",
            "s.t",
            "_a1._b2",
            "Tenant_A.records",
        ] {
            assert!(Sql::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a.b.c",
            "1abc",
            "a-b",
            "a b",
            "a;drop table x",
            "\"a\"",
            "s.",
            ".t",
            &"x".repeat(51),
        ] {
            match Sql::new(bad) {
                Err(StoreError::InvalidConfig(message)) => {
                    assert!(message.contains("invalid PostgreSQL table name"))
                }
                _ => panic!("`{bad}` should be refused"),
            }
        }
    }
}
