//! Form-state dispatch on the wire JSON: the flagship example's cascade, stale values, failing
//! providers, the memo, and a whole-form handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actionkit::form_state::{
    Choice, FormRequest, FormState, FormStateRequest, Options, Schema, SchemaConfig, SelectConfig,
};
use actionkit::runtime::{FailureKind, Runtime};
use actionkit::{Action, ActionError, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fixtures::send_email::input::SendEmail;
use crate::fixtures::send_email::mailer::Mailer;
use crate::support::temp_path;

fn app() -> (Runtime<Mailer>, Mailer) {
    let mailer = Mailer::new(temp_path("outbox.jsonl"));
    (Runtime::new(mailer.clone()).action::<SendEmail>(), mailer)
}

fn request(values: Value, changed: Option<&str>) -> FormStateRequest {
    serde_json::from_value(json!({"values": values, "changed_field": changed}))
        .expect("wire request")
}

async fn form(rt: &Runtime<Mailer>, values: Value, changed: Option<&str>) -> Value {
    let response = rt
        .form_state("send_email", request(values, changed))
        .await
        .expect("form state answers");
    serde_json::to_value(response).expect("JSON")
}

#[tokio::test]
async fn initial_load_configures_every_dynamic_field_with_segment_disabled() {
    let (rt, _) = app();
    let answer = form(&rt, json!({}), None).await;
    let config = answer["config"].as_object().expect("config");
    assert_eq!(
        config.keys().collect::<Vec<_>>(),
        [
            "audience_id",
            "segment_id",
            "template_id",
            "template_variables"
        ]
    );
    assert_eq!(
        answer["config"]["audience_id"]["options"][0],
        json!({"value": "aud_customers", "label": "Customers"})
    );
    assert_eq!(
        answer["config"]["audience_id"]["options"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        answer["config"]["segment_id"],
        json!({"options": [], "schema": {}, "disabled": true})
    );
    assert_eq!(
        answer["config"]["template_variables"],
        json!({"options": [], "schema": {}, "disabled": true})
    );
    for entry in config.values() {
        assert!(
            entry.get("options").is_some() && entry.get("schema").is_some(),
            "options and schema are always present"
        );
    }
}

#[tokio::test]
async fn changing_the_audience_loads_segments_and_clears_the_segment() {
    let (rt, _) = app();
    let values = json!({"audience_id": "aud_newsletter", "segment_id": "seg_active", "template_id": "tpl_welcome"});
    let answer = form(&rt, values, Some("audience_id")).await;
    assert_eq!(
        answer["values"]["segment_id"],
        Value::Null,
        "the dependent value is cleared"
    );
    assert_eq!(
        answer["values"]["template_id"], "tpl_welcome",
        "unrelated values stay"
    );
    assert_eq!(
        answer["config"]["segment_id"],
        json!({"options": [{"value": "seg_weekly", "label": "Weekly digest"}, {"value": "seg_monthly", "label": "Monthly digest"}], "schema": {}})
    );
}

#[tokio::test]
async fn changing_the_template_loads_its_variables_schema() {
    let (rt, _) = app();
    let answer = form(
        &rt,
        json!({"audience_id": "aud_customers", "template_id": "tpl_invoice"}),
        Some("template_id"),
    )
    .await;
    let schema = &answer["config"]["template_variables"]["schema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(
        schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["first_name", "amount_due"]
    );
    assert_eq!(answer["config"]["template_variables"]["options"], json!([]));
}

#[tokio::test]
async fn a_stale_saved_value_is_kept_with_a_warning() {
    let (rt, _) = app();
    let answer = form(&rt, json!({"audience_id": "aud_customers", "segment_id": "seg_deleted", "template_id": "tpl_welcome"}), None).await;
    assert_eq!(
        answer["values"]["segment_id"], "seg_deleted",
        "kept, not cleared"
    );
    let warning = answer["config"]["segment_id"]["warning"]
        .as_str()
        .expect("a warning");
    assert!(warning.contains("seg_deleted"), "{warning}");
    assert!(answer["config"]["segment_id"].get("error").is_none());
}

#[tokio::test]
async fn a_failing_provider_is_an_error_on_its_field_only() {
    let (rt, _) = app();
    let answer = form(
        &rt,
        json!({"audience_id": "aud_partners", "template_id": "tpl_welcome"}),
        Some("audience_id"),
    )
    .await;
    assert_eq!(
        answer["config"]["segment_id"]["error"],
        "the segments of Partners cannot be loaded right now"
    );
    assert_eq!(answer["config"]["segment_id"]["options"], json!([]));
    assert!(answer["config"]["audience_id"].get("error").is_none());
    assert_eq!(
        answer["config"]["template_variables"]["schema"]["properties"]["first_name"]["type"],
        "string"
    );
}

#[tokio::test]
async fn unrelated_providers_are_not_called_again_within_the_ttl() {
    let (rt, mailer) = app();
    form(
        &rt,
        json!({"audience_id": "aud_customers", "template_id": "tpl_welcome"}),
        None,
    )
    .await;
    let after_load = mailer.catalog.lookups();
    assert_eq!(after_load, 4, "four providers looked up once each");
    form(
        &rt,
        json!({"audience_id": "aud_newsletter", "template_id": "tpl_welcome"}),
        Some("audience_id"),
    )
    .await;
    assert_eq!(
        mailer.catalog.lookups(),
        after_load + 1,
        "only the segments were looked up again"
    );
    form(
        &rt,
        json!({"audience_id": "aud_newsletter", "template_id": "tpl_welcome"}),
        Some("message"),
    )
    .await;
    assert_eq!(
        mailer.catalog.lookups(),
        after_load + 1,
        "nothing was looked up again"
    );
}

#[tokio::test]
async fn the_memo_expires_after_its_ttl() {
    let mailer = Mailer::new(temp_path("outbox.jsonl"));
    let rt = Runtime::new(mailer.clone())
        .form_cache_ttl(Duration::from_millis(50))
        .action::<SendEmail>();
    form(&rt, json!({}), None).await;
    let first = mailer.catalog.lookups();
    tokio::time::sleep(Duration::from_millis(80)).await;
    form(&rt, json!({}), None).await;
    assert_eq!(mailer.catalog.lookups(), 2 * first);
}

#[tokio::test]
async fn an_unknown_changed_field_is_invalid_input() {
    let (rt, _) = app();
    let failure = rt
        .form_state("send_email", request(json!({}), Some("audience")))
        .await
        .unwrap_err();
    assert_eq!(
        (failure.status, failure.kind),
        (400, FailureKind::InvalidInput)
    );
    assert_eq!(failure.field.as_deref(), Some("/changed_field"));
    assert!(
        failure.message.contains("did") || failure.message.contains("`audience_id`"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn ill_typed_values_do_not_fail_the_request() {
    let (rt, _) = app();
    let answer = form(
        &rt,
        json!({"audience_id": 42, "template_id": ["x"], "message": {"a": 1}}),
        None,
    )
    .await;
    assert_eq!(
        answer["config"]["segment_id"]["error"],
        "the value of `audience_id` is not valid; choose it again"
    );
    assert_eq!(
        answer["values"]["audience_id"], 42,
        "values are echoed, not dropped"
    );
}

// A whole-form handler, with a counter to prove providers run concurrently elsewhere.

#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

/// Pick a plan and, for paid plans, a seat count.
#[derive(Action, Deserialize, Debug)]
#[allow(dead_code)]
#[action(id = "pick_plan", execute = pick_plan, state = Counter, form_state = plan_form)]
struct PickPlan {
    #[field(dynamic_select)]
    plan: String,
    #[field(dynamic_select)]
    seats: Option<String>,
    #[field(dynamic_schema)]
    extras: Option<serde_json::Map<String, Value>>,
}

async fn pick_plan(_input: PickPlan) -> Result<(), ActionError> {
    Ok(())
}

async fn plan_form(
    State(counter): State<Counter>,
    req: FormRequest<PickPlan>,
) -> FormState<PickPlan> {
    counter.0.fetch_add(1, Ordering::Relaxed);
    let plans: Options = [Choice::new("free", "Free"), Choice::new("team", "Team")]
        .into_iter()
        .collect();
    let config = PickPlanConfig {
        plan: SelectConfig::with_options(plans),
        seats: SelectConfig::default(),
        extras: SchemaConfig::with_schema(Schema::object([("note", "string")])),
    };
    let state = FormState::new(&req, config);
    match req.values().plan.as_deref() {
        Some("team") => state.options(
            PickPlanField::Seats,
            ["5", "10"].into_iter().map(|n| Choice::new(n, n)).collect(),
        ),
        Some(_) if req.changed() == Some(PickPlanField::Plan) => state
            .clear(PickPlanField::Seats)
            .disable(PickPlanField::Seats)
            .warn(PickPlanField::Plan, "free plans have one seat"),
        _ => state
            .hide(PickPlanField::Seats)
            .error(PickPlanField::Extras, "choose a plan first"),
    }
}

#[tokio::test]
async fn a_whole_form_handler_answers_with_typed_helpers() {
    let counter = Counter::default();
    let rt = Runtime::new(counter.clone()).action::<PickPlan>();
    assert!(rt.has_form_state("pick_plan"));
    let answer = rt
        .form_state("pick_plan", request(json!({"plan": "team"}), Some("plan")))
        .await
        .unwrap();
    let answer = serde_json::to_value(answer).unwrap();
    assert_eq!(
        answer["config"]["seats"]["options"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let answer = rt
        .form_state(
            "pick_plan",
            request(json!({"plan": "free", "seats": "10"}), Some("plan")),
        )
        .await
        .unwrap();
    let answer = serde_json::to_value(answer).unwrap();
    assert_eq!(answer["values"]["seats"], Value::Null);
    assert_eq!(answer["config"]["seats"]["disabled"], true);
    assert_eq!(
        answer["config"]["plan"]["warning"],
        "free plans have one seat"
    );
    let answer = serde_json::to_value(
        rt.form_state("pick_plan", request(json!({}), None))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(answer["config"]["seats"]["hidden"], true);
    assert_eq!(answer["config"]["extras"]["error"], "choose a plan first");
    assert_eq!(
        answer["config"]["extras"]["schema"]["properties"]["note"]["type"],
        "string"
    );
    assert_eq!(counter.0.load(Ordering::Relaxed), 3);
}

#[tokio::test]
async fn an_action_without_dynamic_fields_has_no_form_state() {
    let rt = Runtime::new(crate::runtime::Effects::default()).action::<crate::runtime::Effect>();
    assert!(!rt.has_form_state("effect"));
    let failure = rt
        .form_state("effect", FormStateRequest::default())
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::NotFound);
}

#[test]
fn field_enum_names_and_pointers_follow_serde() {
    use crate::fixtures::send_email::input::SendEmailField;
    use actionkit::FieldPointer;
    use actionkit::form_state::FormField;
    assert_eq!(SendEmailField::ALL.len(), 5);
    assert_eq!(
        SendEmailField::TemplateVariables.name(),
        "template_variables"
    );
    assert_eq!(
        SendEmailField::from_name("segment_id"),
        Some(SendEmailField::SegmentId)
    );
    assert_eq!(SendEmailField::from_name("nope"), None);
    assert_eq!(SendEmailField::AudienceId.pointer(), "/audience_id");
    let err = ActionError::permanent("x").field(SendEmailField::TemplateId);
    assert_eq!(err.field_path(), Some("/template_id"));
}
