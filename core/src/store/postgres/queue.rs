//! [`CallbackQueue`] for [`PostgresStore`]: a second table, `<table>_jobs`, beside the records.
//!
//! Each row is one job. `due_at` is when it may next be claimed — its `not_before` while it
//! waits, its lease's end while leased — and `NULL` once finished; `token` is the current lease's
//! token (`NULL` while waiting). So "claimable" is just `due_at <= now()`, served by a partial
//! index on `(due_at, key)`, and a claim is one statement:
//!
//! ```sql
//! UPDATE jobs SET token = $1, due_at = now() + $lease
//! WHERE key = (SELECT key FROM jobs WHERE due_at <= now()
//!              ORDER BY due_at, key LIMIT 1 FOR UPDATE SKIP LOCKED)
//! RETURNING …
//! ```
//!
//! The subquery locks the row it picks and skips rows other claims hold, so concurrent claims
//! (from any number of stores) take different jobs; a row another claim updated in the meantime
//! is re-checked against `due_at <= now()` before it is locked. Every other change names the
//! lease's token in its `WHERE`, so a stale token changes nothing. Times are the database's
//! `now()`.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio_postgres::Statement;

use super::{PgError, PostgresStore, bad_row};
use crate::store::{CallbackQueue, JobLease, MAX_DURATION, PendingJob, StoreError};

/// The queue's statements, with the table name filled in.
pub(super) struct JobSql {
    pub(super) create: String,
    pub(super) purge: String,
    enqueue: String,
    claim: String,
    record_outcome: String,
    retry_later: String,
    finish: String,
    finished_by: String,
    pending: String,
}

impl JobSql {
    /// `j` is the quoted, schema-qualified jobs table; `name` its unquoted name (for indexes).
    pub(super) fn new(j: &str, name: &str) -> Self {
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {j} (
                 key         text PRIMARY KEY,
                 payload     bytea NOT NULL,
                 outcome     bytea,
                 attempts    integer NOT NULL DEFAULT 0,
                 created_at  timestamptz NOT NULL,
                 due_at      timestamptz,
                 token       bytea,
                 finished_at timestamptz,
                 delivered   boolean,
                 CHECK ((due_at IS NULL) = (finished_at IS NOT NULL)),
                 CHECK ((finished_at IS NULL) = (delivered IS NULL))
             );
             CREATE INDEX IF NOT EXISTS \"{name}_due\" ON {j} (due_at, key) WHERE due_at IS NOT NULL;
             CREATE INDEX IF NOT EXISTS \"{name}_fin\" ON {j} (finished_at) WHERE finished_at IS NOT NULL;"
        );
        // $1 retention seconds; used inside the records' purge statement
        let purge = format!(
            "DELETE FROM {j} WHERE finished_at <= now() - make_interval(secs => $1) RETURNING 1"
        );
        // $1 key, $2 payload
        let enqueue = format!(
            "INSERT INTO {j} (key, payload, created_at, due_at) VALUES ($1, $2, now(), now())
             ON CONFLICT (key) DO NOTHING"
        );
        // $1 token, $2 lease seconds
        let claim = format!(
            "UPDATE {j} SET token = $1, due_at = now() + make_interval(secs => $2)
             WHERE key = (SELECT key FROM {j} WHERE due_at <= now()
                          ORDER BY due_at, key LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING key, payload, outcome, attempts, created_at, due_at"
        );
        // $1 key, $2 token, $3 outcome
        let record_outcome = format!(
            "UPDATE {j} SET outcome = coalesce(outcome, $3)
             WHERE key = $1 AND token = $2 AND finished_at IS NULL"
        );
        // $1 key, $2 token, $3 delay seconds
        let retry_later = format!(
            "UPDATE {j} SET token = NULL, due_at = now() + make_interval(secs => $3),
                            attempts = attempts + 1
             WHERE key = $1 AND token = $2 AND finished_at IS NULL"
        );
        // $1 key, $2 token, $3 delivered
        let finish = format!(
            "UPDATE {j} SET finished_at = now(), delivered = $3, due_at = NULL
             WHERE key = $1 AND token = $2 AND finished_at IS NULL"
        );
        let finished_by =
            format!("SELECT 1 FROM {j} WHERE key = $1 AND token = $2 AND finished_at IS NOT NULL");
        let pending = format!("SELECT count(*) FROM {j} WHERE finished_at IS NULL");
        Self {
            create,
            purge,
            enqueue,
            claim,
            record_outcome,
            retry_later,
            finish,
            finished_by,
            pending,
        }
    }
}

/// The queue's prepared statements on one connection.
pub(super) struct JobStatements {
    enqueue: Statement,
    claim: Statement,
    record_outcome: Statement,
    retry_later: Statement,
    finish: Statement,
    finished_by: Statement,
    pending: Statement,
}

