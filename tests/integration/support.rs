//! Test helpers: snapshot comparison and draft-07 meta-schema validation.

use std::path::PathBuf;

use serde_json::Value;

/// Compares `value` with `tests/snapshots/<name>.json`; `SNAPSHOTS=overwrite` rewrites it.
pub fn assert_snapshot(name: &str, value: &Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.json"));
    let actual = serde_json::to_string_pretty(value).expect("JSON") + "\n";
    if std::env::var_os("SNAPSHOTS").is_some_and(|v| v == "overwrite") {
        std::fs::write(&path, &actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}; run with SNAPSHOTS=overwrite",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "snapshot {} differs; run with SNAPSHOTS=overwrite and review the diff\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// Panics unless `schema` is a valid draft-07 schema.
pub fn assert_draft07(schema: &Value) {
    if let Err(err) = jsonschema::draft7::meta::validate(schema) {
        panic!("not a valid draft-07 schema: {err}\n{schema:#}");
    }
}

/// A fresh path under the system's temporary directory.
pub fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "actionkit-test-{}-{}-{name}",
        std::process::id(),
        unique()
    ))
}

/// A number unique within this process.
pub fn unique() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The test PostgreSQL server, or `None` with the reason printed. Under CI a missing server
/// fails the test instead: there it must always run.
pub fn postgres_url(test: &str) -> Option<String> {
    use std::io::Write;
    match std::env::var("ACTIONKIT_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "{test}: ACTIONKIT_TEST_POSTGRES must be set in CI (run under shared/scripts/with-postgres)"
            )
        }
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "skipping {test}: ACTIONKIT_TEST_POSTGRES is not set; run under shared/scripts/with-postgres"
            );
            None
        }
    }
}

/// Runs the test `test` (its full path, e.g. `logs::logs_child_entry`) of this binary in a
/// process of its own, with `env` set: how a test gets a process-wide log subscriber to itself.
/// The child test does its work only when one of those variables is set.
/// The child half of a test that reads logs: when `var` is set (by [`run_child`]), runs `body`
/// on a multi-thread runtime under a global plain-text subscriber writing to stdout (in a process
/// of its own, so the subscriber sees every event: tracing caches callsite interest per
/// process); without the variable it does nothing, and the parent test asserts.
pub fn in_logging_child<F: std::future::Future<Output = ()>>(var: &str, body: impl FnOnce() -> F) {
    if std::env::var_os(var).is_none() {
        return;
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(body());
}

pub fn run_child(test: &str, env: &[(&str, &str)]) -> std::process::Output {
    let mut command = std::process::Command::new(std::env::current_exe().expect("the test binary"));
    command.args(["--exact", test, "--nocapture", "--test-threads=1"]);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run the child")
}
