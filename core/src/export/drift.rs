//! What a change to an input schema does to configurations saved against the old one:
//! [`classify`] compares two JSON Schemas (draft-07, as the derive writes them) and lists each
//! change, breaking or compatible, at its JSON pointer in the schema.
//!
//! A change is **compatible** when every value the old schema accepted is still accepted: an
//! optional field added, a constraint relaxed, an enum widened, a type widened, an annotation
//! (`title`, `description`, `default`, …) changed. It is **breaking** otherwise: a field removed
//! or renamed, a type changed, a new required field, a constraint narrowed or added, an enum
//! value removed, `additionalProperties` tightened. A keyword this module does not know is
//! breaking when it changes, since nothing proves otherwise.
//!
//! ```
//! use actionkit_core::export::drift::classify;
//! use serde_json::json;
//!
//! let old = json!({"type": "object", "properties": {
//!     "audience": {"type": "string", "maxLength": 40},
//!     "segment": {"type": "string"}
//! }, "required": ["audience"]});
//! let new = json!({"type": "object", "properties": {
//!     "audience": {"type": "string", "maxLength": 20},
//!     "note": {"type": "string"}
//! }, "required": ["audience"]});
//! let changes = classify(&old, &new);
//! let lines: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
//! assert_eq!(lines, [
//!     "breaking: /properties/audience/maxLength: narrowed from 40 to 20",
//!     "breaking: /properties/segment: field `segment` removed or renamed",
//!     "compatible: /properties/note: optional field `note` added",
//! ]);
//! assert!(changes.iter().any(|c| c.breaking));
//! ```

use std::fmt;

use serde_json::{Map, Value};

/// One difference between two input schemas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaChange {
    /// Where, as a JSON pointer into the schema (`/properties/audience/maxLength`).
    pub pointer: String,
    /// Whether a value the old schema accepted may now be refused.
    pub breaking: bool,
    /// What changed, in words.
    pub what: String,
}

impl fmt::Display for SchemaChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = if self.breaking {
            "breaking"
        } else {
            "compatible"
        };
        write!(f, "{class}: {}: {}", self.pointer, self.what)
    }
}

/// Every change from `old` to `new`, breaking ones first, each group in schema order.
pub fn classify(old: &Value, new: &Value) -> Vec<SchemaChange> {
    let mut changes = Changes::default();
    changes.node("", old, new);
    let Changes(mut list) = changes;
    list.sort_by_key(|change| !change.breaking);
    list
}

/// Keywords that only describe: a change to them never refuses a value.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "readOnly",
    "writeOnly",
];

/// Lower bounds: a larger value narrows.
const LOWER: &[&str] = &[
    "minimum",
    "exclusiveMinimum",
    "minLength",
    "minItems",
    "minProperties",
];
/// Upper bounds: a smaller value narrows.
const UPPER: &[&str] = &[
    "maximum",
    "exclusiveMaximum",
    "maxLength",
    "maxItems",
    "maxProperties",
];

#[derive(Default)]
struct Changes(Vec<SchemaChange>);

impl Changes {
    fn push(&mut self, pointer: String, breaking: bool, what: String) {
        self.0.push(SchemaChange {
            pointer,
            breaking,
            what,
        });
    }

    /// Compares one schema node.
    fn node(&mut self, at: &str, old: &Value, new: &Value) {
        let empty = Map::new();
        let (old, new) = match (old, new) {
            (Value::Object(old), Value::Object(new)) => (old, new),
            // `true` / `false` schemas, or something unusual: compare whole.
            _ if old == new => return,
            _ => {
                let breaking = !(new == &Value::Bool(true) || new.as_object() == Some(&empty));
                return self.push(at.to_owned(), breaking, "schema replaced".into());
            }
        };
        self.types(at, old.get("type"), new.get("type"));
        self.enums(at, old.get("enum"), new.get("enum"));
        self.properties(at, old, new);
        if let (Some(old), Some(new)) = (old.get("items"), new.get("items")) {
            self.node(&format!("{at}/items"), old, new);
        }
        let mut seen = std::collections::BTreeSet::new();
        for key in old.keys().chain(new.keys()) {
            if !seen.insert(key.as_str()) {
                continue;
            }
            let (before, after) = (old.get(key), new.get(key));
            if before == after {
                continue;
            }
            let here = format!("{at}/{}", escape(key));
            match key.as_str() {
                "type" | "enum" | "properties" | "required" | "items" => {}
                k if ANNOTATIONS.contains(&k) => {
                    self.push(here, false, format!("`{k}` changed"));
                }
                k if LOWER.contains(&k) || UPPER.contains(&k) => {
                    self.bound(here, LOWER.contains(&k), before, after);
                }
                "additionalProperties" => {
                    let open = |v: Option<&Value>| v.is_none_or(|v| v != &Value::Bool(false));
                    match (open(before), open(after)) {
                        (true, false) => {
                            self.push(here, true, "tightened: unknown keys are now refused".into())
                        }
                        (false, true) => {
                            self.push(here, false, "relaxed: unknown keys are now accepted".into())
                        }
                        _ => self.push(here, true, "changed".into()),
                    }
                }
                k => match (before, after) {
                    (Some(_), None) => self.push(here, false, format!("`{k}` removed")),
                    (None, Some(_)) => self.push(here, true, format!("`{k}` added")),
                    _ => self.push(here, true, format!("`{k}` changed")),
                },
            }
        }
    }

