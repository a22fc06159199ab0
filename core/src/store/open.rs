//! [`open`]: a store from the `ACTIONKIT_STORE` setting.

use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "postgres")]
use super::PostgresStore;
#[cfg(feature = "redb")]
use super::RedbStore;
#[cfg(doc)]
use super::{CallbackQueue, IdempotencyStore};
use super::{DEFAULT_RETENTION, MemoryStore, Store, StoreError};

/// Builds the store a setting names (the value of `ACTIONKIT_STORE`), keeping records and
/// finished jobs for [`DEFAULT_RETENTION`]:
///
/// | setting | store |
/// | --- | --- |
/// | `memory` | [`MemoryStore`] (forgotten on exit; tests) |
/// | `file:<path>` (or `file://<absolute path>`) | [`RedbStore`] at that path, parent directories created |
/// | `postgres://…` or `postgresql://…` | [`PostgresStore`] on that database, table [`DEFAULT_TABLE`](super::DEFAULT_TABLE); TLS by the URL's `sslmode` and `sslrootcert` ([`PostgresStore`]'s TLS table) |
///
/// Anything else is [`StoreError::InvalidConfig`] (the message never repeats a connection
/// string, which may hold a password); a file or database that cannot be opened is
/// [`StoreError::Unavailable`].
///
/// The answer is a [`Store`]: both an [`IdempotencyStore`] and a [`CallbackQueue`], and it
/// coerces to an `Arc` of either.
///
/// ```
/// use std::sync::Arc;
/// use actionkit_core::store::{CallbackQueue, IdempotencyStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = actionkit_core::store::open("memory").await?;
/// assert_eq!(store.pending().await?, 0);
/// let records: Arc<dyn IdempotencyStore> = store;
/// # let _ = records;
/// let Err(err) = actionkit_core::store::open("redis://cache").await else { unreachable!() };
/// assert_eq!(
///     err.to_string(),
///     "invalid idempotency store setting: unknown store `redis://…`; expected `memory`, \
///      `file:<path>` or `postgres://…`"
/// );
/// # Ok::<(), actionkit_core::store::StoreError>(())
/// # }).unwrap();
/// ```
pub async fn open(spec: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_with_retention(spec, DEFAULT_RETENTION).await
}

/// [`open`], keeping completed records for `retention`.
///
/// ```
/// use std::time::Duration;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = actionkit_core::store::open_with_retention("memory", Duration::from_secs(3600)).await?;
/// # let _ = store;
/// # Ok::<(), actionkit_core::store::StoreError>(())
/// # }).unwrap();
/// ```
pub async fn open_with_retention(
    spec: &str,
    retention: Duration,
) -> Result<Arc<dyn Store>, StoreError> {
    let spec = spec.trim();
    if spec == "memory" {
        return Ok(Arc::new(MemoryStore::with_retention(retention)));
    }
    if let Some(path) = spec.strip_prefix("file:") {
        // `file:///abs/path` (URL form, empty host) means `/abs/path`.
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(StoreError::InvalidConfig(
                "`file:` needs a path, e.g. `file:/var/lib/my-action/idempotency.redb`".into(),
            ));
        }
        #[cfg(feature = "redb")]
        {
            let builder = RedbStore::builder(path).retention(retention);
            let store = tokio::task::spawn_blocking(move || builder.open())
                .await
                .map_err(|e| StoreError::unavailable("opening the redb store", e))??;
            return Ok(Arc::new(store));
        }
        #[cfg(not(feature = "redb"))]
        return Err(missing_feature("file:<path>", "redb"));
    }
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        {
            let store = PostgresStore::builder(spec)
                .retention(retention)
                .connect()
                .await?;
            return Ok(Arc::new(store));
        }
        #[cfg(not(feature = "postgres"))]
        return Err(missing_feature("postgres://…", "postgres"));
    }
    Err(StoreError::InvalidConfig(if spec.is_empty() {
        "the store setting is empty; expected `memory`, `file:<path>` or `postgres://…`".into()
    } else {
        format!(
            "unknown store `{}`; expected `memory`, `file:<path>` or `postgres://…`",
            redact(spec)
        )
    }))
}

