//! Typed conditional fields: `#[field(visible_when(plan = "pro"))]` and
//! `#[field(enabled_when(notify = true))]`, as the derive records them ([`Condition`]).
//!
//! Every form-state answer carries `hidden` or `disabled` for each field whose condition does not
//! hold (with `options: []` and `schema: {}` for a field that is not dynamic), and a change to
//! the field a condition reads clears the value of a field it hides. On execute, a value for a
//! field whose condition does not hold is dropped before the input is validated, so a stale
//! hidden value never reaches the handler.
//!
//! ```
//! use actionkit_core::form_state::conditions::{Condition, Effect, apply};
//! use actionkit_core::form_state::FormStateResponse;
//! use actionkit_core::schema::Literal;
//! use serde_json::json;
//!
//! static CONDITIONS: [Condition; 1] = [Condition {
//!     field: "seats",
//!     effect: Effect::Visible,
//!     on: "plan",
//!     values: &[Literal::Str("pro"), Literal::Str("team")],
//! }];
//! let mut answer = FormStateResponse {
//!     values: json!({"plan": "free", "seats": 5}).as_object().unwrap().clone(),
//!     config: Default::default(),
//! };
//! apply(&CONDITIONS, Some("plan"), &mut answer);
//! assert_eq!(answer.config["seats"], json!({"options": [], "schema": {}, "hidden": true}));
//! assert_eq!(answer.values["seats"], json!(null), "hidden by the change: cleared");
//! ```

use serde_json::{Map, Value};

use super::{FieldConfig, FormStateResponse};
use crate::schema::Literal;

/// When a field is shown or editable.
#[derive(Clone, Copy, Debug)]
pub struct Condition {
    /// The field it applies to (its serde name).
    pub field: &'static str,
    /// What a condition that does not hold does to it.
    pub effect: Effect,
    /// The field whose value decides (its serde name).
    pub on: &'static str,
    /// The values of `on` under which the condition holds.
    pub values: &'static [Literal],
}

/// What a [`Condition`] governs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// `visible_when`: not holding, the field is `hidden`.
    Visible,
    /// `enabled_when`: not holding, the field is `disabled`.
    Enabled,
}

impl Condition {
    /// Whether the condition holds for `values` (an absent or `null` value matches nothing).
    pub fn holds(&self, values: &Map<String, Value>) -> bool {
        values.get(self.on).is_some_and(|value| {
            self.values
                .iter()
                .any(|literal| literal_matches(literal, value))
        })
    }
}

fn literal_matches(literal: &Literal, value: &Value) -> bool {
    match (literal, value) {
        (Literal::Str(s), Value::String(v)) => s == v,
        (Literal::Int(n), Value::Number(v)) => v.as_i64() == Some(*n),
        (Literal::Bool(b), Value::Bool(v)) => b == v,
        _ => false,
    }
}

/// Marks the fields whose conditions do not hold in `answer` (`hidden` / `disabled`, adding an
/// entry with `options: []` and `schema: {}` where there is none), and, when `changed` is the
/// field a condition reads, clears the value of the field it now hides.
pub fn apply(conditions: &[Condition], changed: Option<&str>, answer: &mut FormStateResponse) {
    for condition in conditions {
        if condition.holds(&answer.values) {
            continue;
        }
        let entry = answer.config.entry(condition.field).or_insert_with(|| {
            serde_json::to_value(FieldConfig::default()).expect("a config entry serialises")
        });
        if let Value::Object(entry) = entry {
            let key = match condition.effect {
                Effect::Visible => "hidden",
                Effect::Enabled => "disabled",
            };
            entry.insert(key.to_owned(), Value::Bool(true));
        }
        if condition.effect == Effect::Visible
            && changed == Some(condition.on)
            && let Some(value) = answer.values.get_mut(condition.field)
        {
            *value = Value::Null;
        }
    }
}

/// Drops from an execute input the values of fields whose conditions do not hold (evaluated on
/// the input as sent), before it is validated. Returns whether anything was dropped.
pub fn strip(conditions: &[Condition], input: &mut Value) -> bool {
    let Value::Object(values) = input else {
        return false;
    };
    let failing: Vec<&'static str> = conditions
        .iter()
        .filter(|condition| !condition.holds(values))
        .map(|condition| condition.field)
        .collect();
    let mut dropped = false;
    for field in failing {
        dropped |= values.remove(field).is_some();
    }
    dropped
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    static CONDITIONS: [Condition; 2] = [
        Condition {
            field: "seats",
            effect: Effect::Visible,
            on: "plan",
            values: &[Literal::Str("pro")],
        },
        Condition {
            field: "reminder",
            effect: Effect::Enabled,
            on: "notify",
            values: &[Literal::Bool(true)],
        },
    ];

    fn answer(values: Value, config: Value) -> FormStateResponse {
        FormStateResponse {
            values: values.as_object().unwrap().clone(),
            config: config.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn conditions_hold_on_matching_values_only() {
        let values = |v: Value| v.as_object().unwrap().clone();
        assert!(CONDITIONS[0].holds(&values(json!({"plan": "pro"}))));
        assert!(!CONDITIONS[0].holds(&values(json!({"plan": "free"}))));
        assert!(!CONDITIONS[0].holds(&values(json!({"plan": null}))));
        assert!(!CONDITIONS[0].holds(&values(json!({}))));
        assert!(CONDITIONS[1].holds(&values(json!({"notify": true}))));
        assert!(!CONDITIONS[1].holds(&values(json!({"notify": "true"}))));
        let ints = Condition {
            field: "x",
            effect: Effect::Visible,
            on: "n",
            values: &[Literal::Int(2), Literal::Int(3)],
        };
        assert!(ints.holds(&values(json!({"n": 3}))));
        assert!(!ints.holds(&values(json!({"n": 3.5}))));
    }

    #[test]
    fn answers_mark_fields_and_keep_existing_entries() {
        let mut a = answer(
            json!({"plan": "free", "seats": 3, "notify": false}),
            json!({"reminder": {"options": [{"value": "d", "label": "Daily"}], "schema": {}}}),
        );
        apply(&CONDITIONS, None, &mut a);
        assert_eq!(
            Value::Object(a.config),
            json!({
                "reminder": {"options": [{"value": "d", "label": "Daily"}], "schema": {}, "disabled": true},
                "seats": {"options": [], "schema": {}, "hidden": true},
            })
        );
        assert_eq!(a.values["seats"], 3, "not the changed field: kept");
        let mut a = answer(json!({"plan": "pro", "notify": true}), json!({}));
        apply(&CONDITIONS, Some("plan"), &mut a);
        assert!(a.config.is_empty(), "everything holds: nothing marked");
    }

    #[test]
    fn execute_drops_values_whose_conditions_fail() {
        let mut input = json!({"plan": "free", "seats": "many", "notify": true, "reminder": "d"});
        assert!(strip(&CONDITIONS, &mut input));
        assert_eq!(
            input,
            json!({"plan": "free", "notify": true, "reminder": "d"})
        );
        assert!(!strip(&CONDITIONS, &mut input), "nothing more to drop");
    }
}
