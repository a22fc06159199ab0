//! Generated schemas compared with committed snapshots and checked against the draft-07
//! meta-schema.

use actionkit::{Action, InputType};
use serde_json::Value;

use crate::fixtures::{Counters, Notify, Priority, Recipient, SendEmail};
use crate::support::{assert_draft07, assert_snapshot};

fn check<A: Action>(name: &str) {
    assert_draft07(A::input_schema());
    assert_snapshot(&format!("{name}.input_schema"), A::input_schema());
    assert_snapshot(&format!("{name}.ui_schema"), A::ui_schema());
}

#[test]
fn send_email_schemas() {
    check::<SendEmail>("send_email");
}

#[test]
fn notify_schemas() {
    check::<Notify>("notify");
}

#[test]
fn counters_schemas() {
    check::<Counters>("counters");
}

#[test]
fn nested_types_have_their_own_schemas() {
    let recipient = Value::Object(Recipient::schema());
    assert_draft07(&recipient);
    assert_snapshot("recipient", &recipient);
    assert_eq!(
        Value::Object(Priority::schema()),
        serde_json::json!({"type": "string", "enum": ["LOW", "NORMAL", "RIGHT_NOW", "later"]})
    );
}

#[test]
fn schemars_sees_the_same_schema() {
    let generated = schemars::schema_for!(Notify);
    let mut expected = Notify::input_schema().as_object().expect("object").clone();
    expected.remove("$schema");
    let mut actual = generated.as_object().expect("object").clone();
    actual.remove("$schema");
    actual.remove("title");
    assert_eq!(Value::Object(actual), Value::Object(expected));
}

#[test]
fn identity_comes_from_attributes_and_docs() {
    assert_eq!((Notify::ID, Notify::NAME), ("notify.v2", "Notify"));
    assert_eq!(
        Notify::DESCRIPTION,
        Some("Notify someone, with every schema feature on one struct.")
    );
    assert_eq!(
        (Counters::NAME, Counters::DESCRIPTION),
        ("Counters", Some("Integer widths"))
    );
    assert_eq!(
        (SendEmail::ID, SendEmail::NAME),
        ("send_email", "Send email")
    );
}

#[test]
fn schemas_are_built_once() {
    assert!(std::ptr::eq(Notify::input_schema(), Notify::input_schema()));
    assert!(std::ptr::eq(Notify::ui_schema(), Notify::ui_schema()));
}
