//! Assembling draft-07 object schemas from [`FieldSpec`]s.

use serde_json::{Map, Value};

use super::{DRAFT_07, FieldSpec};

/// The schema of an object with these fields: `type`, `properties` in declaration order,
/// `required` (always present, in declaration order) and `additionalProperties: false`.
///
/// Each property starts with `type`, then `title` and `description`, then the rest of the type's
/// own schema (for example `enum` or `minimum: 0`), then the field's keywords, which override the
/// type's own bounds.
///
/// ```
/// use actionkit_core::schema::{FieldSpec, object_schema};
/// let schema = object_schema(&[FieldSpec::new::<Option<u8>>("retries", "Retries")]);
/// assert_eq!(
///     serde_json::Value::Object(schema),
///     serde_json::json!({
///         "type": "object",
///         "properties": {"retries": {"type": "integer", "title": "Retries", "minimum": 0, "maximum": 255}},
///         "required": [],
///         "additionalProperties": false
///     })
/// );
/// ```
pub fn object_schema(fields: &[FieldSpec]) -> Map<String, Value> {
    let properties = fields
        .iter()
        .map(|f| (f.name.to_owned(), Value::Object(property(f))))
        .collect();
    let required = fields
        .iter()
        .filter(|f| f.required)
        .map(|f| Value::from(f.name))
        .collect();
    let mut schema = Map::new();
    schema.insert("type".into(), "object".into());
    schema.insert("properties".into(), Value::Object(properties));
    schema.insert("required".into(), Value::Array(required));
    schema.insert("additionalProperties".into(), false.into());
    schema
}

/// A complete input schema: [`object_schema`] with `$schema` set to draft-07 first.
///
/// ```
/// use actionkit_core::schema::{FieldSpec, input_schema};
/// let schema = input_schema(&[FieldSpec::new::<String>("audience_id", "Audience")]);
/// assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
/// assert_eq!(schema["required"], serde_json::json!(["audience_id"]));
/// ```
pub fn input_schema(fields: &[FieldSpec]) -> Value {
    let mut schema = Map::new();
    schema.insert("$schema".into(), DRAFT_07.into());
    schema.extend(object_schema(fields));
    Value::Object(schema)
}

fn property(field: &FieldSpec) -> Map<String, Value> {
    let mut own = (field.schema)();
    let mut out = Map::new();
    if let Some(ty) = own.shift_remove("type") {
        out.insert("type".into(), ty);
    }
    out.insert("title".into(), field.title.into());
    if let Some(description) = field.description {
        out.insert("description".into(), description.into());
    }
    out.extend(own);
    for keyword in field.keywords {
        out.insert(keyword.name().into(), keyword.value());
    }
    out
}
