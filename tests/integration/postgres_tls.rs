//! PostgreSQL over TLS against the `with-postgres` server, which serves plain and TLS
//! connections on 127.0.0.1 and exports the CA of its certificate (for `localhost` and
//! `127.0.0.1`) as `ACTIONKIT_TEST_POSTGRES_CA`.

use std::time::Duration;

use actionkit::store::{Claim, IdempotencyStore, InputHash, PostgresStore, StoreError};

use crate::support::{postgres_url, unique};

/// The server's URL (`postgres://postgres@127.0.0.1:PORT/postgres`) and its CA file, or `None`
/// after printing why the test is skipped (never in CI, where it fails instead).
fn tls_server(test: &str) -> Option<(String, String)> {
    let url = postgres_url(test)?;
    match std::env::var("ACTIONKIT_TEST_POSTGRES_CA") {
        Ok(ca) if !ca.is_empty() => Some((url, ca)),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "{test}: ACTIONKIT_TEST_POSTGRES_CA must be set in CI (with-postgres serves TLS)"
            )
        }
        _ => {
            eprintln!(
                "skipping {test}: ACTIONKIT_TEST_POSTGRES_CA is not set; with-postgres could not \
                 make TLS certificates"
            );
            None
        }
    }
}

/// `url` with its database replaced.
fn on_database(url: &str, db: &str) -> String {
    let server = url
        .strip_suffix("/postgres")
        .expect("the test URL ends in `/postgres`");
    format!("{server}/{db}")
}

/// `url` with its host replaced and `query` appended.
fn with(url: &str, host: &str, query: &str) -> String {
    let url = url.replacen("@127.0.0.1:", &format!("@{host}:"), 1);
    assert!(
        url.contains(&format!("@{host}:")),
        "unexpected test URL {url}"
    );
    format!("{url}?{query}")
}

async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
    PostgresStore::builder(url)
        .table(format!("ak_tls_{}_{}", std::process::id(), unique()))
        .connect()
        .await
}

