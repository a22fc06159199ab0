//! The bad-input corpus: hundreds of malformed, forged, stale, oversized, deeply nested,
//! wrong-typed, unknown-field, non-UTF-8, duplicate-header and replayed requests across
//! `/stripe/<id>/execute`, `/stripe/<id>/get_form_state` and `/epilot/<id>`, generated from
//! compact tables. Every case asserts its status, its error type and (where there is one) the
//! field; after every case no side effect has run, and after the corpus the server still serves.

use std::collections::BTreeMap;

use actionkit::signature::standard_webhooks::WebhookSigningKey;
use actionkit::signature::stripe;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::harness::{SECRET, Server, epilot_signer, now, start};

/// The harness's body limit (`config().body_limit`).
const BODY_LIMIT: usize = 64 * 1024;

/// A raw request: any bytes in any header, any bytes as the body.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(&'static str, Vec<u8>)>,
    pub body: Vec<u8>,
    /// Sent with `Transfer-Encoding: chunked` and no `Content-Length`.
    pub chunked: bool,
}

impl Request {
    pub fn post(path: impl Into<String>, body: Vec<u8>) -> Self {
        Request {
            method: Method::POST,
            path: path.into(),
            headers: vec![("content-type", b"application/json".to_vec())],
            body,
            chunked: false,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl AsRef<[u8]>) -> Self {
        self.headers.push((name, value.as_ref().to_vec()));
        self
    }

    fn without(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// Sends the request; the status and the JSON body (every answer must be JSON).
    pub async fn send(&self, server: &Server) -> (u16, Value) {
        let (status, body, _) = self.send_with_headers(server).await;
        (status, body)
    }

    /// Sends the request; the status, the JSON body and the response headers.
    pub async fn send_with_headers(&self, server: &Server) -> (u16, Value, HeaderMap) {
        if self.chunked {
            return self.send_chunked(server).await;
        }
        let mut request = server
            .client
            .request(self.method.clone(), server.url(&self.path))
            .body(self.body.clone());
        for (name, value) in &self.headers {
            let value = HeaderValue::from_bytes(value).expect("a transmittable header value");
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{status}: a JSON body, got {text:?}"));
        (status, json, headers)
    }

    /// Sends the body in 8 KiB chunks over a connection of its own, without `Content-Length`,
    /// so the server can only enforce its limit while reading; reads the answer to the end.
    async fn send_chunked(&self, server: &Server) -> (u16, Value, HeaderMap) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let stream = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("connect");
        let (mut read, mut write) = stream.into_split();
        let mut head = format!(
            "{} {} HTTP/1.1\r\nhost: {}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n",
            self.method, self.path, server.addr
        )
        .into_bytes();
        for (name, value) in &self.headers {
            head.extend([name.as_bytes(), b": ", value, b"\r\n"].concat());
        }
        head.extend(b"\r\n");
        let body = self.body.clone();
        // The server may answer and close before the body is all sent: write errors are expected.
        let writer = tokio::spawn(async move {
            write.write_all(&head).await?;
            for chunk in body.chunks(8192) {
                let size = format!("{:x}\r\n", chunk.len());
                write
                    .write_all(&[size.as_bytes(), chunk, b"\r\n"].concat())
                    .await?;
            }
            write.write_all(b"0\r\n\r\n").await
        });
        let mut response = Vec::new();
        let _ = read.read_to_end(&mut response).await;
        let _ = writer.await;
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| {
                panic!(
                    "an HTTP answer, got {:?}",
                    String::from_utf8_lossy(&response)
                )
            });
        let head = String::from_utf8(response[..split].to_vec()).expect("an ASCII head");
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .expect("a status line");
        let mut headers = HeaderMap::new();
        for line in lines {
            let (name, value) = line.split_once(':').expect("a header line");
            headers.append(
                HeaderName::from_bytes(name.trim().as_bytes()).expect("a header name"),
                HeaderValue::from_str(value.trim()).expect("a header value"),
            );
        }
        let length: usize = headers["content-length"].to_str().unwrap().parse().unwrap();
        let body = &response[split + 4..split + 4 + length];
        let json = serde_json::from_slice(body).expect("a JSON body");
        (status.parse().expect("a status"), json, headers)
    }
}

/// The error type and field of an error body, in the platform's shape (Stripe:
/// `error.type`/`error.field`; epilot: `error_output.error_info.details[0]`).
pub fn error_of(path: &str, body: &Value) -> (Option<String>, Option<String>) {
    let (kind, field) = if path == "/epilot" || path.starts_with("/epilot/") {
        let detail = &body["error_output"]["error_info"]["details"][0];
        (&detail["error_type"], &detail["field"])
    } else {
        (&body["error"]["type"], &body["error"]["field"])
    };
    (
        kind.as_str().map(str::to_owned),
        field.as_str().map(str::to_owned),
    )
}

/// The example's valid input.
pub fn welcome() -> Value {
    json!({"audience_id": "aud_customers", "template_id": "tpl_welcome", "template_variables": {"first_name": "Ada"}, "message": "Hi"})
}

/// An epilot `external_integration` event carrying `config` as the action's input.
pub fn event(config: Value) -> Value {
    json!({
        "type": "external_integration",
        "timestamp": "2025-09-17T16:57:16.468Z",
        "data": {
            "org_id": 20000331,
            "entity": {"_id": "ent_1", "_schema": "contact"},
            "action_config": {"app_id": "app_1", "component_id": "cmp_1", "name": "Send", "custom_action_config": config},
            "app_options": {"api_key": "k_live_1"},
            "execution_id": "exe_1",
            "execution_status": "in_progress",
            "exection_action_id": "act_1",
            "trigger_event": {"type": "contact.created"}
        }
    })
}

/// A Stripe `execute` body.
pub fn execute_body(id: &str, input: Value) -> Value {
    json!({"id": id, "custom_input": input, "context": {"workflow": "wf_1"}})
}

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON")
}

/// One of the three routes under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Execute,
    FormState,
    Epilot,
}

const TARGETS: [Target; 3] = [Target::Execute, Target::FormState, Target::Epilot];