    fn types(&mut self, at: &str, old: Option<&Value>, new: Option<&Value>) {
        let (Some(old_set), Some(new_set)) = (type_set(old), type_set(new)) else {
            match (old, new) {
                (Some(_), None) => {
                    self.push(format!("{at}/type"), false, "widened to any type".into())
                }
                (None, Some(new)) => self.push(
                    format!("{at}/type"),
                    true,
                    format!("narrowed to {}", describe(new)),
                ),
                _ => {}
            }
            return;
        };
        if old_set == new_set {
            return;
        }
        let accepts = |set: &[String], ty: &str| {
            set.iter()
                .any(|t| t == ty || (t == "number" && ty == "integer"))
        };
        let breaking = !old_set.iter().all(|ty| accepts(&new_set, ty));
        let what = if breaking {
            format!(
                "type changed from {} to {}",
                describe(old.unwrap_or(&Value::Null)),
                describe(new.unwrap_or(&Value::Null))
            )
        } else {
            format!(
                "type widened from {} to {}",
                describe(old.unwrap_or(&Value::Null)),
                describe(new.unwrap_or(&Value::Null))
            )
        };
        self.push(format!("{at}/type"), breaking, what);
    }

    fn enums(&mut self, at: &str, old: Option<&Value>, new: Option<&Value>) {
        let here = format!("{at}/enum");
        match (old.and_then(Value::as_array), new.and_then(Value::as_array)) {
            (Some(old), Some(new)) => {
                for value in old.iter().filter(|v| !new.contains(v)) {
                    self.push(here.clone(), true, format!("value {value} removed"));
                }
                for value in new.iter().filter(|v| !old.contains(v)) {
                    self.push(here.clone(), false, format!("value {value} added"));
                }
            }
            (Some(_), None) => self.push(here, false, "enum removed: any value accepted".into()),
            (None, Some(new)) => self.push(
                here,
                true,
                format!("values restricted to {}", Value::Array(new.clone())),
            ),
            (None, None) => {}
        }
    }