impl JobStatements {
    pub(super) async fn prepare(
        client: &tokio_postgres::Client,
        sql: &JobSql,
    ) -> Result<Self, tokio_postgres::Error> {
        Ok(Self {
            enqueue: client.prepare(&sql.enqueue).await?,
            claim: client.prepare(&sql.claim).await?,
            record_outcome: client.prepare(&sql.record_outcome).await?,
            retry_later: client.prepare(&sql.retry_later).await?,
            finish: client.prepare(&sql.finish).await?,
            finished_by: client.prepare(&sql.finished_by).await?,
            pending: client.prepare(&sql.pending).await?,
        })
    }
}

fn secs(duration: Duration) -> f64 {
    duration.min(MAX_DURATION).as_secs_f64()
}

#[async_trait]
impl CallbackQueue for PostgresStore {
    async fn enqueue(&self, key: &str, payload: &[u8]) -> Result<bool, StoreError> {
        let conn = self.conn().await?;
        let added = conn
            .client
            .execute(&conn.jobs.enqueue, &[&key, &payload])
            .await
            .map_err(|e| StoreError::unavailable("enqueueing a job in PostgreSQL", PgError(e)))?;
        Ok(added == 1)
    }

    async fn claim_due(
        &self,
        lease: Duration,
    ) -> Result<Option<(PendingJob, JobLease)>, StoreError> {
        let conn = self.conn().await?;
        let token = crate::store::new_token()?;
        let row = conn
            .client
            .query_opt(&conn.jobs.claim, &[&&token[..], &secs(lease)])
            .await
            .map_err(|e| StoreError::unavailable("claiming a job in PostgreSQL", PgError(e)))?;
        let Some(row) = row else { return Ok(None) };
        let key: String = row.try_get("key").map_err(bad_row)?;
        let attempts: i32 = row.try_get("attempts").map_err(bad_row)?;
        let expires_at: SystemTime = row.try_get("due_at").map_err(bad_row)?;
        let job = PendingJob {
            payload: row.try_get("payload").map_err(bad_row)?,
            outcome: row.try_get("outcome").map_err(bad_row)?,
            attempts: u32::try_from(attempts).map_err(|_| {
                StoreError::unavailable("reading a PostgreSQL row", "corrupt row: attempts")
            })?,
            created_at: row.try_get("created_at").map_err(bad_row)?,
            key: key.clone(),
        };
        Ok(Some((job, JobLease::new(key, token, expires_at))))
    }

    async fn record_outcome(&self, lease: &JobLease, outcome: &[u8]) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        let updated = conn
            .client
            .execute(
                &conn.jobs.record_outcome,
                &[&lease.key(), &&lease.token()[..], &outcome],
            )
            .await
            .map_err(|e| {
                StoreError::unavailable("recording a job outcome in PostgreSQL", PgError(e))
            })?;
        owned(updated)
    }

    async fn retry_later(&self, lease: &JobLease, delay: Duration) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        let updated = conn
            .client
            .execute(
                &conn.jobs.retry_later,
                &[&lease.key(), &&lease.token()[..], &secs(delay)],
            )
            .await
            .map_err(|e| StoreError::unavailable("rescheduling a job in PostgreSQL", PgError(e)))?;
        owned(updated)
    }

    async fn finish(&self, lease: &JobLease, delivered: bool) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        let token = &lease.token()[..];
        let updated = conn
            .client
            .execute(&conn.jobs.finish, &[&lease.key(), &token, &delivered])
            .await
            .map_err(|e| StoreError::unavailable("finishing a job in PostgreSQL", PgError(e)))?;
        if updated == 1 {
            return Ok(());
        }
        let already = conn
            .client
            .query_opt(&conn.jobs.finished_by, &[&lease.key(), &token])
            .await
            .map_err(|e| StoreError::unavailable("reading a job from PostgreSQL", PgError(e)))?;
        match already {
            Some(_) => Ok(()),
            None => Err(StoreError::LeaseLost),
        }
    }

    async fn pending(&self) -> Result<u64, StoreError> {
        let conn = self.conn().await?;
        let row = conn
            .client
            .query_one(&conn.jobs.pending, &[])
            .await
            .map_err(|e| StoreError::unavailable("counting jobs in PostgreSQL", PgError(e)))?;
        let count: i64 = row.try_get(0).map_err(bad_row)?;
        Ok(u64::try_from(count).unwrap_or_default())
    }
}

/// `Ok` when the statement changed the lease's job, else `LeaseLost`.
fn owned(updated: u64) -> Result<(), StoreError> {
    if updated == 1 {
        Ok(())
    } else {
        Err(StoreError::LeaseLost)
    }
}