impl Target {
    fn label(self) -> &'static str {
        match self {
            Target::Execute => "stripe execute",
            Target::FormState => "stripe get_form_state",
            Target::Epilot => "epilot",
        }
    }

    pub fn path(self, action: &str) -> String {
        match self {
            Target::Execute => format!("/stripe/{action}/execute"),
            Target::FormState => format!("/stripe/{action}/get_form_state"),
            Target::Epilot => format!("/epilot/{action}"),
        }
    }

    /// A valid body for request `id` with `input` (Stripe carries the id in the body, epilot
    /// in `webhook-id`; form state has no input).
    pub fn body_with(self, id: &str, input: Value) -> Vec<u8> {
        bytes(&match self {
            Target::Execute => execute_body(id, input),
            Target::FormState => {
                json!({"id": id, "values": {"audience_id": "aud_customers"}, "changed_field": "audience_id"})
            }
            Target::Epilot => event(input),
        })
    }

    fn body(self, id: &str) -> Vec<u8> {
        self.body_with(id, welcome())
    }

    /// The signature header value a genuine sender puts on `body`.
    pub fn sign(self, id: &str, timestamp: u64, body: &[u8]) -> String {
        match self {
            Target::Execute | Target::FormState => stripe::sign(SECRET, timestamp, body),
            Target::Epilot => epilot_signer().sign(id, timestamp, body),
        }
    }

    /// A request to `action` carrying the given raw id, timestamp and signature headers
    /// (Stripe has only the signature header, which holds the timestamp itself).
    fn with_headers(
        self,
        action: &str,
        body: Vec<u8>,
        id: &[u8],
        timestamp: &[u8],
        signature: &[u8],
    ) -> Request {
        let request = Request::post(self.path(action), body);
        match self {
            Target::Execute | Target::FormState => request.header("Stripe-Signature", signature),
            Target::Epilot => request
                .header("webhook-id", id)
                .header("webhook-timestamp", timestamp)
                .header("webhook-signature", signature),
        }
    }

    /// `body` signed with `signature` as if at `timestamp`, for request `id`.
    pub fn signed_as(self, action: &str, id: &str, timestamp: u64, body: Vec<u8>) -> Request {
        let signature = self.sign(id, timestamp, &body);
        self.with_headers(
            action,
            body,
            id.as_bytes(),
            timestamp.to_string().as_bytes(),
            signature.as_bytes(),
        )
    }

    /// `body` correctly signed now, for request `id`.
    pub fn signed(self, action: &str, id: &str, body: Vec<u8>) -> Request {
        self.signed_as(action, id, now(), body)
    }

    fn signature_header(self) -> &'static str {
        match self {
            Target::Execute | Target::FormState => "stripe-signature",
            Target::Epilot => "webhook-signature",
        }
    }
}

/// One bad (or replayed) request and the answer it must get.
struct Case {
    category: &'static str,
    name: String,
    request: Request,
    status: u16,
    /// The error type; `None` for an answer that must be a success (a replay).
    error: Option<&'static str>,
    /// The offending field, exactly (`None`: the error names no field).
    field: Option<String>,
}

/// The corpus under construction: unique request ids, one list of cases.
#[derive(Default)]
struct Corpus {
    cases: Vec<Case>,
    next: usize,
}

const MALFORMED: &str = "malformed JSON";
const FORGED: &str = "forged signature";
const STALE: &str = "stale or future timestamp";
const OVERSIZED: &str = "oversized body";
const NESTED: &str = "deeply nested JSON";
const WRONG_INPUT: &str = "wrong-typed or unknown-field input";
const WRONG_ENVELOPE: &str = "wrong envelope";
const WRONG_CONTENT: &str = "wrong content";
const NON_UTF8: &str = "non-UTF-8 body or header";
const DUPLICATE_HEADER: &str = "duplicate header";
const MISSING_HEADER: &str = "missing or empty header";
const ROUTING: &str = "unknown route or method";
const REPLAY: &str = "replay";

impl Corpus {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("corpus-{prefix}-{}", self.next)
    }

    fn push(
        &mut self,
        category: &'static str,
        name: impl Into<String>,
        request: Request,
        (status, error): (u16, &'static str),
    ) -> &mut Case {
        self.cases.push(Case {
            category,
            name: name.into(),
            request,
            status,
            error: Some(error),
            field: None,
        });
        self.cases.last_mut().expect("just pushed")
    }

    /// A correctly signed request to `target` whose body is `body`.
    fn signed_body(
        &mut self,
        category: &'static str,
        target: Target,
        name: impl Into<String>,
        body: Vec<u8>,
        expected: (u16, &'static str),
    ) -> &mut Case {
        let id = self.id("bad");
        let request = target.signed("send_email", &id, body);
        self.push(
            category,
            format!("{}: {}", target.label(), name.into()),
            request,
            expected,
        )
    }
}

const INVALID: (u16, &str) = (400, "invalid_input");
const SIGNATURE: (u16, &str) = (401, "signature");
const TOO_LARGE: (u16, &str) = (413, "too_large");
const NOT_FOUND: (u16, &str) = (404, "not_found");

/// Truncations of a valid body at many offsets, wrong tokens, and JSON that is not an object.
fn malformed(corpus: &mut Corpus) {
    const WRONG_TOKENS: &[(&str, &[u8])] = &[
        ("empty body", b""),
        ("whitespace only", b" \n\t "),
        ("single quotes", b"{'id': 'x'}"),
        ("unquoted key", b"{id: \"x\"}"),
        ("trailing comma", b"{\"id\": \"x\",}"),
        ("missing colon", b"{\"id\" \"x\"}"),
        ("missing comma", b"{\"id\": \"x\" \"values\": {}}"),
        ("undefined", b"{\"id\": undefined}"),
        ("NaN", b"{\"id\": NaN}"),
        ("Infinity", b"{\"id\": -Infinity}"),
        ("hex number", b"{\"id\": 0x1F}"),
        ("leading zero", b"{\"id\": 01}"),
        ("plus sign", b"{\"id\": +1}"),
        ("number out of range", b"{\"id\": 1e999}"),
        ("invalid escape", b"{\"id\": \"a\\qb\"}"),
        ("lone surrogate escape", b"{\"id\": \"\\ud800\"}"),
        ("raw control character", b"{\"id\": \"tab\there\"}"),
        ("trailing characters", b"{\"id\": \"x\"}}"),
        ("two documents", b"{\"id\": \"x\"} {\"id\": \"y\"}"),
        ("comment", b"/* c */ {\"id\": \"x\"}"),
        ("misspelt true", b"{\"id\": tru}"),
        ("mismatched bracket", b"{\"id\": [1, 2}"),
        ("mismatched brace", b"{\"id\": \"x\"]"),
        ("lonely comma", b"{,}"),
        ("array", b"[]"),
        ("string", b"\"execute\""),
        ("number", b"42"),
        ("null", b"null"),
        ("boolean", b"true"),
    ];
    for target in TARGETS {
        let valid = target.body("truncated");
        for k in 0..12 {
            let at = k * valid.len() / 12;
            let body = valid[..at].to_vec();
            corpus.signed_body(
                MALFORMED,
                target,
                format!("truncated at {at} of {}", valid.len()),
                body,
                INVALID,
            );
        }
        for (name, body) in WRONG_TOKENS {
            corpus.signed_body(MALFORMED, target, *name, body.to_vec(), INVALID);
        }
    }
}

/// A valid body of another request (on epilot the id is not in the body: the input differs).
fn other_body(target: Target) -> Vec<u8> {
    let mut input = welcome();
    input["template_variables"]["first_name"] = json!("Grace");
    target.body_with("another-request", input)
}

/// Flips bit 0 of the `at`-th hex digit of a Stripe header's `v1` signature.
fn flip_hex(header: &str, at: usize) -> String {
    let start = header.find("v1=").expect("a v1 entry") + 3;
    let mut out = header.as_bytes().to_vec();
    let digit = out[start + at] as char;
    let flipped = std::char::from_digit(digit.to_digit(16).expect("hex") ^ 1, 16).expect("hex");
    out[start + at] = flipped as u8;
    String::from_utf8(out).expect("ASCII")
}

/// Flips bit 0 of the `at`-th base64 character's 6-bit group in a `v1a,<base64>` entry.
fn flip_base64(entry: &str, at: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let start = entry.find(',').expect("a version") + 1;
    let mut out = entry.as_bytes().to_vec();
    let index = ALPHABET
        .iter()
        .position(|&c| c == out[start + at])
        .expect("base64");
    out[start + at] = ALPHABET[index ^ 1];
    String::from_utf8(out).expect("ASCII")
}

/// Replaces each `{name}` in `template` by its value.
fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(template.to_owned(), |out, (name, value)| {
        out.replace(&format!("{{{name}}}"), value)
    })
}

