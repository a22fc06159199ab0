//! Decoding untrusted JSON: every rejection names the field by JSON pointer.

use actionkit::Action;
use serde_json::json;

use crate::fixtures::{Notify, SendEmail};

fn notify() -> serde_json::Value {
    json!({
        "firstName": "Ada",
        "recipient": {"email": "ada@example.com"},
        "channels": ["email"],
        "retries": 2,
        "quiet": false,
        "offsets": [-5, 10]
    })
}

fn error_of(value: serde_json::Value) -> (String, String) {
    let err = Notify::decode(value).expect_err("must be refused");
    (err.field().to_owned(), err.message().to_owned())
}

#[test]
fn valid_input_decodes_with_serde_defaults() {
    let input = Notify::decode(notify()).expect("valid");
    assert_eq!(input.first_name, "Ada");
    assert_eq!(input.priority, crate::fixtures::Priority::Normal);
    assert!(input.extra.is_empty());
}

#[test]
fn null_on_an_optional_field_means_absent() {
    let input =
        SendEmail::decode(json!({"audience_id": "a", "template_id": "t", "segment_id": null}))
            .expect("valid");
    assert_eq!(input.segment_id, None);
    let (field, message) = {
        let err = SendEmail::decode(json!({"audience_id": null, "template_id": "t"})).unwrap_err();
        (err.field().to_owned(), err.message().to_owned())
    };
    assert_eq!(
        (field.as_str(), message.as_str()),
        ("/audience_id", "expected a string, found null")
    );
}

#[test]
fn unknown_fields_are_refused_even_without_deny_unknown_fields() {
    let mut value = notify();
    value["first_name"] = json!("snake");
    let (field, message) = error_of(value);
    assert_eq!(field, "/first_name");
    assert!(
        message.starts_with("unknown field `first_name`; expected one of `firstName`, `lastName`"),
        "{message}"
    );
}

#[test]
fn nested_errors_carry_the_full_path() {
    let mut value = notify();
    value["recipient"]["email"] = json!("not an address");
    assert_eq!(error_of(value).0, "/recipient/email");
    let mut value = notify();
    value["recipient"]["nickname"] = json!("x");
    assert_eq!(
        error_of(value),
        (
            "/recipient/nickname".into(),
            "unknown field `nickname`; expected one of `email`, `display_name`".into()
        )
    );
}

#[test]
fn every_keyword_is_enforced() {
    let cases = [
        (
            "/firstName",
            json!(""),
            "must be at least 1 characters long",
        ),
        (
            "/firstName",
            json!("1abc"),
            "must match the pattern `^[A-Za-z][A-Za-z -]*$`",
        ),
        (
            "/retries",
            json!(11),
            "must be at most 10, found the number 11",
        ),
        (
            "/retries",
            json!(-1),
            "must be at least 0, found the number -1",
        ),
        ("/channels", json!([]), "must have at least 1 items"),
        (
            "/channels",
            json!(["a", "b", "c", "d"]),
            "must have at most 3 items",
        ),
        (
            "/channels/1",
            json!(["a", 2]),
            "expected a string, found the number 2",
        ),
        (
            "/priority",
            json!("URGENT"),
            "expected one of `LOW`, `NORMAL`, `RIGHT_NOW`, `later`, found a string",
        ),
        ("/quiet", json!("yes"), "expected a boolean, found a string"),
        ("/offsets", json!({}), "expected an array, found an object"),
    ];
    for (field, bad, message) in cases {
        let mut value = notify();
        let key = field.split('/').nth(1).expect("pointer");
        value[key] = bad;
        assert_eq!(
            error_of(value),
            (field.to_owned(), message.to_owned()),
            "case {field}"
        );
    }
}

#[test]
fn missing_required_fields_are_named() {
    let mut value = notify();
    value.as_object_mut().expect("object").remove("quiet");
    assert_eq!(
        error_of(value),
        ("/quiet".into(), "missing required field `quiet`".into())
    );
    let err = Notify::decode(json!([1])).unwrap_err();
    assert_eq!(
        (err.field(), err.message()),
        ("", "expected an object, found an array")
    );
}

#[test]
fn string_values_are_never_echoed() {
    let mut value = notify();
    value["quiet"] = json!("sk_live_secret");
    let err = Notify::decode(value).unwrap_err();
    assert!(!err.to_string().contains("sk_live_secret"));
}

/// An invalid `pattern` is refused when the action is registered, not at the first request.
#[derive(actionkit::Action, serde::Deserialize, Debug)]
#[action(id = "bad_pattern", execute = never)]
#[allow(dead_code)]
struct BadPattern {
    #[field(pattern = "([unclosed")]
    code: String,
}

async fn never(_: BadPattern) -> Result<(), actionkit::ActionError> {
    Ok(())
}

#[test]
fn an_invalid_pattern_stops_start_up() {
    let registered =
        std::panic::catch_unwind(|| actionkit::runtime::Runtime::new(()).action::<BadPattern>());
    let message = *registered
        .expect_err("registration must refuse it")
        .downcast::<String>()
        .unwrap();
    assert!(
        message.contains("the generated input schema is invalid"),
        "{message}"
    );
}
