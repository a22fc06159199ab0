//! The preview pages of the flagship example, served on 127.0.0.1: their routes over HTTP, and
//! the rendered form driven in headless Chromium through chromedriver (skipped with a printed
//! reason when either is missing, except under `ACTIONKIT_CI`, where it fails).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actionkit::store::{Claim, IdempotencyStore, InputHash, MemoryStore};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::harness::{Server, config, start_with};
use crate::support::temp_path;

async fn start_preview() -> (Server, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let server = start_with(config().store(store.clone()).preview(true)).await;
    (server, store)
}

async fn preview_post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let response = server
        .client
        .post(server.url(path))
        .json(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn the_preview_lists_the_actions_and_embeds_each_form() {
    let (server, _) = start_preview().await;
    let index = server
        .client
        .get(server.url("/preview/"))
        .send()
        .await
        .unwrap();
    assert_eq!(index.status(), 200);
    let index = index.text().await.unwrap();
    assert!(
        index.contains("<a href=\"send_email\">Send email</a>"),
        "{index}"
    );
    let page = server.get_text("/preview/send_email").await;
    let data = page
        .split("<script id=\"action\" type=\"application/json\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("the page embeds the action");
    let data: Value = serde_json::from_str(data).unwrap();
    assert_eq!(data["id"], "send_email");
    assert_eq!(data["form_state"], true);
    assert_eq!(
        data["input_schema"],
        *<crate::fixtures::SendEmail as actionkit::Action>::input_schema()
    );
    assert_eq!(
        data["ui_schema"],
        *<crate::fixtures::SendEmail as actionkit::Action>::ui_schema()
    );
    server.stop().await;
}

#[tokio::test]
async fn the_preview_answers_form_state_like_the_platform_route() {
    let (server, _) = start_preview().await;
    let request = json!({"values": {"audience_id": "aud_customers", "segment_id": "seg_gone"}, "changed_field": null});
    let (status, preview) = preview_post(&server, "/preview/send_email/form_state", &request).await;
    assert_eq!(status, 200, "{preview}");
    let (status, platform) = server
        .signed("/stripe/send_email/get_form_state", &request)
        .await;
    assert_eq!(status, 200);
    assert_eq!(preview, platform);
    assert!(
        preview["config"]["segment_id"]["warning"]
            .as_str()
            .unwrap()
            .contains("seg_gone")
    );
    let (status, refused) = preview_post(
        &server,
        "/preview/send_email/form_state",
        &json!({"values": {}, "changed_field": "nope"}),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    server.stop().await;
}

#[tokio::test]
async fn preview_runs_replay_from_a_store_of_their_own() {
    let (server, store) = start_preview().await;
    let values = json!({"audience_id": "aud_customers", "template_id": "tpl_welcome", "template_variables": {"first_name": "Ada"}});
    let (status, first) = preview_post(
        &server,
        "/preview/send_email/run",
        &json!({"id": "req_shared", "values": values}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (first["status"].clone(), first["replayed"].clone()),
        (json!(200), json!(false)),
        "{first}"
    );
    assert_eq!(first["body"]["output"]["delivered"], 1);
    let (_, again) = preview_post(
        &server,
        "/preview/send_email/run",
        &json!({"id": "req_shared", "values": values}),
    )
    .await;
    assert_eq!(again["replayed"], true);
    assert_eq!(again["body"], first["body"]);
    assert_eq!(server.outbox_lines().len(), 1, "a replay sends nothing");

    // The server's store never saw the preview's run: its key is free there.
    let claim = store
        .claim(
            "preview:send_email:req_shared",
            &InputHash([0; 32]),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert!(matches!(claim, Claim::Acquired(_)), "{claim:?}");
    // A platform's call with the same id runs for itself.
    let (status, body) = server.execute("req_shared", values.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.outbox_lines().len(), 2);

    // No id: a fresh one each time.
    let (_, fresh) = preview_post(
        &server,
        "/preview/send_email/run",
        &json!({"values": values}),
    )
    .await;
    let id = fresh["request_id"].as_str().unwrap();
    assert!(id.starts_with("preview_"), "{fresh}");
    let (_, invalid) = preview_post(
        &server,
        "/preview/send_email/run",
        &json!({"values": {"audience_id": 7, "template_id": "tpl_welcome"}}),
    )
    .await;
    assert_eq!(invalid["status"], 400, "{invalid}");
    assert_eq!(invalid["body"]["field"], "/audience_id");
    server.stop().await;
}

#[tokio::test]
async fn without_the_preview_its_routes_are_not_served() {
    let server = start_with(config()).await;
    let response = server
        .client
        .get(server.url("/preview/send_email"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    server.stop().await;
}

/// chromedriver and Chromium, found on `PATH`, or why not.
fn browser_binaries() -> Result<(PathBuf, PathBuf), String> {
    let find = |names: &[&str]| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
            .find(|candidate| candidate.is_file())
    };
    let driver = find(&["chromedriver"]).ok_or("chromedriver is not on PATH")?;
    let chromium = find(&["chromium", "chromium-browser", "google-chrome"])
        .ok_or("chromium is not on PATH")?;
    Ok((driver, chromium))
}

/// A headless Chromium session through a chromedriver of its own; the driver is killed on drop.
struct Browser {
    client: Client,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    /// `None` (with the reason printed) when the binaries are missing, except under CI.
    async fn start(test: &str) -> Option<Browser> {
        let (driver_path, chromium) = match browser_binaries() {
            Ok(found) => found,
            Err(why) if std::env::var_os("ACTIONKIT_CI").is_none() => {
                // Past the test harness's capture, so the skip is seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping {test}: {why} (apt-get install chromium chromium-driver; CI installs them)"
                );
                return None;
            }
            Err(why) => panic!("{test}: CI must have a browser: {why}"),
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = temp_path("chromium-profile");
        let browser = Browser {
            client: connect(port, &chromium, &profile).await,
            driver,
            profile,
        };
        browser.client.set_window_size(1280, 1100).await.unwrap();
        Some(browser)
    }

    /// Ends the session (closing Chromium), then the driver.
    async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// The page under test, and what the test asks of it.
struct Page {
    client: Client,
}

impl Page {
    async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Waits until the page has made `calls` form-state calls in all and none is pending.
    async fn settle(&self, calls: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let state = self
                .js("const p = document.querySelector('.page'); return p ? [p.dataset.busy, Number(p.dataset.calls)] : null;")
                .await;
            if state[0] == "0" && state[1].as_u64() >= Some(calls) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page did not settle at {calls} form-state calls: {state}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The form-state calls made so far.
    async fn calls(&self) -> u64 {
        self.js("return Number(document.querySelector('.page').dataset.calls);")
            .await
            .as_u64()
            .unwrap()
    }

    /// Chooses `value` in field `field`'s dropdown and waits for the form state's answer.
    async fn choose(&self, field: &str, value: &str) {
        let calls = self.calls().await;
        self.client
            .find(Locator::Css(&format!("#field-{field}")))
            .await
            .unwrap()
            .select_by_value(value)
            .await
            .unwrap();
        self.settle(calls + 1).await;
    }

    /// Field `field`'s dropdown: whether it is enabled, its value and its options' values.
    async fn select(&self, field: &str) -> (bool, String, Vec<String>) {
        let state = self
            .js(&format!(
                "const s = document.getElementById('field-{field}');
                 return [!s.disabled, s.value, Array.from(s.options).map(o => o.value).filter(v => v)];"
            ))
            .await;
        let options = state[2]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        (
            state[0].as_bool().unwrap(),
            state[1].as_str().unwrap().to_owned(),
            options,
        )
    }

    /// The text of every element matching `css`.
    async fn texts(&self, css: &str) -> Vec<String> {
        let texts = self
            .js(&format!(
                "return Array.from(document.querySelectorAll({css:?})).map(e => e.textContent.trim());"
            ))
            .await;
        serde_json::from_value(texts).unwrap()
    }

    /// Clicks `button`, waits until `#run-status` shows a result that `ready` accepts, and
    /// answers it with `#run-body` as JSON.
    async fn run(&self, button: &str, ready: impl Fn(&str) -> bool) -> (String, Value) {
        self.client
            .find(Locator::Css(button))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let texts = self.texts("#run-status").await;
            if let Some(status) = texts.first().filter(|s| ready(s)) {
                let body = self.texts("#run-body").await;
                return (status.clone(), serde_json::from_str(&body[0]).unwrap());
            }
            assert!(Instant::now() < deadline, "no such run result: {texts:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A session on the chromedriver at `port`, retried while it starts.
async fn connect(port: u16, chromium: &Path, profile: &Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            // Headless as root on a closed network: without these Chromium hangs or phones home.
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return client,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no chromedriver session on {url}: {e}"),
        }
    }
}

/// Where the test's screenshots go: the integration tests' folder under `target/`.
fn screenshot_path(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("preview");
    std::fs::create_dir_all(&dir).expect("the screenshot folder");
    dir.join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_send_email_form_follows_its_form_state_in_a_browser() {
    let test = "preview::the_send_email_form_follows_its_form_state_in_a_browser";
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let (server, _) = start_preview().await;
    // The checks run on a task of their own, so a failed one still ends the browser session.
    let checks = tokio::spawn(drive_send_email(
        browser.client.clone(),
        server.url("/preview/send_email"),
    ));
    let result = checks.await;
    browser.close().await;
    server.stop().await;
    if let Err(failed) = result {
        std::panic::resume_unwind(failed.into_panic());
    }
}

async fn drive_send_email(client: Client, page: String) {
    let b = &Page { client };
    b.client.goto(&page).await.unwrap();
    b.settle(1).await;

    // The audience dropdown lists the catalog's audiences; the segment waits for one.
    let audiences: Vec<String> = crate::fixtures::send_email::catalog::AUDIENCES
        .iter()
        .map(|a| a.id.to_owned())
        .collect();
    let (enabled, value, options) = b.select("audience_id").await;
    assert!(enabled && value.is_empty());
    assert_eq!(options, audiences);
    let labels = b.texts("#field-audience_id option").await;
    assert!(
        labels.contains(&"Newsletter subscribers".to_owned()),
        "{labels:?}"
    );
    let (enabled, _, options) = b.select("segment_id").await;
    assert!(
        !enabled && options.is_empty(),
        "disabled until an audience is chosen"
    );

    // Choosing one enables the segment dropdown and fills it.
    b.choose("audience_id", "aud_customers").await;
    let (enabled, value, options) = b.select("segment_id").await;
    assert!(enabled && value.is_empty());
    assert_eq!(options, ["seg_active", "seg_trial"]);
    b.choose("segment_id", "seg_trial").await;
    assert_eq!(b.select("segment_id").await.1, "seg_trial");

    // Changing the audience clears the segment and refills it.
    b.choose("audience_id", "aud_newsletter").await;
    let (enabled, value, options) = b.select("segment_id").await;
    assert!(enabled);
    assert_eq!(value, "", "the segment of another audience is cleared");
    assert_eq!(options, ["seg_weekly", "seg_monthly"]);

    // A failing look-up is an error on that field only.
    b.choose("audience_id", "aud_partners").await;
    let errors = b.texts(".field-error").await;
    assert_eq!(
        errors,
        ["the segments of Partners cannot be loaded right now"],
        "one error, on the segment"
    );
    assert_eq!(
        b.texts("[data-field=segment_id] .field-error").await.len(),
        1
    );
    b.choose("audience_id", "aud_customers").await;
    assert!(b.texts(".field-error").await.is_empty());

    // The template variables sub-form follows the template.
    assert!(
        b.texts("[data-field=template_variables] .subform label")
            .await
            .is_empty()
    );
    b.choose("template_id", "tpl_invoice").await;
    let fields = b
        .texts("[data-field=template_variables] .subform label")
        .await;
    assert_eq!(fields, ["first_name", "amount_due"]);
    b.choose("template_id", "tpl_welcome").await;
    let fields = b
        .texts("[data-field=template_variables] .subform label")
        .await;
    assert_eq!(fields, ["first_name"]);
    let calls = b.calls().await;
    b.client
        .find(Locator::Css(
            "[data-field=template_variables] .subform input",
        ))
        .await
        .unwrap()
        .send_keys("Ada")
        .await
        .unwrap();
    b.settle(calls + 1).await;
    let message = b.client.find(Locator::Css("#field-message")).await.unwrap();
    message
        .send_keys("Hello {{ customer.name }}")
        .await
        .unwrap();
    b.settle(calls + 2).await;
    b.choose("segment_id", "seg_active").await;
    let side_panel = b.texts(".exchange-kind").await;
    assert!(side_panel.iter().all(|k| k == "form_state") && side_panel.len() as u64 >= calls + 2);

    // "Run": a 200 with a fresh id, then the same answer again with the same id.
    let (status, body) = b.run("#run", |s| s.contains("200")).await;
    assert!(!status.contains("replayed"), "{status}");
    assert_eq!(
        body["output"],
        json!({"delivered": 1, "template_id": "tpl_welcome"})
    );
    let id = status.rsplit(' ').next().unwrap().to_owned();
    assert!(id.starts_with("preview_"), "{status}");
    let screenshot = b.client.screenshot().await.unwrap();
    let (again, replayed) = b.run("#run-again", |s| s.contains("replayed")).await;
    assert!(again.starts_with("200") && again.ends_with(&id), "{again}");
    assert_eq!(replayed, body);
    let (fresh, _) = b.run("#run", |s| !s.ends_with(&id)).await;
    assert!(
        fresh.starts_with("200") && !fresh.contains("replayed"),
        "{fresh}"
    );
    let run_request = b.texts(".exchange-run .exchange-request").await;
    let sent: Value = serde_json::from_str(&run_request[0]).unwrap();
    assert_eq!(
        sent["values"],
        json!({"audience_id": "aud_customers", "segment_id": "seg_active", "template_id": "tpl_welcome",
               "template_variables": {"first_name": "Ada"}, "message": "Hello {{ customer.name }}"})
    );
    let path = screenshot_path("send_email.png");
    std::fs::write(&path, screenshot).expect("the screenshot is written");
    let _ = writeln!(std::io::stderr(), "screenshot: {}", path.display());

    // A stale saved value shows its warning (reopening a configured step).
    let saved = json!({"audience_id": "aud_customers", "segment_id": "seg_gone"}).to_string();
    let query: String = saved
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    b.client
        .goto(&format!("{page}?values={query}"))
        .await
        .unwrap();
    b.settle(1).await;
    let (_, value, _) = b.select("segment_id").await;
    assert_eq!(value, "seg_gone", "a stale saved value is kept");
    let warnings = b.texts("[data-field=segment_id] .field-warning").await;
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("seg_gone"), "{warnings:?}");
    assert!(b.texts(".field-error").await.is_empty());
}

/// Book a meeting room: groups, a row, a relabelled field and a multi-select, with a whole-form
/// handler that hides, disables, warns and fails fields.
#[derive(actionkit::Action, serde::Serialize, serde::Deserialize, Debug)]
#[action(
    id = "book_room",
    name = "Book a room",
    execute = book_room,
    form_state = room_form,
    group(label = "When", fields(day, hours)),
    row(building, room)
)]
pub struct BookRoom {
    #[field(dynamic_select)]
    building: String,
    #[field(dynamic_select, label = "Meeting room")]
    room: Option<String>,
    #[field(dynamic_select)]
    equipment: Option<Vec<String>>,
    day: String,
    hours: Option<u8>,
    #[field(dynamic_schema)]
    details: Option<serde_json::Map<String, Value>>,
}

async fn book_room(_: BookRoom) -> Result<(), actionkit::ActionError> {
    Ok(())
}

async fn room_form(
    req: actionkit::form_state::FormRequest<BookRoom>,
) -> actionkit::form_state::FormState<BookRoom> {
    use actionkit::form_state::{Choice, FormState, Schema, SchemaConfig, SelectConfig};
    let choices = |pairs: &[(&str, &str)]| pairs.iter().map(|(v, l)| Choice::new(*v, *l)).collect();
    let config = BookRoomConfig {
        building: SelectConfig::with_options(choices(&[
            ("hq", "Headquarters"),
            ("annex", "Annex"),
        ])),
        room: SelectConfig::default(),
        equipment: SelectConfig::with_options(choices(&[("screen", "Screen"), ("phone", "Phone")])),
        details: SchemaConfig::with_schema(Schema::object([("agenda", "string")])),
    };
    let state = FormState::new(&req, config);
    match req.values().building.as_deref() {
        None => state
            .disable(BookRoomField::Room)
            .hide(BookRoomField::Details),
        Some("hq") => state
            .options(
                BookRoomField::Room,
                choices(&[("r1", "Room 1"), ("r2", "Room 2")]),
            )
            .warn(BookRoomField::Building, "headquarters is busy on Mondays"),
        Some(_) => state
            .clear(BookRoomField::Room)
            .hide(BookRoomField::Room)
            .error(
                BookRoomField::Equipment,
                "the annex has no equipment to book",
            ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layouts_and_every_config_state_render_as_the_builder_shows_them() {
    let test = "preview::layouts_and_every_config_state_render_as_the_builder_shows_them";
    let app = actionkit::server::App::new(()).action::<BookRoom>();
    drive_preview_of(test, app, "/preview/book_room", drive_book_room).await;
}

/// Serves `app`'s preview on a loopback port, runs `drive` against `page` in the browser, and
/// stops the server (skipped, as every browser test, when there is no browser).
async fn drive_preview_of<F>(
    test: &str,
    app: actionkit::server::App<()>,
    page: &str,
    drive: fn(Client, String) -> F,
) where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.serve_on(
            listener,
            &actionkit::server::ServerConfig::new().preview(true),
            async move {
                let _ = stopped.await;
            },
        )
        .await
    });
    let checks = tokio::spawn(drive(
        browser.client.clone(),
        format!("http://{addr}{page}"),
    ));
    let result = checks.await;
    browser.close().await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    if let Err(failed) = result {
        std::panic::resume_unwind(failed.into_panic());
    }
}

async fn drive_book_room(client: Client, page: String) {
    let b = &Page { client };
    b.client.goto(&page).await.unwrap();
    b.settle(1).await;

    // A group with its label around its fields, a row of two, a relabelled field.
    let group = b
        .js("const g = Array.from(document.querySelectorAll('.group-layout')).find(g => g.textContent.includes('When'));
             return g ? g.querySelectorAll('input').length : -1;")
        .await;
    assert_eq!(group, 2, "the `When` group holds `day` and `hours`");
    let row = b
        .js("const r = document.querySelector('.horizontal-layout');
             return r ? ['building', 'room'].map(f => !!r.querySelector('#field-' + f)) : null;")
        .await;
    assert_eq!(
        row,
        json!([true, true]),
        "`building` and `room` share a row"
    );
    assert_eq!(
        b.texts("[data-field=room] .field-label").await,
        ["Meeting room"]
    );

    // Initial load: the room is disabled, the details hidden; equipment is a multi-select.
    let (enabled, _, _) = b.select("room").await;
    assert!(!enabled);
    assert!(b.texts("[data-field=details]").await.is_empty(), "hidden");
    let multiple = b
        .js("return document.getElementById('field-equipment').multiple;")
        .await;
    assert_eq!(multiple, true);
    assert_eq!(b.select("equipment").await.2, ["screen", "phone"]);

    // A warning on one field, options on another.
    b.choose("building", "hq").await;
    let (enabled, _, options) = b.select("room").await;
    assert!(enabled);
    assert_eq!(options, ["r1", "r2"]);
    assert_eq!(
        b.texts(".field-warning").await,
        ["headquarters is busy on Mondays"]
    );
    assert_eq!(
        b.texts("[data-field=details] .subform label").await,
        ["agenda"]
    );
    b.choose("room", "r2").await;

    // Hidden, cleared, and an error on one field only.
    b.choose("building", "annex").await;
    assert!(b.texts("[data-field=room]").await.is_empty(), "hidden");
    assert_eq!(
        b.texts(".field-error").await,
        ["the annex has no equipment to book"]
    );
    assert_eq!(
        b.texts("[data-field=equipment] .field-error").await.len(),
        1
    );
    assert!(b.texts(".field-warning").await.is_empty());
    let sent = b.texts(".exchange-form_state .exchange-response").await;
    let last: Value = serde_json::from_str(&sent[0]).unwrap();
    assert_eq!(last["values"].get("room"), Some(&Value::Null), "{last}");
    let screenshot = b.client.screenshot().await.unwrap();
    std::fs::write(screenshot_path("book_room.png"), screenshot).unwrap();
}

/// Subscribe: the seat count shows only on paid plans (`visible_when`), the reminder is editable
/// only with notifications on (`enabled_when`).
#[derive(actionkit::Action, serde::Serialize, serde::Deserialize, Debug)]
#[action(id = "subscribe", name = "Subscribe", execute = subscribe)]
pub struct Subscribe {
    #[field(options = plans)]
    plan: String,
    #[field(visible_when(plan = ["pro", "team"]))]
    seats: Option<u32>,
    #[field(options = yes_no)]
    notify: Option<String>,
    #[field(enabled_when(notify = "yes"))]
    reminder: Option<String>,
}

async fn subscribe(_: Subscribe) -> Result<(), actionkit::ActionError> {
    Ok(())
}

async fn plans() -> Result<actionkit::form_state::Options, actionkit::form_state::FieldError> {
    use actionkit::form_state::Choice;
    Ok([("free", "Free"), ("pro", "Pro"), ("team", "Team")]
        .into_iter()
        .map(|(v, l)| Choice::new(v, l))
        .collect())
}

async fn yes_no() -> Result<actionkit::form_state::Options, actionkit::form_state::FieldError> {
    use actionkit::form_state::Choice;
    Ok([("yes", "Yes"), ("no", "No")]
        .into_iter()
        .map(|(v, l)| Choice::new(v, l))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conditional_field_follows_its_condition_in_a_browser() {
    let test = "preview::a_conditional_field_follows_its_condition_in_a_browser";
    let app = actionkit::server::App::new(()).action::<Subscribe>();
    // Opened as a saved step: a pro plan with four seats.
    let page = "/preview/subscribe?values=%7B%22plan%22%3A%22pro%22%2C%22seats%22%3A4%7D";
    drive_preview_of(test, app, page, drive_subscribe).await;
}

async fn drive_subscribe(client: Client, page: String) {
    let b = &Page { client };
    b.client.goto(&page).await.unwrap();
    b.settle(1).await;
    // A field with no config entry renders as JSONForms' own control; with one, in a `data-field`.
    let seats_input = "const i = document.querySelector('.root_properties_seats input, [data-field=seats] input'); return i ? i.value : null;";
    assert_eq!(b.js(seats_input).await, "4", "a pro plan shows its seats");
    let reminder_disabled = "const i = document.querySelector('.root_properties_reminder input, [data-field=reminder] input'); return i ? i.disabled : null;";
    assert_eq!(
        b.js(reminder_disabled).await,
        true,
        "no notifications: the reminder is disabled"
    );

    // A free plan hides the seats and clears them.
    b.choose("plan", "free").await;
    assert_eq!(b.js(seats_input).await, Value::Null, "hidden");
    let sent = b.texts(".exchange-form_state .exchange-response").await;
    let last: Value = serde_json::from_str(&sent[0]).unwrap();
    assert_eq!(last["values"]["seats"], Value::Null, "{last}");
    assert_eq!(last["config"]["seats"]["hidden"], true, "{last}");

    // Back to a paid plan: shown again, empty; notifications on enable the reminder.
    b.choose("plan", "team").await;
    assert_eq!(b.js(seats_input).await, "", "shown again, empty");
    b.choose("notify", "yes").await;
    assert_eq!(b.js(reminder_disabled).await, false);
    let screenshot = b.client.screenshot().await.unwrap();
    std::fs::write(screenshot_path("subscribe.png"), screenshot).unwrap();
}