/// Stripe secrets the harness does not trust (it trusts `SECRET` and one rotated-out secret).
const WRONG_SECRETS: &[&str] = &[
    "whsec_wrong",
    "whsec_e2e_test_secre",
    "WHSEC_e2e_test_secret",
    "e2e_test_secret",
];

/// Forged `Stripe-Signature` values: `{t}` is now (`{t1}` a second later, `{t_1}` earlier) and
/// `{v1}` the genuine signature's hex for `{t}`.
const STRIPE_SIGNATURES: &[(&str, &str)] = &[
    ("the signature moved to t+1", "t={t1},v1={v1}"),
    ("the signature moved to t-1", "t={t_1},v1={v1}"),
    ("t with a leading zero", "t=0{t},v1={v1}"),
    ("garbage", "garbage"),
    ("no v1", "t={t}"),
    ("no t", "v1={v1}"),
    ("empty t", "t=,v1={v1}"),
    ("non-numeric t", "t=abc,v1={v1}"),
    ("negative t", "t=-{t},v1={v1}"),
    ("fractional t", "t={t}.5,v1={v1}"),
    ("t twice", "t={t},t={t},v1={v1}"),
    ("non-hex v1", "t={t},v1=zz{v1}"),
    ("odd-length v1", "t={t},v1={v1}0"),
    ("v1 doubled", "t={t},v1={v1}{v1}"),
    ("empty v1", "t={t},v1="),
    ("only v0", "t={t},v0={v1}"),
    ("semicolons", "t={t};v1={v1}"),
    ("spaces for commas", "t={t} v1={v1}"),
    ("commas only", " , , "),
];

/// Forged `webhook-signature` values: `{sig}` is the genuine `v1a,<base64>` entry, `{b64}` its
/// base64.
const EPILOT_SIGNATURES: &[(&str, &str)] = &[
    ("garbage", "garbage"),
    ("no comma", "v1a{b64}"),
    ("version only", "v1a,"),
    ("not base64", "v1a,!!!not-base64!!!"),
    ("unknown version", "v2,{b64}"),
    ("the v1a signature labelled v1", "v1,{b64}"),
    ("a malformed entry before a good one", "garbage {sig}"),
    ("a comma-separated list", "v1,xyz,{sig}"),
    ("the signature doubled", "v1a,{b64}{b64}"),
    ("extra padding", "{sig}=="),
];

/// `(webhook-id, webhook-timestamp)` other than what was signed (`{id}` at `{t}`).
const EPILOT_MOVED: &[(&str, &str, &str)] = &[
    ("another webhook-id", "msg_other", "{t}"),
    ("webhook-id with a suffix", "{id}x", "{t}"),
    ("the signature moved to t+1", "{id}", "{t1}"),
    ("the signature moved to t-1", "{id}", "{t_1}"),
    ("timestamp with a leading zero", "{id}", "0{t}"),
    ("non-numeric timestamp", "{id}", "abc"),
    ("negative timestamp", "{id}", "-{t}"),
    ("fractional timestamp", "{id}", "{t}.0"),
    ("hexadecimal timestamp", "{id}", "0x{t}"),
];