    fn properties(&mut self, at: &str, old: &Map<String, Value>, new: &Map<String, Value>) {
        let empty = Map::new();
        let props = |schema: &Map<String, Value>| -> Map<String, Value> {
            schema
                .get("properties")
                .and_then(Value::as_object)
                .unwrap_or(&empty)
                .clone()
        };
        let required = |schema: &Map<String, Value>| -> Vec<String> {
            schema
                .get("required")
                .and_then(Value::as_array)
                .map(|names| {
                    names
                        .iter()
                        .filter_map(|n| n.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (old_props, new_props) = (props(old), props(new));
        let (old_required, new_required) = (required(old), required(new));
        for (name, old_schema) in &old_props {
            let here = format!("{at}/properties/{}", escape(name));
            match new_props.get(name) {
                None => self.push(here, true, format!("field `{name}` removed or renamed")),
                Some(new_schema) => self.node(&here, old_schema, new_schema),
            }
        }
        for name in new_props.keys().filter(|n| !old_props.contains_key(*n)) {
            let here = format!("{at}/properties/{}", escape(name));
            if new_required.contains(name) {
                self.push(here, true, format!("new required field `{name}`"));
            } else {
                self.push(here, false, format!("optional field `{name}` added"));
            }
        }
        for name in &new_required {
            if !old_required.contains(name) && old_props.contains_key(name) {
                self.push(
                    format!("{at}/required"),
                    true,
                    format!("field `{name}` is now required"),
                );
            }
        }
        for name in &old_required {
            if !new_required.contains(name) && new_props.contains_key(name) {
                self.push(
                    format!("{at}/required"),
                    false,
                    format!("field `{name}` is now optional"),
                );
            }
        }
    }

    fn bound(&mut self, here: String, lower: bool, before: Option<&Value>, after: Option<&Value>) {
        let number = |v: Option<&Value>| v.and_then(Value::as_f64);
        match (number(before), number(after)) {
            (Some(b), Some(a)) => {
                let narrowed = if lower { a > b } else { a < b };
                let (b, a) = (
                    before.unwrap_or(&Value::Null),
                    after.unwrap_or(&Value::Null),
                );
                if narrowed {
                    self.push(here, true, format!("narrowed from {b} to {a}"));
                } else {
                    self.push(here, false, format!("relaxed from {b} to {a}"));
                }
            }
            (None, Some(_)) => {
                let a = after.unwrap_or(&Value::Null);
                self.push(here, true, format!("added ({a})"));
            }
            (Some(_), None) => self.push(here, false, "removed".into()),
            (None, None) => self.push(here, true, "changed".into()),
        }
    }
}

/// The types a `type` keyword names (`None`: absent or not a string or list).
fn type_set(value: Option<&Value>) -> Option<Vec<String>> {
    match value? {
        Value::String(ty) => Some(vec![ty.clone()]),
        Value::Array(types) => Some(
            types
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => None,
    }
}

fn describe(ty: &Value) -> String {
    match ty {
        Value::String(ty) => format!("`{ty}`"),
        other => format!("`{other}`"),
    }
}

/// A property name as a JSON pointer token.
fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn lines(old: Value, new: Value) -> Vec<String> {
        classify(&old, &new)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn identical_schemas_have_no_changes() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        assert!(classify(&schema, &schema).is_empty());
    }

    #[test]
    fn compatible_changes_are_recognised() {
        let old = json!({"type": "object", "properties": {
            "a": {"type": "string", "maxLength": 10, "title": "A", "enum": ["x", "y"]},
            "n": {"type": "integer", "minimum": 5},
            "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}}
        }, "required": ["a", "n"], "additionalProperties": false});
        let new = json!({"type": "object", "properties": {
            "a": {"type": "string", "maxLength": 20, "title": "Letter", "enum": ["x", "y", "z"]},
            "n": {"type": "number"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "note": {"type": "string"}
        }, "required": ["a"]});
        assert_eq!(
            lines(old, new),
            [
                "compatible: /properties/a/enum: value \"z\" added",
                "compatible: /properties/a/maxLength: relaxed from 10 to 20",
                "compatible: /properties/a/title: `title` changed",
                "compatible: /properties/n/type: type widened from `integer` to `number`",
                "compatible: /properties/n/minimum: removed",
                "compatible: /properties/tags/items/pattern: `pattern` removed",
                "compatible: /properties/note: optional field `note` added",
                "compatible: /required: field `n` is now optional",
                "compatible: /additionalProperties: relaxed: unknown keys are now accepted",
            ]
        );
    }

    #[test]
    fn breaking_changes_are_recognised() {
        let old = json!({"type": "object", "properties": {
            "a": {"type": "string", "enum": ["x", "y"]},
            "b": {"type": "string"},
            "n": {"type": ["integer", "null"]},
            "s": {"type": "string"},
            "o": {"type": "object", "properties": {"deep": {"type": "boolean"}}}
        }, "required": ["a"]});
        let new = json!({"type": "object", "properties": {
            "a": {"type": "string", "enum": ["x"]},
            "n": {"type": "integer", "maximum": 9},
            "s": {"type": "string", "format": "email", "minLength": 1},
            "o": {"type": "object", "properties": {"deep": {"type": "string"}}},
            "must": {"type": "string"}
        }, "required": ["a", "s", "must"], "additionalProperties": false});
        assert_eq!(
            lines(old, new),
            [
                "breaking: /properties/a/enum: value \"y\" removed",
                "breaking: /properties/b: field `b` removed or renamed",
                "breaking: /properties/n/type: type changed from `[\"integer\",\"null\"]` to `integer`",
                "breaking: /properties/n/maximum: added (9)",
                "breaking: /properties/s/format: `format` added",
                "breaking: /properties/s/minLength: added (1)",
                "breaking: /properties/o/properties/deep/type: type changed from `boolean` to `string`",
                "breaking: /properties/must: new required field `must`",
                "breaking: /required: field `s` is now required",
                "breaking: /additionalProperties: tightened: unknown keys are now refused",
            ]
        );
    }

    #[test]
    fn pointers_escape_property_names() {
        let old = json!({"properties": {"a/b": {"type": "string"}, "c~d": {}}});
        let new = json!({"properties": {"c~d": {"type": "string"}}});
        assert_eq!(
            lines(old, new),
            [
                "breaking: /properties/a~1b: field `a/b` removed or renamed",
                "breaking: /properties/c~0d/type: narrowed to `string`",
            ]
        );
    }
}
