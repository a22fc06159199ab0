//! The test server: the flagship example plus the runtime test action, served on 127.0.0.1
//! with real configuration, and a client that signs like the platforms do.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actionkit::platform::epilot::Epilot;
use actionkit::platform::stripe::Stripe;
use actionkit::server::{App, ServerConfig};
use actionkit::signature::stripe;
use actionkit::{FromRef, store::MemoryStore};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::fixtures::send_email::input::SendEmail;
use crate::fixtures::send_email::mailer::Mailer;
use crate::runtime::{Effect, Effects};
use crate::support::temp_path;

/// The Ed25519 key the test "epilot" signs with; the server trusts its public half.
pub fn epilot_signer() -> actionkit::signature::standard_webhooks::WebhookSigningKey {
    actionkit::signature::standard_webhooks::WebhookSigningKey::ed25519_from_seed([42; 32])
}

/// A Standard Webhooks `v1` secret the server also trusts (`WEBHOOK_SECRET`).
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub const SECRET: &str = "whsec_e2e_test_secret";

/// Both example states in one, as an app with several actions would hold them.
#[derive(Clone)]
pub struct AppState {
    mailer: Mailer,
    effects: Effects,
}

impl FromRef<AppState> for Mailer {
    fn from_ref(app: &AppState) -> Self {
        app.mailer.clone()
    }
}

impl FromRef<AppState> for Effects {
    fn from_ref(app: &AppState) -> Self {
        app.effects.clone()
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub outbox: PathBuf,
    pub client: reqwest::Client,
    pub stop: Option<oneshot::Sender<()>>,
    pub done: tokio::task::JoinHandle<std::io::Result<()>>,
    /// What the runtime test action saw and did.
    pub effects: Effects,
}

pub fn app(outbox: &PathBuf) -> App<AppState> {
    app_with(outbox, Effects::default())
}

pub fn app_with(outbox: &PathBuf, effects: Effects) -> App<AppState> {
    App::new(AppState {
        mailer: Mailer::new(outbox),
        effects,
    })
    .action::<SendEmail>()
    .action::<Effect>()
}

/// epilot trusting the test signer's public key and the `v1` secret.
pub fn epilot() -> Epilot {
    Epilot::new([
        epilot_signer().public_key().expect("ed25519"),
        WEBHOOK_SECRET.to_owned(),
    ])
    .expect("valid epilot keys")
}

pub fn config() -> ServerConfig {
    ServerConfig::new()
        .platform(Stripe::new(["whsec_old_rotated_out", SECRET]).expect("valid secrets"))
        .platform(epilot())
        .store(Arc::new(MemoryStore::new()))
        .deadline(Duration::from_millis(500))
        .body_limit(64 * 1024)
}

pub async fn start_with(config: ServerConfig) -> Server {
    start_on(config, temp_path("outbox.jsonl")).await
}

/// A server writing its emails to `outbox` (shared by two servers to see a restart's effects).
pub async fn start_on(config: ServerConfig, outbox: PathBuf) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let effects = Effects::default();
    let app = app_with(&outbox, effects.clone());
    let done = tokio::spawn(async move {
        app.serve_on(listener, &config, async move {
            let _ = stopped.await;
        })
        .await
    });
    Server {
        addr,
        outbox,
        client: reqwest::Client::new(),
        stop: Some(stop),
        done,
        effects,
    }
}

pub async fn start() -> Server {
    start_with(config()).await
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The body of `GET path`, as text.
    pub async fn get_text(&self, path: &str) -> String {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        response.text().await.unwrap()
    }

    pub async fn send(
        &self,
        path: &str,
        body: &[u8],
        signature: Option<String>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header("Stripe-Signature", signature);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let json =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON body, got {text:?}"));
        (status, json, headers)
    }

    pub async fn signed(&self, path: &str, body: &Value) -> (u16, Value) {
        let bytes = serde_json::to_vec(body).unwrap();
        let (status, json, _) = self
            .send(path, &bytes, Some(stripe::sign(SECRET, now(), &bytes)))
            .await;
        (status, json)
    }

    pub async fn execute(&self, id: &str, input: Value) -> (u16, Value) {
        self.signed(
            "/stripe/send_email/execute",
            &json!({"id": id, "custom_input": input, "context": {"workflow": "wf_1"}}),
        )
        .await
    }

    pub fn outbox_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.outbox)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("outbox lines are JSON"))
            .collect()
    }

    pub async fn stop(mut self) {
        let _ = self.stop.take().expect("running").send(());
        self.done.await.expect("no panic").expect("served cleanly");
    }
}