/// Wrong secrets and keys, bit flips, bodies changed after signing, signatures for another
/// request, id or timestamp, and malformed signature headers.
fn forged(corpus: &mut Corpus) {
    for target in TARGETS {
        let label = target.label();
        let id = corpus.id("forged");
        let body = target.body(&id);
        let t = now();
        let good = target.sign(&id, t, &body);
        let (t0, t1, t_1) = (t.to_string(), (t + 1).to_string(), (t - 1).to_string());
        let vars = [
            ("t", t0.as_str()),
            ("t1", t1.as_str()),
            ("t_1", t_1.as_str()),
            ("id", id.as_str()),
            ("sig", good.as_str()),
            ("b64", good.split_once(',').map_or("", |(_, b64)| b64)),
            ("v1", good.split_once(",v1=").map_or("", |(_, v1)| v1)),
        ];
        let forge = |name: String, webhook_id: &str, timestamp: &str, signature: &str| {
            let (webhook_id, timestamp) = (fill(webhook_id, &vars), fill(timestamp, &vars));
            let request = target.with_headers(
                "send_email",
                body.clone(),
                webhook_id.as_bytes(),
                timestamp.as_bytes(),
                fill(signature, &vars).as_bytes(),
            );
            (format!("{label}: {name}"), request)
        };
        let mut cases = Vec::new();
        match target {
            Target::Execute | Target::FormState => {
                for secret in WRONG_SECRETS {
                    let signature = stripe::sign(secret, t, &body);
                    cases.push(forge(format!("secret {secret:?}"), "", "", &signature));
                }
                for (name, signature) in STRIPE_SIGNATURES {
                    cases.push(forge((*name).into(), "", "", signature));
                }
            }
            Target::Epilot => {
                for seed in [1u8, 43, 0] {
                    let signer = WebhookSigningKey::ed25519_from_seed([seed; 32]);
                    let signature = signer.sign(&id, t, &body);
                    cases.push(forge(
                        format!("ed25519 seed {seed}"),
                        "{id}",
                        "{t}",
                        &signature,
                    ));
                }
                let hmac = WebhookSigningKey::hmac_secret("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
                    .expect("a whsec secret");
                let signature = hmac.sign(&id, t, &body);
                cases.push(forge("another v1 secret".into(), "{id}", "{t}", &signature));
                for (name, signature) in EPILOT_SIGNATURES {
                    cases.push(forge((*name).into(), "{id}", "{t}", signature));
                }
                for (name, webhook_id, timestamp) in EPILOT_MOVED {
                    cases.push(forge((*name).into(), webhook_id, timestamp, "{sig}"));
                }
            }
        }
        // Bit flips in the signature.
        let digits = if target == Target::Epilot { 86 } else { 64 };
        for k in 0..8 {
            let at = k * (digits - 1) / 7;
            let flipped = match target {
                Target::Execute | Target::FormState => flip_hex(&good, at),
                Target::Epilot => flip_base64(&good, at),
            };
            cases.push(forge(
                format!("bit flip in signature digit {at}"),
                "{id}",
                "{t}",
                &flipped,
            ));
        }
        // Many bogus entries (each one checked against every key), none genuine.
        let bogus = match target {
            Target::Execute | Target::FormState => {
                let entry = format!(",v1={}", "0".repeat(64));
                format!("t={t}{}", entry.repeat(1000))
            }
            Target::Epilot => vec![flip_base64(&good, 0); 20].join(" "),
        };
        cases.push(forge("many bogus signatures".into(), "{id}", "{t}", &bogus));
        // A genuine signature of another body.
        let signature = target.sign(&id, t, &other_body(target));
        cases.push(forge(
            "the signature of another body".into(),
            "{id}",
            "{t}",
            &signature,
        ));
        // The body changed after signing.
        let mut changed: Vec<(String, Vec<u8>)> = (0..6)
            .map(|k| k * (body.len() - 1) / 5)
            .map(|at| {
                let mut changed = body.clone();
                changed[at] ^= 0x01;
                (format!("body byte {at} flipped after signing"), changed)
            })
            .collect();
        changed.push((
            "whitespace appended after signing".into(),
            [&body[..], b" "].concat(),
        ));
        changed.push((
            "newline prepended after signing".into(),
            [b"\n", &body[..]].concat(),
        ));
        changed.push(("body replaced after signing".into(), other_body(target)));
        for (name, changed) in changed {
            let (name, mut request) = forge(name, "{id}", "{t}", "{sig}");
            request.body = changed;
            cases.push((name, request));
        }
        for (name, request) in cases {
            corpus.push(FORGED, name, request, SIGNATURE);
        }
    }
}

/// When a request was signed.
enum Stamp {
    /// Seconds from now (negative: in the past).
    Now(i64),
    /// Unix seconds.
    At(u64),
}

/// Genuine signatures more than 300 s from now (future ones with a margin for the time the
/// corpus takes to send), and timestamps no clock will reach.
const STAMPS: &[(&str, Stamp)] = &[
    ("301 s old", Stamp::Now(-301)),
    ("6 minutes old", Stamp::Now(-360)),
    ("an hour old", Stamp::Now(-3600)),
    ("a day old", Stamp::Now(-86_400)),
    ("the epoch", Stamp::At(0)),
    ("one second after the epoch", Stamp::At(1)),
    ("6 minutes ahead", Stamp::Now(360)),
    ("10 minutes ahead", Stamp::Now(600)),
    ("an hour ahead", Stamp::Now(3600)),
    ("a year ahead", Stamp::Now(365 * 86_400)),
    ("the year 2286", Stamp::At(9_999_999_999)),
    ("u64::MAX", Stamp::At(u64::MAX)),
];

fn stale(corpus: &mut Corpus) {
    let at = |stamp: &Stamp| match *stamp {
        Stamp::Now(delta) => now().checked_add_signed(delta).expect("a unix time"),
        Stamp::At(unix) => unix,
    };
    for target in TARGETS {
        for (name, stamp) in STAMPS {
            let id = corpus.id("stale");
            let request = target.signed_as("send_email", &id, at(stamp), target.body(&id));
            corpus.push(
                STALE,
                format!("{}: {name}", target.label()),
                request,
                SIGNATURE,
            );
        }
        // One past u64::MAX does not parse.
        let id = corpus.id("stale");
        let body = target.body(&id);
        let good = target.sign(&id, now(), &body);
        let signature = match good.split_once(",v1=") {
            Some((_, v1)) => format!("t=18446744073709551616,v1={v1}"),
            None => good,
        };
        let request = target.with_headers(
            "send_email",
            body,
            id.as_bytes(),
            b"18446744073709551616",
            signature.as_bytes(),
        );
        let name = format!("{}: a timestamp past u64::MAX", target.label());
        corpus.push(STALE, name, request, SIGNATURE);
    }
    // The `v1` HMAC sender is held to the same tolerance.
    let hmac =
        WebhookSigningKey::hmac_secret(crate::harness::WEBHOOK_SECRET).expect("the v1 secret");
    for (name, stamp) in &STAMPS[..4] {
        let (id, timestamp) = (corpus.id("stale"), at(stamp));
        let body = Target::Epilot.body(&id);
        let signature = hmac.sign(&id, timestamp, &body);
        let request = Target::Epilot.with_headers(
            "send_email",
            body,
            id.as_bytes(),
            timestamp.to_string().as_bytes(),
            signature.as_bytes(),
        );
        corpus.push(STALE, format!("epilot v1 HMAC: {name}"), request, SIGNATURE);
    }
}

/// Bodies over the limit, correctly signed valid JSON (padded with whitespace) and unsigned.
fn oversized(corpus: &mut Corpus) {
    for target in TARGETS {
        for size in [
            BODY_LIMIT + 1,
            BODY_LIMIT + 100,
            100_000,
            256 * 1024,
            1 << 20,
        ] {
            let mut body = target.body("big");
            body.resize(size, b' ');
            corpus.signed_body(OVERSIZED, target, format!("{size} bytes"), body, TOO_LARGE);
        }
        for size in [BODY_LIMIT + 1, 1 << 20] {
            let mut body = target.body("big");
            body.resize(size, b' ');
            let id = corpus.id("chunked");
            let mut request = target.signed("send_email", &id, body);
            request.chunked = true;
            let name = format!("{}: {size} bytes, chunked", target.label());
            corpus.push(OVERSIZED, name, request, TOO_LARGE);
        }
        let mut body = target.body("big-unsigned");
        body.resize(BODY_LIMIT + 1, b' ');
        let request = Request::post(target.path("send_email"), body);
        corpus.push(
            OVERSIZED,
            format!("{}: unsigned, the size is checked first", target.label()),
            request,
            TOO_LARGE,
        );
    }
}

/// Nesting far beyond serde_json's recursion limit (128), bare, balanced, as objects, and
/// inside an otherwise valid body.
fn nested(corpus: &mut Corpus) {
    for target in TARGETS {
        for depth in [200, 1000, 5000, 10_000] {
            let open = "[".repeat(depth);
            let balanced = format!("{open}{}", "]".repeat(depth));
            let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
            let inner = balanced.clone();
            let embedded = match target {
                Target::Execute => format!(
                    r#"{{"id":"deep","custom_input":{{"audience_id":"aud_customers","template_id":"tpl_welcome","template_variables":{{"first_name":{inner}}}}}}}"#
                ),
                Target::FormState => {
                    format!(r#"{{"values":{{"audience_id":{inner}}},"changed_field":null}}"#)
                }
                Target::Epilot => format!(
                    r#"{{"type":"external_integration","data":{{"org_id":"1","entity":{inner},"action_config":{{"custom_action_config":{{}}}}}}}}"#
                ),
            };
            for (shape, body) in [
                ("unterminated arrays", open),
                ("balanced arrays", balanced),
                ("objects", objects),
                ("arrays inside a valid body", embedded),
            ] {
                assert!(body.len() <= BODY_LIMIT, "{shape} {depth} fits the limit");
                corpus.signed_body(
                    NESTED,
                    target,
                    format!("{depth} levels of {shape}"),
                    body.into_bytes(),
                    INVALID,
                );
            }
        }
    }
}

/// `send_email` inputs and the field each must be refused at: a JSON object merged over the
/// valid input, or (after `=`) the whole input.
const SEND_EMAIL_INPUTS: &[(&str, &str)] = &[
    (r#"{"audience_id": 1}"#, "/audience_id"),
    (r#"{"audience_id": true}"#, "/audience_id"),
    (r#"{"audience_id": []}"#, "/audience_id"),
    (r#"{"audience_id": {}}"#, "/audience_id"),
    (r#"{"audience_id": 1.5}"#, "/audience_id"),
    (r#"{"audience_id": null}"#, "/audience_id"),
    (r#"{"template_id": 7}"#, "/template_id"),
    (r#"{"segment_id": 5}"#, "/segment_id"),
    (r#"{"segment_id": ["seg_active"]}"#, "/segment_id"),
    (r#"{"template_variables": "x"}"#, "/template_variables"),
    (r#"{"template_variables": []}"#, "/template_variables"),
    (r#"{"template_variables": 3}"#, "/template_variables"),
    (r#"{"message": 5}"#, "/message"),
    (r#"{"message": {"text": "hi"}}"#, "/message"),
    (r#"={"template_id": "tpl_welcome"}"#, "/audience_id"),
    (r#"={"audience_id": "aud_customers"}"#, "/template_id"),
    (r#"={}"#, "/audience_id"),
    (r#"{"cc": "x"}"#, "/cc"),
    (r#"{"Audience_Id": "x"}"#, "/Audience_Id"),
    (r#"{"templateId": "tpl_welcome"}"#, "/templateId"),
    (r#"{"audience id": "x"}"#, "/audience id"),
    (r#"{"a/b": 1}"#, "/a~1b"),
    (r#"{"~": 1}"#, "/~0"),
    (r#"{"": 1}"#, "/"),
];

/// The runtime test action's inputs (whole), and their fields.
const EFFECT_INPUTS: &[(&str, &str)] = &[
    (r#"={"label": ""}"#, "/label"),
    (r#"={"label": 5}"#, "/label"),
    (r#"={"mode": "succeed"}"#, "/label"),
    (r#"={"label": "x", "mode": "explode"}"#, "/mode"),
    (r#"={"label": "x", "mode": 1}"#, "/mode"),
    (r#"={"label": "x", "sleep_ms": -1}"#, "/sleep_ms"),
    (r#"={"label": "x", "sleep_ms": 1.5}"#, "/sleep_ms"),
    (r#"={"label": "x", "sleep_ms": 4294967296}"#, "/sleep_ms"),
    (r#"={"label": "x", "sleep_ms": "10"}"#, "/sleep_ms"),
    (r#"={"label": "x", "labels": ["y"]}"#, "/labels"),
];

/// The input `patch` describes (see [`SEND_EMAIL_INPUTS`]).
fn patched(patch: &str) -> Value {
    let parse = |text: &str| serde_json::from_str::<Value>(text).expect("a JSON table entry");
    match patch.strip_prefix('=') {
        Some(whole) => parse(whole),
        None => {
            let mut input = welcome();
            for (key, value) in parse(patch).as_object().expect("an object") {
                input[key] = value.clone();
            }
            input
        }
    }
}

/// Inputs of the wrong type, unknown fields, missing fields: the same tables on Stripe and
/// epilot, each answered with the offending field's JSON pointer.
fn wrong_input(corpus: &mut Corpus) {
    for target in [Target::Execute, Target::Epilot] {
        for (action, table) in [("send_email", SEND_EMAIL_INPUTS), ("effect", EFFECT_INPUTS)] {
            for (patch, field) in table {
                let id = corpus.id("typed");
                let body = target.body_with(&id, patched(patch));
                let name = format!("{} {action}: {patch}", target.label());
                let request = target.signed(action, &id, body);
                corpus.push(WRONG_INPUT, name, request, INVALID).field = Some((*field).into());
            }
        }
    }
}

/// Stripe `execute` envelopes of the wrong shape (checked before the input).
const EXECUTE_ENVELOPES: &[&str] = &[
    r#"{"id": "e1", "customInput": {}}"#,
    r#"{"custom_input": {}}"#,
    r#"{"id": "", "custom_input": {}}"#,
    r#"{"id": 5, "custom_input": {}}"#,
    r#"{"id": null, "custom_input": {}}"#,
    r#"{"id": ["e3"], "custom_input": {}}"#,
    r#"{"id": "e4"}"#,
    r#"{"id": "e5", "custom_input": [{}]}"#,
    r#"{"id": "e6", "custom_input": "{}"}"#,
    r#"{"id": "e7", "custom_input": null}"#,
    r#"{"id": "e8", "custom_input": 1}"#,
];

/// `get_form_state` requests of the wrong shape, and the field when one is named.
const FORM_STATE_REQUESTS: &[(&str, Option<&str>)] = &[
    (r#"{"values": [], "changed_field": null}"#, None),
    (r#"{"values": "x", "changed_field": null}"#, None),
    (r#"{"values": null, "changed_field": null}"#, None),
    (r#"{"values": {}, "changed_field": 5}"#, None),
    (r#"{"values": {}, "changed_field": ["audience_id"]}"#, None),
    (
        r#"{"values": {}, "changed_field": "nope"}"#,
        Some("/changed_field"),
    ),
    (
        r#"{"values": {}, "changed_field": "Audience_Id"}"#,
        Some("/changed_field"),
    ),
    (r#"{"values": {}, "changedField": null}"#, None),
    (r#"{"id": 5, "values": {}}"#, None),
];

/// Edits of a valid epilot event: set the value at a JSON pointer, or remove it (`None`).
const EPILOT_EVENTS: &[(&str, Option<&str>)] = &[
    ("/type", None),
    ("/type", Some(r#""entity_operation""#)),
    ("/type", Some("5")),
    ("/data", None),
    ("/data", Some("[]")),
    ("/data", Some(r#""{}""#)),
    ("/data/org_id", None),
    ("/data/org_id", Some("true")),
    ("/data/org_id", Some(r#"{"id": 1}"#)),
    ("/data/action_config", None),
    ("/data/action_config", Some(r#""x""#)),
    ("/data/execution_id", Some("5")),
    ("/data/resume_token", Some("{}")),
    ("/data/action_config/custom_action_config", Some("[{}]")),
    ("/data/action_config/custom_action_config", Some(r#""{}""#)),
    ("/data/action_config/custom_action_config", Some("1")),
];

/// Envelopes of the wrong shape: Stripe's `id`/`custom_input`, the form-state request and
/// epilot's event.
fn wrong_envelope(corpus: &mut Corpus) {
    for body in EXECUTE_ENVELOPES {
        let body = body.as_bytes().to_vec();
        corpus.signed_body(
            WRONG_ENVELOPE,
            Target::Execute,
            body_name(&body),
            body,
            INVALID,
        );
    }
    for (body, field) in FORM_STATE_REQUESTS {
        let body = body.as_bytes().to_vec();
        corpus
            .signed_body(
                WRONG_ENVELOPE,
                Target::FormState,
                body_name(&body),
                body,
                INVALID,
            )
            .field = field.map(str::to_owned);
    }
    for (pointer, value) in EPILOT_EVENTS {
        let mut body = event(welcome());
        let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
        let parent = body.pointer_mut(parent).and_then(Value::as_object_mut);
        let parent = parent.expect("an object to edit");
        match value {
            Some(value) => {
                parent.insert(key.to_owned(), serde_json::from_str(value).expect("JSON"))
            }
            None => parent.remove(key),
        };
        let name = format!("{pointer} {}", value.unwrap_or("removed"));
        corpus.signed_body(WRONG_ENVELOPE, Target::Epilot, name, bytes(&body), INVALID);
    }
}

fn body_name(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// A body meant for another route or another protocol, correctly signed.
fn wrong_content(corpus: &mut Corpus) {
    let form_body = bytes(&json!({"values": {}, "changed_field": null}));
    let stripe_event = bytes(&json!({
        "id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_1", "object": "payment_intent"}}
    }));
    let cases: Vec<(Target, &str, Vec<u8>)> = vec![
        (Target::Execute, "a form-state body", form_body.clone()),
        (Target::Execute, "an epilot event", bytes(&event(welcome()))),
        (
            Target::Execute,
            "a Stripe webhook event",
            stripe_event.clone(),
        ),
        (
            Target::FormState,
            "an execute body",
            bytes(&execute_body("c1", welcome())),
        ),
        (
            Target::FormState,
            "an epilot event",
            bytes(&event(welcome())),
        ),
        (
            Target::Epilot,
            "an execute body",
            bytes(&execute_body("c2", welcome())),
        ),
        (Target::Epilot, "a form-state body", form_body),
        (Target::Epilot, "a Stripe webhook event", stripe_event),
        (Target::Epilot, "the bare input", bytes(&welcome())),
    ];
    for (target, name, body) in cases {
        corpus.signed_body(WRONG_CONTENT, target, name, body, INVALID);
    }
    for target in TARGETS {
        for (name, body) in [
            (
                "form-urlencoded",
                &b"id=c3&custom_input%5Baudience_id%5D=aud_customers"[..],
            ),
            (
                "XML",
                &b"<?xml version=\"1.0\"?><execute><id>c4</id></execute>"[..],
            ),
            ("plain text", &b"send the email please"[..]),
        ] {
            corpus.signed_body(WRONG_CONTENT, target, name, body.to_vec(), INVALID);
        }
    }
}

/// Invalid UTF-8 inside strings and between tokens, UTF-16, byte-order marks; non-UTF-8 and
/// non-ASCII signature headers.
fn non_utf8(corpus: &mut Corpus) {
    const SEQUENCES: &[(&str, &[u8])] = &[
        ("0xff", b"\xff"),
        ("0xfe 0xff", b"\xfe\xff"),
        ("a lone continuation byte", b"\x80"),
        ("a truncated two-byte sequence", b"\xc3"),
        ("an overlong encoding", b"\xc0\xaf"),
        ("an encoded surrogate", b"\xed\xa0\x80"),
        ("Latin-1 text", b"\xe9t\xe9"),
        ("a code point past U+10FFFF", b"\xf4\x90\x80\x80"),
        ("a five-byte sequence", b"\xf8\x88\x80\x80\x80"),
    ];
    const MARK: &str = "PLACEHOLDER";
    for target in TARGETS {
        let valid = match target {
            Target::FormState => {
                bytes(&json!({"values": {"audience_id": MARK}, "changed_field": "audience_id"}))
            }
            _ => {
                let mut input = welcome();
                input["template_variables"]["first_name"] = json!(MARK);
                target.body_with("utf8", input)
            }
        };
        let at = valid
            .windows(MARK.len())
            .position(|w| w == MARK.as_bytes())
            .expect("the mark");
        for (name, sequence) in SEQUENCES {
            let body = [&valid[..at], sequence, &valid[at + MARK.len()..]].concat();
            corpus.signed_body(
                NON_UTF8,
                target,
                format!("{name} in a string"),
                body,
                INVALID,
            );
        }
        let between = [&valid[..1], b"\xff", &valid[1..]].concat();
        corpus.signed_body(NON_UTF8, target, "0xff between tokens", between, INVALID);
        let bom = [&b"\xef\xbb\xbf"[..], &valid].concat();
        corpus.signed_body(NON_UTF8, target, "a UTF-8 byte-order mark", bom, INVALID);
        let text = String::from_utf8(valid.clone()).expect("UTF-8");
        let utf16: Vec<u8> = [0xfeffu16]
            .into_iter()
            .chain(text.encode_utf16())
            .flat_map(u16::to_le_bytes)
            .collect();
        corpus.signed_body(NON_UTF8, target, "UTF-16LE", utf16, INVALID);

        // Headers.
        let id = corpus.id("utf8");
        let body = target.body(&id);
        let t = now();
        let ts = t.to_string();
        let good = target.sign(&id, t, &body);
        let with = |id: &[u8], timestamp: &[u8], signature: &[u8]| {
            target.with_headers("send_email", body.clone(), id, timestamp, signature)
        };
        let (id, ts) = (id.as_bytes(), ts.as_bytes());
        let mut requests = vec![
            (
                "0xff after the signature",
                with(id, ts, &[good.as_bytes(), b"\xff"].concat()),
            ),
            (
                "non-ASCII inside the signature",
                with(id, ts, good.replacen(',', ",\u{e9}", 1).as_bytes()),
            ),
        ];
        if target == Target::Epilot {
            let accented = epilot_signer().sign("msg_caf\u{e9}", t, &body);
            requests.extend([
                (
                    "non-ASCII UTF-8 webhook-id, genuinely signed",
                    with("msg_caf\u{e9}".as_bytes(), ts, accented.as_bytes()),
                ),
                (
                    "Latin-1 webhook-id",
                    with(b"msg_caf\xe9", ts, good.as_bytes()),
                ),
                (
                    "0xff in webhook-timestamp",
                    with(id, &[ts, b"\xff"].concat(), good.as_bytes()),
                ),
            ]);
        }
        for (name, request) in requests {
            let name = format!("{}: {name} header", target.label());
            corpus.push(NON_UTF8, name, request, SIGNATURE);
        }
    }
}

/// Signature headers sent twice: identical, good and bad in either order; epilot's id and
/// timestamp twice.
fn duplicate_headers(corpus: &mut Corpus) {
    for target in TARGETS {
        let id = corpus.id("dup");
        let body = target.body(&id);
        let good = target.signed("send_email", &id, body.clone());
        let name = target.signature_header();
        let signature = good
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .expect("signed")
            .1
            .clone();
        let label = target.label();
        let mut cases = vec![
            (
                "the same signature twice",
                good.clone().header(name, &signature),
            ),
            (
                "a good then a bad signature",
                good.clone().header(name, "garbage"),
            ),
            (
                "a bad then a good signature",
                good.clone()
                    .without(name)
                    .header(name, "garbage")
                    .header(name, &signature),
            ),
            ("an empty second signature", good.clone().header(name, "")),
        ];
        if target == Target::Epilot {
            cases.extend([
                ("webhook-id twice", good.clone().header("webhook-id", &id)),
                (
                    "two different webhook-ids",
                    good.clone().header("webhook-id", "msg_other"),
                ),
                (
                    "webhook-timestamp twice",
                    good.clone().header("webhook-timestamp", now().to_string()),
                ),
            ]);
        }
        for (case, request) in cases {
            corpus.push(
                DUPLICATE_HEADER,
                format!("{label}: {case}"),
                request,
                SIGNATURE,
            );
        }
    }
}

/// Signature headers absent or empty.
fn missing_headers(corpus: &mut Corpus) {
    for target in TARGETS {
        let id = corpus.id("missing");
        let good = target.signed("send_email", &id, target.body(&id));
        let label = target.label();
        let names: &[&'static str] = match target {
            Target::Execute | Target::FormState => &["stripe-signature"],
            Target::Epilot => &["webhook-id", "webhook-timestamp", "webhook-signature"],
        };
        for name in names {
            corpus.push(
                MISSING_HEADER,
                format!("{label}: no {name}"),
                good.clone().without(name),
                SIGNATURE,
            );
            corpus.push(
                MISSING_HEADER,
                format!("{label}: empty {name}"),
                good.clone().without(name).header(name, ""),
                SIGNATURE,
            );
            corpus.push(
                MISSING_HEADER,
                format!("{label}: blank {name}"),
                good.clone().without(name).header(name, "   "),
                SIGNATURE,
            );
        }
        let mut bare = good.clone();
        bare.headers.clear();
        corpus.push(
            MISSING_HEADER,
            format!("{label}: no headers at all"),
            bare,
            SIGNATURE,
        );
        if target == Target::Execute {
            let request = good
                .clone()
                .without("stripe-signature")
                .header("webhook-signature", "v1,abc");
            corpus.push(
                MISSING_HEADER,
                format!("{label}: the other platform's header instead"),
                request,
                SIGNATURE,
            );
        }
    }
}

/// Unknown actions (after a genuine signature), unknown paths and wrong methods.
fn routing(corpus: &mut Corpus) {
    for target in TARGETS {
        let id = corpus.id("route");
        let request = target.signed("no_such_action", &id, target.body(&id));
        corpus.push(
            ROUTING,
            format!("{}: unknown action", target.label()),
            request,
            NOT_FOUND,
        );
        let request = Request::post(target.path("no_such_action"), target.body(&id));
        corpus.push(
            ROUTING,
            format!(
                "{}: unknown action, unsigned: the signature comes first",
                target.label()
            ),
            request,
            SIGNATURE,
        );
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            let mut request = target.signed("send_email", &id, Vec::new());
            request.method = method.clone();
            corpus.push(
                ROUTING,
                format!("{}: {method}", target.label()),
                request,
                (405, "method_not_allowed"),
            );
        }
    }
    // Action ids that are not UTF-8, or not an action, once percent-decoded.
    for target in TARGETS {
        for action in ["%FF", "send%FFemail", "%C3%A9", "send_email%00"] {
            let id = corpus.id("route");
            let request = target.signed(action, &id, target.body(&id));
            let name = format!("{}: action id {action}", target.label());
            corpus.push(ROUTING, name, request, NOT_FOUND);
        }
    }
    let id = corpus.id("route");
    let request = Target::FormState.signed("effect", &id, Target::FormState.body(&id));
    corpus.push(
        ROUTING,
        "stripe get_form_state of an action without form state",
        request,
        NOT_FOUND,
    );
    for path in [
        "/stripe/send_email",
        "/stripe/send_email/execute/extra",
        "/stripe//execute",
        "/stripe/send_email/undo",
        "/stripe/send_email/execute/",
        "/epilot",
        "/epilot/send_email/extra",
        "/epilot/",
    ] {
        let body = Target::Execute.body(&id);
        let signature = stripe::sign(SECRET, now(), &body);
        let request = Request::post(path, body).header("Stripe-Signature", signature);
        corpus.push(ROUTING, format!("POST {path}"), request, NOT_FOUND);
    }
}

/// The genuine requests the replay cases refer to, run first, each running its side effect
/// once: `(target, action, id, input as in` [`SEND_EMAIL_INPUTS`]`)`.
const SETUP: &[(Target, &str, &str, &str)] = &[
    (Target::Execute, "send_email", "corpus-replay-stripe", "{}"),
    (Target::Epilot, "send_email", "corpus-replay-epilot", "{}"),
    (
        Target::Execute,
        "effect",
        "corpus-replay-stripe-fx",
        r#"={"label": "a"}"#,
    ),
    (
        Target::Epilot,
        "effect",
        "corpus-replay-epilot-fx",
        r#"={"label": "a"}"#,
    ),
];

/// The same id with another input (409), with the same input (a replay: 200, no second
/// effect), with an invalid input (400: input is checked before the id), and replays of a
/// captured request made stale or altered.
fn replays(corpus: &mut Corpus) {
    for &(target, action, id, input) in SETUP {
        let input = patched(input);
        let label = format!("{} {action}", target.label());
        let others: Vec<(&str, Value)> = if action == "send_email" {
            let mut first_name = input.clone();
            first_name["template_variables"]["first_name"] = json!("Grace");
            let mut audience = input.clone();
            audience["audience_id"] = json!("aud_newsletter");
            let mut message = input.clone();
            message["message"] = json!("Hello");
            let mut segment = input.clone();
            segment["segment_id"] = json!("seg_active");
            let mut dropped = input.clone();
            dropped.as_object_mut().expect("object").remove("message");
            vec![
                ("another first_name", first_name),
                ("another audience", audience),
                ("another message", message),
                ("a segment added", segment),
                ("the message dropped", dropped),
            ]
        } else {
            vec![
                ("another label", json!({"label": "b"})),
                ("a mode added", json!({"label": "a", "mode": "permanent"})),
                ("a sleep added", json!({"label": "a", "sleep_ms": 1})),
            ]
        };
        for (name, other) in others {
            let request = target.signed(action, id, target.body_with(id, other));
            corpus.push(
                REPLAY,
                format!("{label}: same id, {name}"),
                request,
                (409, "idempotency_conflict"),
            );
        }
        let (key, field) = if action == "send_email" {
            ("audience_id", "/audience_id")
        } else {
            ("label", "/label")
        };
        let mut invalid = input.clone();
        invalid[key] = json!(1);
        let request = target.signed(action, id, target.body_with(id, invalid));
        let name = format!("{label}: same id, invalid input");
        corpus.push(REPLAY, name, request, INVALID).field = Some(field.to_owned());

        // Same input: replayed, not run again.
        let mut reordered: serde_json::Map<String, Value> = serde_json::Map::new();
        let object = input.as_object().expect("object");
        for (key, value) in object.iter().rev() {
            reordered.insert(key.clone(), value.clone());
        }
        let mut with_null = input.clone();
        if action == "send_email" {
            with_null["segment_id"] = Value::Null;
        } else {
            with_null["mode"] = Value::Null;
        }
        for (name, same) in [
            ("identical", input.clone()),
            ("keys reordered", Value::Object(reordered)),
            ("an optional field null", with_null),
        ] {
            let request = target.signed(action, id, target.body_with(id, same));
            corpus.cases.push(Case {
                category: REPLAY,
                name: format!("{label}: same id, same input, {name}: replayed"),
                request,
                status: 200,
                error: None,
                field: None,
            });
        }

        // A captured request, replayed stale or altered.
        let body = target.body_with(id, input.clone());
        let request = target.signed_as(action, id, now() - 3600, body.clone());
        corpus.push(
            REPLAY,
            format!("{label}: captured an hour ago, replayed"),
            request,
            SIGNATURE,
        );
        let mut request = target.signed(action, id, body);
        let mut evil = input.clone();
        evil[key] = json!("evil");
        request.body = target.body_with(id, evil);
        corpus.push(
            REPLAY,
            format!("{label}: captured, replayed with another input"),
            request,
            SIGNATURE,
        );
    }
}

/// Everything the handlers did so far: outbox lines and completed effect runs.
fn side_effects(server: &Server) -> (usize, BTreeMap<String, usize>) {
    (server.outbox_lines().len(), server.effects.done())
}

async fn healthy(server: &Server) {
    let response = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("the server is up");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("JSON"),
        json!({"status": "ok"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_of_bad_requests() {
    let server = start().await;

    // The genuine requests the replay cases refer to: four side effects.
    for &(target, action, id, input) in SETUP {
        let request = target.signed(action, id, target.body_with(id, patched(input)));
        let (status, body) = request.send(&server).await;
        assert_eq!(status, 200, "setup {id}: {body}");
    }
    let mut baseline = side_effects(&server);
    assert_eq!(baseline.0, 2, "two emails were sent");
    assert_eq!(baseline.1.len(), 2, "two effects ran");

    let mut corpus = Corpus::default();
    malformed(&mut corpus);
    forged(&mut corpus);
    stale(&mut corpus);
    oversized(&mut corpus);
    nested(&mut corpus);
    wrong_input(&mut corpus);
    wrong_envelope(&mut corpus);
    wrong_content(&mut corpus);
    non_utf8(&mut corpus);
    duplicate_headers(&mut corpus);
    missing_headers(&mut corpus);
    routing(&mut corpus);
    replays(&mut corpus);

    let mut failures = Vec::new();
    let mut by_category: BTreeMap<&str, usize> = BTreeMap::new();
    for (n, case) in corpus.cases.iter().enumerate() {
        *by_category.entry(case.category).or_default() += 1;
        let (status, body, headers) = case.request.send_with_headers(&server).await;
        if status == 413 && headers.get("connection").is_none_or(|v| v != "close") {
            failures.push(format!(
                "[{}] {}: a 413 leaves the body unread, so it must close the connection: {headers:?}",
                case.category, case.name
            ));
        }
        let (error, field) = error_of(&case.request.path, &body);
        let expected = (
            case.status,
            case.error.map(str::to_owned),
            case.field.clone(),
        );
        if (status, error.clone(), field.clone()) != expected {
            failures.push(format!(
                "[{}] {}: expected {expected:?}, got {:?}: {body}",
                case.category,
                case.name,
                (status, error, field)
            ));
        }
        assert!(
            !body.to_string().contains(SECRET),
            "{}: the secret leaked",
            case.name
        );
        let after = side_effects(&server);
        if after != baseline {
            failures.push(format!(
                "[{}] {}: a side effect ran ({status} {body}): {after:?}",
                case.category, case.name
            ));
            baseline = after;
        }
        if n % 50 == 0 {
            healthy(&server).await;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases answered wrongly:\n{}",
        failures.len(),
        corpus.cases.len(),
        failures.join("\n")
    );

    // The server is still up, a genuine request still runs, and nothing else ran.
    healthy(&server).await;
    let (status, body) = server.execute("corpus-final", welcome()).await;
    assert_eq!(
        (status, &body),
        (
            200,
            &json!({"output": {"delivered": 1, "template_id": "tpl_welcome"}})
        )
    );
    let lines = server.outbox_lines();
    let ids: Vec<&str> = lines
        .iter()
        .map(|line| line["request_id"].as_str().expect("an id"))
        .collect();
    assert_eq!(
        ids,
        [
            "corpus-replay-stripe",
            "corpus-replay-epilot",
            "corpus-final"
        ],
        "only the genuine requests sent email"
    );
    assert_eq!(
        server.effects.done(),
        BTreeMap::from([
            ("corpus-replay-epilot-fx".to_owned(), 1),
            ("corpus-replay-stripe-fx".to_owned(), 1)
        ]),
        "only the genuine requests ran the effect"
    );
    for id in ["corpus-replay-stripe-fx", "corpus-replay-epilot-fx"] {
        assert_eq!(server.effects.attempts(id), 1, "{id} ran once");
    }

    let summary: Vec<String> = by_category
        .iter()
        .map(|(category, n)| format!("{category}: {n}"))
        .collect();
    println!(
        "corpus: {} bad requests run ({})",
        corpus.cases.len(),
        summary.join(", ")
    );
    assert!(
        corpus.cases.len() >= 200,
        "the corpus holds at least 200 cases"
    );
    server.stop().await;
}

#[tokio::test]
async fn routing_errors_under_a_prefix_keep_the_platform_shape() {
    let server = crate::harness::start_with(crate::harness::config().prefix("/actions")).await;
    for (method, path, status, kind) in [
        (Method::GET, "/epilot/send_email", 405, "method_not_allowed"),
        (Method::POST, "/epilot/send_email/extra", 404, "not_found"),
        (
            Method::GET,
            "/stripe/send_email/execute",
            405,
            "method_not_allowed",
        ),
        (Method::POST, "/stripe/send_email/undo", 404, "not_found"),
    ] {
        // `path` without the prefix: the router nested under it sees it so.
        let mut request = Request::post(format!("/actions{path}"), b"{}".to_vec());
        request.method = method;
        let (got, body) = request.send(&server).await;
        assert_eq!(
            (got, error_of(path, &body).0.as_deref()),
            (status, Some(kind)),
            "{path}: {body}"
        );
    }
    server.stop().await;
}
