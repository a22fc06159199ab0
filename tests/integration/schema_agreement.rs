//! Property tests: serde and the generated schema agree. Values generated from each schema
//! deserialise (through `Action::decode` and through plain serde), and what an input serialises
//! to validates against its schema and decodes back to the same input.

use actionkit::Action;
use actionkit::schema::to_input;
use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::fixtures::{Counters, Notify, SendEmail};

/// Arbitrary JSON admitted by `schema` (the subset actionkit generates).
fn value_for(schema: &Value) -> BoxedStrategy<Value> {
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        return proptest::sample::select(options.clone()).boxed();
    }
    let bound = |key: &str| schema.get(key).and_then(Value::as_i64);
    let count = |key: &str, default: u64| {
        schema.get(key).and_then(Value::as_u64).unwrap_or(default) as usize
    };
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => {
            let (min, max) = (count("minLength", 0), count("maxLength", 24).min(24));
            let pattern = match (
                schema.get("format").and_then(Value::as_str),
                schema.get("pattern").and_then(Value::as_str),
            ) {
                (Some("email"), _) => "[a-z]{1,8}@[a-z]{1,8}\\.com".to_owned(),
                (_, Some(p)) => p.trim_start_matches('^').trim_end_matches('$').to_owned(),
                _ => format!("\\PC{{{min},{max}}}"),
            };
            proptest::string::string_regex(&pattern)
                .expect("pattern")
                .prop_filter("length within bounds", move |s| {
                    (min..=max).contains(&s.chars().count())
                })
                .prop_map(Value::from)
                .boxed()
        }
        Some("integer") => (bound("minimum").unwrap_or(i64::MIN)
            ..=bound("maximum").unwrap_or(i64::MAX))
            .prop_map(Value::from)
            .boxed(),
        Some("boolean") => any::<bool>().prop_map(Value::from).boxed(),
        Some("array") => {
            let items = value_for(&schema["items"]);
            proptest::collection::vec(items, count("minItems", 0)..=count("maxItems", 4))
                .prop_map(Value::from)
                .boxed()
        }
        Some("object") => match schema.get("properties").and_then(Value::as_object) {
            Some(properties) => {
                let required: Vec<&str> = schema["required"]
                    .as_array()
                    .expect("required")
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                let parts: Vec<BoxedStrategy<Option<(String, Value)>>> = properties
                    .iter()
                    .map(|(name, property)| {
                        let is_required = required.contains(&name.as_str());
                        let name = name.clone();
                        let value = value_for(property).prop_map(move |v| (name.clone(), v));
                        if is_required {
                            value.prop_map(Some).boxed()
                        } else {
                            proptest::option::of(value).boxed()
                        }
                    })
                    .collect();
                parts
                    .prop_map(|entries| {
                        Value::Object(entries.into_iter().flatten().collect::<Map<_, _>>())
                    })
                    .boxed()
            }
            None => {
                let scalar = prop_oneof![
                    any::<i64>().prop_map(Value::from),
                    "\\PC{0,8}".prop_map(Value::from),
                    any::<bool>().prop_map(Value::from)
                ];
                proptest::collection::btree_map("[a-z]{1,6}", scalar, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect()))
                    .boxed()
            }
        },
        other => panic!("unexpected schema type {other:?} in {schema}"),
    }
}

fn agrees<A: Action + serde::Serialize + PartialEq + std::fmt::Debug>(
    value: Value,
) -> Result<(), TestCaseError> {
    let validator = jsonschema::draft7::new(A::input_schema()).expect("schema compiles");
    prop_assert!(
        validator.is_valid(&value),
        "generator produced an invalid value: {value}"
    );
    let decoded = A::decode(value.clone())
        .map_err(|e| TestCaseError::fail(format!("decode refused {value}: {e}")))?;
    let plain: A = serde_json::from_value(value.clone())
        .map_err(|e| TestCaseError::fail(format!("serde refused {value}: {e}")))?;
    prop_assert_eq!(&plain, &decoded);
    let serialised = to_input(&decoded);
    prop_assert!(
        validator.is_valid(&serialised),
        "serialised value does not validate: {serialised}"
    );
    let again = A::decode(serialised).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(again, decoded);
    Ok(())
}

fn refuses_unknown<A: Action>(mut value: Value, key: &str) -> Result<(), TestCaseError> {
    let key = format!("zz_{key}");
    value
        .as_object_mut()
        .expect("object")
        .insert(key.clone(), Value::Bool(true));
    let err = A::decode(value)
        .err()
        .ok_or_else(|| TestCaseError::fail("unknown field accepted"))?;
    prop_assert_eq!(err.field(), format!("/{key}"));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn send_email_agrees(value in value_for(SendEmail::input_schema()), key in "[a-z]{1,5}") {
        agrees::<SendEmail>(value.clone())?;
        refuses_unknown::<SendEmail>(value, &key)?;
    }

    #[test]
    fn notify_agrees(value in value_for(Notify::input_schema()), key in "[a-z]{1,5}") {
        agrees::<Notify>(value.clone())?;
        refuses_unknown::<Notify>(value, &key)?;
    }

    #[test]
    fn counters_agree(value in value_for(Counters::input_schema()), key in "[a-z]{1,5}") {
        agrees::<Counters>(value.clone())?;
        refuses_unknown::<Counters>(value, &key)?;
    }
}
