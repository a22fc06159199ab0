//! The platform simulator driving the flagship example as Stripe and epilot would, as a user's
//! own tests would use it.

use std::time::Duration;

use actionkit::App;
use actionkit::platform::epilot;
use actionkit::testing::Simulator;
use serde_json::json;

use crate::fixtures::send_email::input::{SendEmail, SendEmailField};
use crate::fixtures::send_email::mailer::Mailer;
use crate::harness::{AppState, app_with};
use crate::runtime::{Effect, Effects, Mode};
use crate::support::temp_path;

fn app() -> App<Mailer> {
    App::new(Mailer::new(temp_path("outbox.jsonl"))).action::<SendEmail>()
}

fn sample() -> SendEmail {
    SendEmail {
        audience_id: "aud_customers".into(),
        segment_id: Some("seg_active".into()),
        template_id: "tpl_welcome".into(),
        template_variables: Some(serde_json::from_value(json!({"first_name": "Ada"})).unwrap()),
        message: None,
    }
}

#[tokio::test]
async fn segments_follow_the_audience() {
    let sim = Simulator::new(app());
    let form = sim.form::<SendEmail>().load().await;
    assert!(form.config(SendEmailField::SegmentId).disabled);
    assert!(
        form.elapsed() < Duration::from_millis(400),
        "fast providers answer well within the form-state budget: {:?}",
        form.elapsed()
    );
    let form = form.set(SendEmailField::AudienceId, "aud_customers").await;
    assert!(!form.options(SendEmailField::SegmentId).is_empty());
    let form = form.set(SendEmailField::SegmentId, "seg_trial").await;
    assert_eq!(
        form.value(SendEmailField::SegmentId),
        Some(&json!("seg_trial"))
    );
    let form = form.set(SendEmailField::AudienceId, "aud_newsletter").await;
    assert_eq!(
        form.value(SendEmailField::SegmentId),
        None,
        "cleared when its parent changed"
    );
    let form = form.set(SendEmailField::TemplateId, "tpl_invoice").await;
    assert!(
        form.config(SendEmailField::TemplateVariables).schema["properties"]["amount_due"]
            .is_object()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_delivery_sends_once() {
    let sim = Simulator::new(app());
    let run = sim
        .execute(sample())
        .delivered(5)
        .concurrently()
        .retries(20)
        .await;
    assert_eq!(run.handler_calls(), 1);
    assert!(
        run.statuses().iter().all(|s| *s == 200),
        "in_progress answers were retried: {:?}",
        run.statuses()
    );
    let again = sim.execute(sample()).id(run.id.clone()).await;
    assert_eq!(
        (again.handler_calls(), &again.first().body),
        (0, &run.first().body)
    );
}

#[tokio::test]
async fn transient_failures_are_retried_permanent_ones_are_not() {
    let sim = Simulator::new(app());
    let mut outage = sample();
    outage.template_id = "tpl_status".into();
    let run = sim.execute(outage).retries(2).await;
    assert_eq!(
        (
            run.first().status,
            run.first().attempts,
            run.handler_calls()
        ),
        (503, 3, 3)
    );
    let mut unknown = sample();
    unknown.template_id = "tpl_nope".into();
    let run = sim.execute(unknown).retries(2).await;
    assert_eq!(
        (
            run.first().status,
            run.first().attempts,
            run.handler_calls()
        ),
        (422, 1, 1)
    );
}

#[tokio::test]
async fn a_slow_handler_meets_the_deadline() {
    let effects = Effects::default();
    let app: App<AppState> = app_with(&temp_path("outbox.jsonl"), effects.clone());
    let sim = Simulator::new(app).deadline(Duration::from_millis(100));
    let slow = Effect {
        label: "x".into(),
        mode: Some(Mode::Slow),
        sleep_ms: Some(1000),
    };
    let run = sim.execute(slow).await;
    assert_eq!(run.first().status, 504);
    assert_eq!(run.first().body["error"]["type"], "timeout");
    assert!(effects.done().is_empty());
}

#[tokio::test]
async fn the_same_action_runs_as_epilot() {
    let sim = Simulator::new(app()).platform(epilot::PLATFORM);
    let run = sim.execute(sample()).delivered(3).await;
    assert_eq!(run.statuses(), [200, 200, 200]);
    assert_eq!(run.first().body, json!({}));
    assert_eq!(run.handler_calls(), 1);
}

#[tokio::test]
async fn playing_epilot_keeps_form_state_on_the_platform_that_has_it() {
    let sim = Simulator::new(app()).platform(epilot::PLATFORM);
    let form = sim.form::<SendEmail>().load().await;
    let form = form.set(SendEmailField::AudienceId, "aud_customers").await;
    assert!(!form.options(SendEmailField::SegmentId).is_empty());
    let run = sim.execute(sample()).await;
    assert_eq!(run.first().body, json!({}), "executed in epilot's shape");
}

#[test]
#[should_panic(expected = "the simulator cannot play `nowhere`; it plays stripe, epilot")]
fn an_unknown_platform_is_named_with_the_ones_it_plays() {
    let _ = Simulator::new(app()).platform("nowhere");
}
