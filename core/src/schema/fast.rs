//! The fast path of input decoding: one pass over the JSON text that decides whether the slow
//! path ([`InputValidator::decode`](super::InputValidator::decode)) would certainly accept it,
//! and computes the input's canonical hash on the way, without building a [`Value`].
//!
//! # Why it can never change an answer
//! The checker only ever answers [`Verdict::Valid`] or [`Verdict::Unsure`]. `Valid` is a promise
//! that normalising and validating the parsed value would succeed; everything the checker cannot
//! decide with certainty (any keyword violation, a type mismatch, an unknown or repeated key, a
//! float where an integer is expected, even `3.0`, a `null` that is not an optional property's)
//! is `Unsure`, and an `Unsure` input takes the slow path, which produces every error. A schema
//! with any keyword the checker does not model compiles to no checker at all
//! ([`FastChecker::new`] returns `None`), so such inputs always take the slow path.
//!
//! `pattern` and `format` are checked by a `jsonschema` validator compiled (once) for just
//! those two keywords of the property, with the options of the full validator, so they mean
//! exactly what they mean on the slow path; only such strings are copied into a [`Value`].

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::runtime::{Canonical, MemberStart};
use crate::store::InputHash;

/// What the checker concluded about one JSON text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The slow path certainly accepts the text's value (normalisation and schema validation
    /// succeed; deserialising into the Rust type may still fail, as on the slow path).
    Valid {
        /// `input_hash` of the parsed value.
        hash: InputHash,
        /// Whether an optional property was `null`, which the slow path removes before
        /// deserialising (so a type that tells `null` from absent must see the stripped value).
        dropped_nulls: bool,
    },
    /// Not certain: ask the slow path (which may well accept it).
    Unsure,
}

/// A compiled input schema for [`FastChecker::check`]: built once per schema.
pub(crate) struct FastChecker {
    root: Node,
}

impl fmt::Debug for FastChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FastChecker").finish_non_exhaustive()
    }
}

enum Node {
    /// Any JSON value (inside free-form objects; `input_hash_json`).
    Any,
    Boolean,
    Integer {
        minimum: Option<i128>,
        maximum: Option<i128>,
    },
    String(Box<StringNode>),
    Array {
        items: Box<Node>,
        min_items: u64,
        max_items: Option<u64>,
    },
    /// `{"type": "object"}`: an object holding anything.
    FreeObject,
    Object(Box<ObjectNode>),
}

struct StringNode {
    options: Option<Vec<String>>,
    min_length: u64,
    max_length: Option<u64>,
    /// `pattern` and `format`, as a `jsonschema` validator of their own.
    matcher: Option<jsonschema::Validator>,
}

struct ObjectNode {
    properties: Vec<Property>,
    required: usize,
    /// Whether the slow path strips `null` from this object's optional properties: only on
    /// objects reached from the root through `properties` (as `strip_optional_nulls` walks).
    strips_nulls: bool,
}

struct Property {
    name: String,
    node: Node,
    required: bool,
}

impl ObjectNode {
    fn find(&self, name: &str) -> Option<usize> {
        self.properties.iter().position(|p| p.name == name)
    }
}

static ANY: Node = Node::Any;

/// Keywords that never affect validation.
fn is_annotation(keyword: &str) -> bool {
    matches!(
        keyword,
        "title" | "description" | "default" | "examples" | "$comment"
    )
}

impl FastChecker {
    /// Compiles `schema`, or `None` when it holds anything the checker does not model exactly
    /// (then every input takes the slow path).
    pub(crate) fn new(schema: &Value) -> Option<Self> {
        let root = compile(schema, true, true)?;
        match root {
            Node::Object(_) | Node::FreeObject => Some(FastChecker { root }),
            _ => None,
        }
    }

    /// Walks `text` once: `Valid` (with the canonical hash) only when the slow path certainly
    /// accepts it.
    pub(crate) fn check(&self, text: &str) -> Verdict {
        match walk(&self.root, text) {
            Some((hash, dropped_nulls)) => Verdict::Valid {
                hash,
                dropped_nulls,
            },
            None => Verdict::Unsure,
        }
    }
}

/// `input_hash` of `text` in one pass; `None` when it is not JSON or repeats a key.
pub(crate) fn canonical_hash(text: &str) -> Option<InputHash> {
    walk(&ANY, text).map(|(hash, _)| hash)
}