/// A store this build leaves out.
#[cfg(not(all(feature = "redb", feature = "postgres")))]
fn missing_feature(setting: &str, feature: &str) -> StoreError {
    StoreError::InvalidConfig(format!(
        "the `{setting}` store is not in this build; enable actionkit's `{feature}` cargo \
         feature (`actionkit = {{ version = \"…\", features = [\"{feature}\"] }}`), or use `memory`"
    ))
}

/// What of an unknown setting is safe to repeat: the scheme of anything URL-like (the rest may
/// hold a password), else the setting itself, shortened.
fn redact(spec: &str) -> String {
    if let Some((scheme, _)) = spec.split_once("://") {
        return format!("{scheme}://…");
    }
    if let Some((scheme, _)) = spec.split_once(':') {
        return format!("{scheme}:…");
    }
    match spec.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &spec[..end]),
        None => spec.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "redb")]
    use crate::store::CallbackQueue;

    fn invalid(spec: &str) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        match runtime.block_on(open(spec)) {
            Err(StoreError::InvalidConfig(message)) => message,
            Err(other) => panic!("`{spec}` should be InvalidConfig, got {other}"),
            Ok(_) => panic!("`{spec}` should be refused"),
        }
    }

    #[test]
    fn store_open_refuses_unknown_settings_without_leaking_secrets() {
        assert_eq!(
            invalid("postgress://admin:hunter2@db/app"),
            "unknown store `postgress://…`; expected `memory`, `file:<path>` or `postgres://…`"
        );
        assert!(invalid("mysql:admin:hunter2").starts_with("unknown store `mysql:…`"));
        assert!(invalid("Memory").starts_with("unknown store `Memory`"));
        assert!(invalid("  ").starts_with("the store setting is empty"));
        assert!(invalid("file:").starts_with("`file:` needs a path"));
        assert!(invalid("file://").starts_with("`file:` needs a path"));
        assert!(
            invalid(&"x".repeat(100))
                .ends_with("…`; expected `memory`, `file:<path>` or `postgres://…`")
        );
        #[cfg(feature = "postgres")]
        {
            let message = invalid("postgres://admin:hunter2@db/app?sslmode=bogus");
            assert!(
                message.starts_with("malformed PostgreSQL connection string"),
                "{message}"
            );
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    #[cfg(not(all(feature = "redb", feature = "postgres")))]
    fn stores_left_out_of_the_build_name_their_feature() {
        #[cfg(not(feature = "redb"))]
        assert_eq!(
            invalid("file:/tmp/x.redb"),
            "the `file:<path>` store is not in this build; enable actionkit's `redb` cargo \
             feature (`actionkit = { version = \"…\", features = [\"redb\"] }`), or use `memory`"
        );
        #[cfg(not(feature = "postgres"))]
        {
            let message = invalid("postgres://admin:hunter2@db/app");
            assert!(
                message.contains("enable actionkit's `postgres` cargo feature"),
                "{message}"
            );
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    #[cfg(feature = "redb")]
    fn store_open_builds_memory_and_file_stores() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            open("memory").await.unwrap();
            let dir = std::env::temp_dir().join(format!("actionkit-open-{}", std::process::id()));
            let path = dir.join("nested/dirs/store.redb");
            let spec = format!("file:{}", path.display());
            let store = open(&spec).await.unwrap();
            assert!(
                path.exists(),
                "the file store creates its file and parent directories"
            );
            assert!(store.enqueue("job_1", b"payload").await.unwrap());
            drop(store);
            let store = open(&format!("file://{}", path.display())).await.unwrap();
            assert_eq!(store.pending().await.unwrap(), 1, "the job survived");
            drop(store);
            std::fs::remove_dir_all(dir).unwrap();
        });
    }
}