/// Connects, checks the server sees TLS (or not) and that the store works.
async fn assert_connects(url: &str, encrypted: bool) {
    let store = connect(url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(store.uses_tls().await.unwrap(), encrypted, "{url}");
    let claim = store
        .claim("evt_tls", &InputHash([7; 32]), Duration::from_secs(30))
        .await
        .unwrap();
    assert!(matches!(claim, Claim::Acquired(_)), "{url}");
}

async fn refused(url: &str) -> String {
    match connect(url).await {
        Err(e) => {
            assert!(e.is_unavailable(), "{url}: {e}");
            e.to_string()
        }
        Ok(_) => panic!("{url} should be refused"),
    }
}

#[tokio::test]
async fn postgres_tls_verify_full_with_the_servers_ca() {
    let Some((url, ca)) = tls_server("postgres_tls_verify_full_with_the_servers_ca") else {
        return;
    };
    let query = format!("sslmode=verify-full&sslrootcert={ca}");
    assert_connects(&with(&url, "localhost", &query), true).await;
    // the certificate names the address too
    assert_connects(&with(&url, "127.0.0.1", &query), true).await;
    // the key=value form reads the same settings
    let port = url.rsplit(':').next().unwrap().split('/').next().unwrap();
    assert_connects(
        &format!(
            "host=localhost port={port} user=postgres dbname=postgres sslmode=verify-full \
             sslrootcert='{ca}'"
        ),
        true,
    )
    .await;
}

#[tokio::test]
async fn postgres_tls_verify_ca_checks_the_chain_not_the_host_name() {
    let Some((url, ca)) = tls_server("postgres_tls_verify_ca_checks_the_chain_not_the_host_name")
    else {
        return;
    };
    // TLS is told the host `elsewhere.invalid`, the socket goes to 127.0.0.1
    let query = |mode: &str| format!("hostaddr=127.0.0.1&sslmode={mode}&sslrootcert={ca}");
    assert_connects(&with(&url, "elsewhere.invalid", &query("verify-ca")), true).await;
    let message = refused(&with(&url, "elsewhere.invalid", &query("verify-full"))).await;
    assert!(
        message.contains("the server's certificate is not for the host connected to")
            && message.contains(&format!("(`sslmode=verify-full`, `sslrootcert={ca}`)")),
        "{message}"
    );
}

#[tokio::test]
async fn postgres_tls_require_and_prefer_encrypt_without_a_ca() {
    let Some((url, _)) = tls_server("postgres_tls_require_and_prefer_encrypt_without_a_ca") else {
        return;
    };
    assert_connects(&with(&url, "localhost", "sslmode=require"), true).await;
    assert_connects(&with(&url, "127.0.0.1", "sslmode=require"), true).await;
    // `prefer` is the default
    assert_connects(&with(&url, "127.0.0.1", "sslmode=prefer"), true).await;
    assert_connects(&url, true).await;
    assert_connects(&with(&url, "127.0.0.1", "sslmode=disable"), false).await;
}

#[tokio::test]
async fn postgres_tls_wrong_ca_is_a_clear_startup_error() {
    let Some((url, _)) = tls_server("postgres_tls_wrong_ca_is_a_clear_startup_error") else {
        return;
    };
    let wrong_ca = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/unrelated-ca.crt"
    );
    // a password in the URL never shows (the test server trusts every connection)
    let url = url.replacen("postgres@", "postgres:hunter2@", 1);
    for mode in ["verify-full", "verify-ca", "require"] {
        let spec = with(
            &url,
            "localhost",
            &format!("sslmode={mode}&sslrootcert={wrong_ca}"),
        );
        let Err(err) = actionkit::store::open(&spec).await else {
            panic!("{mode} with an unrelated CA should be refused");
        };
        let message = err.to_string();
        assert_eq!(
            message,
            format!(
                "idempotency store unavailable: connecting to PostgreSQL: error performing TLS \
                 handshake: invalid peer certificate: UnknownIssuer; the server's certificate is \
                 not signed by the CA in `sslrootcert` (`sslmode={mode}`, \
                 `sslrootcert={wrong_ca}`)"
            )
        );
        assert!(!message.contains("hunter2"), "{message}");
    }
    // without `sslrootcert`, the public roots: they do not know the test CA
    let message = refused(&with(&url, "localhost", "sslmode=verify-full")).await;
    assert!(
        message.contains("not signed by a public CA; name its CA with `sslrootcert=<file>`")
            && message.ends_with("(`sslmode=verify-full` (system roots))"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

/// A database the test server takes TLS connections to only (`hostnossl`) or plain ones only
/// (`hostssl`): a `<kind> <name> all all reject` line put first in its `pg_hba.conf`, then
/// reloaded. Answers the database's name.
async fn database_refusing(url: &str, kind: &str) -> String {
    let name = format!("actionkit_{kind}_rejected");
    let name = name.as_str();
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect as the superuser");
    tokio::spawn(connection);
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .unwrap()
        .is_some();
    if !exists {
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
    }
    let hba_file: String = client.query_one("SHOW hba_file", &[]).await.unwrap().get(0);
    let rule = format!("{kind} {name} all all reject\n");
    {
        // the tests here edit the file from parallel threads
        static HBA: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _edit = HBA.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let hba = std::fs::read_to_string(&hba_file).expect("the test server's pg_hba.conf");
        if !hba.contains(&rule) {
            std::fs::write(&hba_file, format!("{rule}{hba}")).expect("write pg_hba.conf");
        }
    }
    client
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    // the postmaster reloads on a signal: wait until the rule refuses a connection (the
    // store's, with TLS for `hostssl` and without for `hostnossl`)
    let probe = with(
        &on_database(url, name),
        "127.0.0.1",
        if kind == "hostssl" {
            "sslmode=require"
        } else {
            "sslmode=disable"
        },
    );
    for _ in 0..100 {
        if let Err(e) = PostgresStore::connect(&probe).await {
            let message = e.to_string();
            assert!(
                message.contains("pg_hba.conf rejects connection"),
                "{message}"
            );
            return name.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name}: the server still takes the connections `{kind}` should refuse");
}

#[tokio::test]
async fn postgres_tls_only_server_refuses_sslmode_disable_with_its_own_message() {
    let Some((url, ca)) =
        tls_server("postgres_tls_only_server_refuses_sslmode_disable_with_its_own_message")
    else {
        return;
    };
    let db = database_refusing(&url, "hostnossl").await;
    let url = on_database(&url, &db);
    let message = refused(&with(&url, "127.0.0.1", "sslmode=disable")).await;
    assert_eq!(
        message,
        format!(
            "idempotency store unavailable: connecting to PostgreSQL: FATAL: pg_hba.conf rejects \
             connection for host \"127.0.0.1\", user \"postgres\", database \"{db}\", no \
             encryption (SQLSTATE 28000); if the server takes TLS connections only, use \
             `sslmode=require` or stronger (`sslmode=disable`)"
        )
    );
    assert_connects(&with(&url, "127.0.0.1", "sslmode=require"), true).await;
    assert_connects(&with(&url, "127.0.0.1", "sslmode=prefer"), true).await;
    let query = format!("sslmode=verify-full&sslrootcert={ca}");
    assert_connects(&with(&url, "localhost", &query), true).await;
}

#[tokio::test]
async fn postgres_tls_prefer_falls_back_to_plain_when_the_server_refuses_tls() {
    let Some((url, _)) =
        tls_server("postgres_tls_prefer_falls_back_to_plain_when_the_server_refuses_tls")
    else {
        return;
    };
    let db = database_refusing(&url, "hostssl").await;
    let url = on_database(&url, &db);
    assert_connects(&with(&url, "127.0.0.1", "sslmode=prefer"), false).await;
    let message = refused(&with(&url, "127.0.0.1", "sslmode=require")).await;
    assert!(
        message.contains(&format!(
            "database \"{db}\", SSL encryption (SQLSTATE 28000)"
        )) && message.ends_with("(`sslmode=require`)"),
        "{message}"
    );
}