fn walk(root: &Node, text: &str) -> Option<(InputHash, bool)> {
    let mut cx = Cx {
        out: Canonical::new(),
        dropped_nulls: false,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = ValueSeed {
        cx: &mut cx,
        node: root,
        nullable: false,
    };
    seed.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some((cx.out.finish(), cx.dropped_nulls))
}

fn compile(schema: &Value, root: bool, strips_nulls: bool) -> Option<Node> {
    let schema = schema.as_object()?;
    let ty = schema.get("type")?.as_str()?;
    let allowed: &[&str] = match ty {
        "boolean" => &[],
        "integer" => &["minimum", "maximum"],
        "string" => &["enum", "minLength", "maxLength", "pattern", "format"],
        "array" => &["items", "minItems", "maxItems"],
        "object" => &["properties", "required", "additionalProperties"],
        _ => return None,
    };
    for keyword in schema.keys() {
        let known = keyword == "type"
            || is_annotation(keyword)
            || (root && keyword == "$schema")
            || allowed.contains(&keyword.as_str());
        if !known {
            return None;
        }
    }
    let count = |name: &str| match schema.get(name) {
        None => Some(None),
        Some(v) => v.as_u64().map(Some),
    };
    let limit = |name: &str| match schema.get(name) {
        None => Some(None),
        Some(v) => v
            .as_i64()
            .map(i128::from)
            .or_else(|| v.as_u64().map(i128::from))
            .map(Some),
    };
    Some(match ty {
        "boolean" => Node::Boolean,
        "integer" => Node::Integer {
            minimum: limit("minimum")?,
            maximum: limit("maximum")?,
        },
        "string" => {
            let options = match schema.get("enum") {
                None => None,
                Some(options) => Some(
                    options
                        .as_array()?
                        .iter()
                        .map(|o| o.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()?,
                ),
            };
            let mut keywords = Map::new();
            for name in ["pattern", "format"] {
                if let Some(v) = schema.get(name) {
                    keywords.insert(name.into(), v.clone());
                }
            }
            let matcher = if keywords.is_empty() {
                None
            } else {
                // The same options as `InputValidator::new`.
                Some(
                    jsonschema::draft7::options()
                        .should_validate_formats(true)
                        .build(&Value::Object(keywords))
                        .ok()?,
                )
            };
            Node::String(Box::new(StringNode {
                options,
                min_length: count("minLength")?.unwrap_or(0),
                max_length: count("maxLength")?,
                matcher,
            }))
        }
        "array" => Node::Array {
            items: Box::new(match schema.get("items") {
                None => Node::Any,
                // Array items are never normalised by the slow path.
                Some(items) => compile(items, false, false)?,
            }),
            min_items: count("minItems")?.unwrap_or(0),
            max_items: count("maxItems")?,
        },
        _ => {
            let closed = match schema.get("additionalProperties") {
                None | Some(Value::Bool(true)) => false,
                Some(Value::Bool(false)) => true,
                Some(_) => return None,
            };
            let properties = match schema.get("properties") {
                None => None,
                Some(p) => Some(p.as_object()?),
            };
            let required: Vec<&str> = match schema.get("required") {
                None => Vec::new(),
                Some(r) => r
                    .as_array()?
                    .iter()
                    .map(Value::as_str)
                    .collect::<Option<_>>()?,
            };
            if !closed {
                // Free-form: only `{"type": "object"}` (with annotations), where anything goes.
                if properties.is_some_and(|p| !p.is_empty()) || !required.is_empty() {
                    return None;
                }
                return Some(Node::FreeObject);
            }
            let empty = Map::new();
            let properties = properties.unwrap_or(&empty);
            for (i, name) in required.iter().enumerate() {
                if !properties.contains_key(*name) || required[..i].contains(name) {
                    return None;
                }
            }
            let properties = properties
                .iter()
                .map(|(name, schema)| {
                    Some(Property {
                        name: name.clone(),
                        node: compile(schema, false, strips_nulls)?,
                        required: required.contains(&name.as_str()),
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            Node::Object(Box::new(ObjectNode {
                properties,
                required: required.len(),
                strips_nulls,
            }))
        }
    })
}

/// The state of one walk: the canonical writer, and whether a `null` was dropped.
struct Cx {
    out: Canonical,
    dropped_nulls: bool,
}

/// The error every uncertainty aborts the walk with (the message is never shown).
fn unsure<T, E: de::Error>() -> Result<T, E> {
    Err(E::custom("unsure"))
}

/// Checks and writes one value against `node`; yields whether it was `null`.
struct ValueSeed<'a, 'c> {
    cx: &'a mut Cx,
    node: &'c Node,
    /// A `null` here is an optional property's, which the slow path strips.
    nullable: bool,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        if !matches!(self.node, Node::Any | Node::Boolean) {
            return unsure();
        }
        self.cx.out.raw(if v { b"true" } else { b"false" });
        Ok(false)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.integer(i128::from(v), Number::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.integer(i128::from(v), Number::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        // A float is never certain for an integer node (`3.0` passes the schema, fails serde).
        match (self.node, Number::from_f64(v)) {
            (Node::Any, Some(n)) => {
                self.cx.out.number(&n);
                Ok(false)
            }
            _ => unsure(),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match self.node {
            Node::Any => {}
            Node::String(node) if node.admits(v) => {}
            _ => return unsure(),
        }
        self.cx.out.string(v);
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        match self.node {
            Node::Any => self.cx.out.raw(b"null"),
            _ if self.nullable => self.cx.dropped_nulls = true,
            _ => return unsure(),
        }
        Ok(true)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let (items, min_items, max_items) = match self.node {
            Node::Any => (&ANY, 0, None),
            Node::Array {
                items,
                min_items,
                max_items,
            } => (&**items, *min_items, *max_items),
            _ => return unsure(),
        };
        self.cx.out.raw(b"[");
        let mut count: u64 = 0;
        loop {
            let seed = ItemSeed {
                value: ValueSeed {
                    cx: &mut *self.cx,
                    node: items,
                    nullable: false,
                },
                comma: count > 0,
            };
            if seq.next_element_seed(seed)?.is_none() {
                break;
            }
            count += 1;
            if max_items.is_some_and(|max| count > max) {
                return unsure();
            }
        }
        self.cx.out.raw(b"]");
        if count < min_items {
            return unsure();
        }
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let object = match self.node {
            Node::Any | Node::FreeObject => None,
            Node::Object(object) => Some(&**object),
            _ => return unsure(),
        };
        self.cx.out.open_object();
        let mut required = 0;
        while let Some((start, index)) = map.next_key_seed(KeySeed {
            cx: &mut *self.cx,
            object,
        })? {
            let (node, nullable, counts) = match (object, index) {
                (Some(object), Some(i)) => {
                    let property = &object.properties[i];
                    (
                        &property.node,
                        object.strips_nulls && !property.required,
                        property.required,
                    )
                }
                _ => (&ANY, false, false),
            };
            let is_null = map.next_value_seed(ValueSeed {
                cx: &mut *self.cx,
                node,
                nullable,
            })?;
            if counts && !is_null {
                required += 1;
            }
            self.cx.out.end_member(start, is_null);
        }
        if !self.cx.out.close_object() {
            return unsure();
        }
        if object.is_some_and(|o| required != o.required) {
            return unsure();
        }
        Ok(false)
    }
}

/// An array item: the `,` before it is written only once the item is known to exist.
struct ItemSeed<'a, 'c> {
    value: ValueSeed<'a, 'c>,
    comma: bool,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_, '_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        if self.comma {
            self.value.cx.out.raw(b",");
        }
        self.value.deserialize(deserializer)
    }
}

impl ValueSeed<'_, '_> {
    fn integer<E: de::Error>(self, v: i128, n: Number) -> Result<bool, E> {
        match self.node {
            Node::Any => {}
            Node::Integer { minimum, maximum }
                if minimum.is_none_or(|min| v >= min) && maximum.is_none_or(|max| v <= max) => {}
            _ => return unsure(),
        }
        self.cx.out.number(&n);
        Ok(false)
    }
}

impl StringNode {
    fn admits(&self, s: &str) -> bool {
        if let Some(options) = &self.options
            && !options.iter().any(|o| o == s)
        {
            return false;
        }
        if self.min_length > 0 || self.max_length.is_some() {
            // Code points, as jsonschema counts them.
            let length = s.chars().count() as u64;
            if length < self.min_length || self.max_length.is_some_and(|max| length > max) {
                return false;
            }
        }
        match &self.matcher {
            Some(matcher) => matcher.is_valid(&Value::String(s.to_owned())),
            None => true,
        }
    }
}

/// Reads a member's key, starts the member in the writer, and finds its property.
struct KeySeed<'a, 'c> {
    cx: &'a mut Cx,
    object: Option<&'c ObjectNode>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = (MemberStart, Option<usize>);

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_> {
    type Value = (MemberStart, Option<usize>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let index = match self.object {
            None => None,
            // `additionalProperties: false`: an unknown key is an error of the slow path's.
            Some(object) => Some(object.find(v).ok_or_else(|| E::custom("unsure"))?),
        };
        Ok((self.cx.out.key(v), index))
    }
}

#[cfg(test)]
mod tests {
    //! Each keyword at its boundary: `Valid` on the accepted side, `Unsure` just past it. Every
    //! `Valid` is cross-checked against the slow path (accepted, same hash).

    use serde_json::{Value, json};

    use super::{FastChecker, Verdict};
    use crate::runtime::input_hash;
    use crate::schema::{DRAFT_07, InputValidator};

    fn schema(property: Value, required: bool) -> Value {
        json!({
            "$schema": DRAFT_07,
            "type": "object",
            "properties": {"x": property, "other": {"type": "boolean", "title": "Other"}},
            "required": if required { json!(["x"]) } else { json!([]) },
            "additionalProperties": false,
        })
    }

    /// The verdict for `text` against a property `x` of schema `property`, cross-checked.
    fn verdict(property: Value, required: bool, text: &str) -> Verdict {
        let schema = schema(property, required);
        let checker = FastChecker::new(&schema).expect("the schema is modelled");
        let verdict = checker.check(text);
        if let Verdict::Valid { hash, .. } = verdict {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(hash, input_hash(&value), "{text}");
            let slow = InputValidator::new(schema).decode::<Value>(value);
            assert!(slow.is_ok(), "{text}: {slow:?}");
        }
        verdict
    }

    fn valid(property: Value, text: &str) -> bool {
        matches!(verdict(property, true, text), Verdict::Valid { .. })
    }

    #[track_caller]
    fn assert_valid(property: &Value, values: &[&str]) {
        for v in values {
            assert!(valid(property.clone(), &format!(r#"{{"x": {v}}}"#)), "{v}");
        }
    }

    #[track_caller]
    fn assert_unsure(property: &Value, values: &[&str]) {
        for v in values {
            assert!(!valid(property.clone(), &format!(r#"{{"x": {v}}}"#)), "{v}");
        }
    }

    #[test]
    fn string_length_counts_code_points() {
        let p = json!({"type": "string", "title": "X", "minLength": 2, "maxLength": 3});
        assert_valid(
            &p,
            &[
                r#""ab""#,
                r#""abc""#,
                r#""é😀""#,
                r#""\u00e9\ud83d\ude00a""#,
            ],
        );
        assert_unsure(
            &p,
            &[r#""a""#, r#""abcd""#, r#""éé😀😀""#, r#""""#, "12", "null"],
        );
    }

    #[test]
    fn string_enum() {
        let p = json!({"type": "string", "enum": ["daily", "weekly"]});
        assert_valid(&p, &[r#""daily""#, r#""weekly""#, r#""d\u0061ily""#]);
        assert_unsure(&p, &[r#""Daily""#, r#""""#, "1", "true", r#"["daily"]"#]);
    }

    #[test]
    fn string_pattern_and_format() {
        let p = json!({"type": "string", "pattern": "^[a-z]+$"});
        assert_valid(&p, &[r#""abc""#, r#""\u0061""#]);
        assert_unsure(&p, &[r#""ab1""#, r#""""#, r#""ABC""#]);
        let p = json!({"type": "string", "format": "date", "description": "When"});
        assert_valid(&p, &[r#""2024-01-31""#]);
        assert_unsure(&p, &[r#""2024-13-01""#, r#""yesterday""#]);
    }

    #[test]
    fn integer_bounds() {
        let p = json!({"type": "integer", "minimum": -3, "maximum": 7, "default": 1});
        // `-0` is the float `-0.0` to serde_json: not certain for an integer.
        assert_valid(&p, &["-3", "7", "0"]);
        assert_unsure(
            &p,
            &[
                "-0", "-4", "8", "3.0", "1e0", "0.5", r#""3""#, "null", "true",
            ],
        );
        let p = json!({"type": "integer", "minimum": 0});
        assert_valid(&p, &["0", "18446744073709551615"]);
        assert_unsure(&p, &["-1", "18446744073709551616", "-9223372036854775809"]);
        let p = json!({"type": "integer"});
        assert_valid(&p, &["-9223372036854775808", "18446744073709551615"]);
        let p = json!({"type": "integer", "maximum": i64::MAX});
        assert_valid(&p, &["9223372036854775807"]);
        assert_unsure(&p, &["9223372036854775808"]);
    }

    #[test]
    fn boolean() {
        let p = json!({"type": "boolean"});
        assert_valid(&p, &["true", "false"]);
        assert_unsure(&p, &[r#""true""#, "0", "null", "{}"]);
    }

    #[test]
    fn array_items_and_bounds() {
        let p = json!({"type": "array", "items": {"type": "integer", "maximum": 9}, "minItems": 1, "maxItems": 2});
        assert_valid(&p, &["[1]", "[1, 9]", "[ 0 ,1 ]"]);
        assert_unsure(
            &p,
            &[
                "[]",
                "[1,2,3]",
                "[1,null]",
                r#"[1,"a"]"#,
                "[10]",
                "[1.0]",
                "{}",
            ],
        );
        let p = json!({"type": "array", "items": {"type": "string", "enum": ["a"]}});
        assert_valid(&p, &["[]", r#"["a","a"]"#]);
        assert_unsure(&p, &[r#"["b"]"#]);
    }

    #[test]
    fn free_form_object() {
        let p = json!({"type": "object", "title": "Extra"});
        assert_valid(
            &p,
            &[
                "{}",
                r#"{"a": null, "b": {"c": [1, null, 2.5, -0.0, 1e300, "\u0000\"\\/"]}, "": {}}"#,
                r#"{"a": {"a": {"a": null}}, "b": [{"z": 1, "y": null}]}"#,
            ],
        );
        assert_unsure(
            &p,
            &[
                "[]",
                "null",
                r#"{"a": 1, "a": 1}"#,
                r#"{"a": {"b": null, "b": 2}}"#,
                r#"{"a":null,"\u0061":null}"#,
            ],
        );
    }

    #[test]
    fn properties_required_and_nulls() {
        let p = json!({"type": "string"});
        let unknown = verdict(p.clone(), true, r#"{"x": "a", "y": 1}"#);
        assert_eq!(unknown, Verdict::Unsure);
        assert_eq!(verdict(p.clone(), true, r#"{}"#), Verdict::Unsure);
        assert_eq!(verdict(p.clone(), true, r#"{"x": null}"#), Verdict::Unsure);
        assert_eq!(
            verdict(p.clone(), true, r#"{"x": "a", "x": "a"}"#),
            Verdict::Unsure
        );
        assert_eq!(
            verdict(p.clone(), false, r#"{"x": null, "x": "a"}"#),
            Verdict::Unsure
        );
        assert_eq!(verdict(p.clone(), true, r#"{"x": "a"} 1"#), Verdict::Unsure);
        assert_eq!(verdict(p.clone(), true, r#"["x"]"#), Verdict::Unsure);
        assert!(matches!(
            verdict(p.clone(), false, r#"{}"#),
            Verdict::Valid {
                dropped_nulls: false,
                ..
            }
        ));
        assert!(matches!(
            verdict(p.clone(), false, r#"{"x": null, "other": null}"#),
            Verdict::Valid {
                dropped_nulls: true,
                ..
            }
        ));
        assert!(matches!(
            verdict(p, true, r#" { "other" : true , "x" : "a" } "#),
            Verdict::Valid {
                dropped_nulls: false,
                ..
            }
        ));
    }

    /// Optional `null`s are dropped in nested objects reached through `properties` (as the
    /// slow path strips them), and `null` on a nested required property is refused.
    #[test]
    fn nested_objects() {
        let p = json!({
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
            "required": ["a"],
            "additionalProperties": false,
        });
        assert_valid(
            &p,
            &[
                r#"{"a": "x"}"#,
                r#"{"b": null, "a": "x"}"#,
                r#"{"b": 1, "a": "x"}"#,
            ],
        );
        assert_unsure(
            &p,
            &[
                r#"{"a": null}"#,
                r#"{"b": 1}"#,
                r#"{"a": "x", "c": 1}"#,
                "{}",
                "[]",
            ],
        );
    }

    #[test]
    fn unmodelled_schemas_disable_the_fast_path() {
        for property in [
            json!({"type": "number"}),
            json!({"type": ["string", "null"]}),
            json!({"type": "integer", "exclusiveMinimum": 0}),
            json!({"type": "integer", "minimum": 0.5}),
            json!({"type": "string", "minLength": 1.5}),
            json!({"type": "string", "const": "a"}),
            json!({"type": "string", "enum": ["a", 1]}),
            json!({"type": "integer", "format": "int64"}),
            json!({"type": "array", "items": [{"type": "string"}]}),
            json!({"type": "array", "items": {"type": "string"}, "uniqueItems": true}),
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
            json!({"type": "object", "properties": {"a": {"type": "string"}}}),
            json!({"type": "object", "properties": {}, "required": ["a"], "additionalProperties": false}),
            json!({"type": "string", "$schema": DRAFT_07}),
            json!({"$ref": "#"}),
            json!({"oneOf": [{"type": "string"}]}),
            json!({"type": "string", "x-ui": 1}),
            json!(true),
        ] {
            assert!(
                FastChecker::new(&schema(property.clone(), true)).is_none(),
                "{property}"
            );
        }
        assert!(FastChecker::new(&json!({"type": "string"})).is_none());
        assert!(FastChecker::new(&json!({"type": "object"})).is_some());
    }
}
