//! The preview's routes and guards, on a runtime with no actions (the routes with the flagship
//! example's action are driven over HTTP in `tests/integration/preview.rs`).

use axum::body::Body;
use axum::http::Request;
use tower_service::Service as _;

use super::*;
use crate::server::{App, ServerConfig};

async fn call(router: &mut Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    std::future::poll_fn(|cx| {
        <Router as tower_service::Service<Request<Body>>>::poll_ready(router, cx)
    })
    .await
    .expect("routers are always ready");
    let response = router.call(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("a body")
        .to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn get(path: &str, host: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, host)
        .body(Body::empty())
        .unwrap()
}

fn post(path: &str, content_type: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn preview_router() -> Router {
    routes(Arc::new(Runtime::new(())))
}

#[test]
fn only_loopback_addresses_may_serve_the_preview() {
    for addr in [
        "127.0.0.1:8080",
        "127.1.2.3:1",
        "[::1]:8080",
        "[::ffff:127.0.0.1]:80",
    ] {
        assert!(loopback_only(addr.parse().unwrap()).is_ok(), "{addr}");
    }
    for addr in [
        "0.0.0.0:8080",
        "[::]:8080",
        "192.168.1.10:8080",
        "[::ffff:10.0.0.1]:80",
    ] {
        let why = loopback_only(addr.parse().unwrap()).unwrap_err();
        assert!(
            why.contains(addr) && why.contains("without checking signatures"),
            "{why}"
        );
        assert!(
            why.contains("ACTIONKIT_PREVIEW") && why.contains("ACTIONKIT_ADDR"),
            "{why}"
        );
    }
}

#[test]
fn only_loopback_host_names_are_answered() {
    for host in [
        "localhost",
        "localhost:8080",
        "LOCALHOST:1",
        "127.0.0.1",
        "127.0.0.1:8080",
        "[::1]:8080",
        "[::1]",
    ] {
        assert!(is_loopback_host(host), "{host}");
    }
    for host in [
        "",
        "example.com",
        "evil.example:8080",
        "127.0.0.1.evil.example",
        "localhost.evil.example:80",
        "[::2]:80",
        "10.0.0.1:8080",
    ] {
        assert!(!is_loopback_host(host), "{host}");
    }
}

#[test]
fn page_data_cannot_end_its_script_element() {
    let data = json!({"description": "</script><script>alert(1)</script> & more"});
    let text = script_json(&data);
    assert!(
        !text.contains('<') && !text.contains('>') && !text.contains('&'),
        "{text}"
    );
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), data);
    assert_eq!(
        escape(r#"<a href="x">'&'</a>"#),
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    );
}

#[test]
fn preview_request_ids_are_fresh() {
    let (a, b) = (fresh_request_id(), fresh_request_id());
    assert!(
        a.starts_with("preview_") && a.len() == "preview_".len() + 16,
        "{a}"
    );
    assert_ne!(a, b);
}

#[tokio::test]
async fn the_routes_answer_pages_assets_and_json() {
    let mut router = preview_router();
    let (status, headers, body) = call(&mut router, get("/preview/", "127.0.0.1:8080")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(headers.contains_key(header::CONTENT_SECURITY_POLICY));
    assert!(body.contains("<h1>Actions</h1>"), "{body}");

    let (status, headers, _) = call(&mut router, get("/preview", "localhost")).await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(headers[header::LOCATION], "preview/");

    let (status, headers, body) =
        call(&mut router, get("/preview/assets/preview.js", "localhost")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(body, SCRIPT);
    let (status, _, body) =
        call(&mut router, get("/preview/assets/preview.css", "localhost")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, STYLE));

    let (status, _, body) = call(&mut router, get("/preview/no_such%3Caction", "localhost")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("<code>no_such&lt;action</code>"), "{body}");

    let (status, _, body) = call(
        &mut router,
        post("/preview/nothing/form_state", "application/json", "{}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["type"], "not_found");

    let (status, _, body) = call(
        &mut router,
        post(
            "/preview/nothing/run",
            "application/json; charset=utf-8",
            r#"{"values": {}}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn foreign_hosts_and_cross_site_posts_are_refused() {
    let mut router = preview_router();
    for path in [
        "/preview/",
        "/preview/send_email",
        "/preview/assets/preview.js",
    ] {
        let (status, _, body) = call(&mut router, get(path, "rebound.example:8080")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(body.contains("loopback host"), "{body}");
    }
    // What a cross-site HTML form can send without a preflight.
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let (status, _, body) = call(&mut router, post("/preview/a/run", content_type, "{}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{content_type}");
        assert!(body.contains("application/json"), "{body}");
    }
    let (status, _, body) = call(
        &mut router,
        post("/preview/a/run", "application/json", r#"{"value": {}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("unknown field `value`"), "{body}");
}

#[tokio::test]
async fn the_preview_is_off_unless_asked_for() {
    let mut off = App::new(()).into_router(&ServerConfig::new()).0;
    let (status, _, _) = call(&mut off, get("/preview/", "127.0.0.1")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let mut on = App::new(())
        .into_router(&ServerConfig::new().preview(true).prefix("/actions"))
        .0;
    let (status, _, _) = call(&mut on, get("/actions/preview/", "127.0.0.1")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn serving_the_preview_on_a_public_address_is_refused() {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let config = ServerConfig::new().preview(true);
    let refused = App::new(())
        .serve_on(listener, &config, async {})
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        refused.to_string().contains("loopback address"),
        "{refused}"
    );
    // Off, the same address serves (and stops at once).
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    App::new(())
        .serve_on(listener, &ServerConfig::new(), async {})
        .await
        .expect("served");
}

#[cfg(feature = "cli")]
#[test]
fn the_flag_and_its_variable_turn_the_preview_on() {
    use clap::Parser as _;

    use crate::server::cli::{Cli, Command};
    let serve = |args: &[&str]| {
        let cli = Cli::try_parse_from(["app", "serve"].iter().chain(args))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let Command::Serve(serve) = cli.command else {
            panic!("serve")
        };
        serve.preview
    };
    assert!(!serve(&[]));
    assert!(serve(&["--preview"]));
    assert!(serve(&["--preview=true"]));
    assert!(!serve(&["--preview=false"]));
    assert!(serve(&["--preview=1"]));
    assert!(Cli::try_parse_from(["app", "serve", "--preview=maybe"]).is_err());
}
