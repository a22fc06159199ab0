//! The flagship example reproduces the platform's documented reference schemas byte for byte.

use actionkit::Action;
use serde_json::Value;

use crate::fixtures::SendEmail;

/// The reference input schema, verbatim from the platform documentation.
const REFERENCE_INPUT_SCHEMA: &str = r##"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "audience_id": {"type": "string", "title": "Audience", "description": "Select a mailing list"},
    "segment_id": {"type": "string", "title": "Segment", "description": "Target a specific segment within the audience (optional)"},
    "template_id": {"type": "string", "title": "Email Template", "description": "Select an email template to use"},
    "template_variables": {"type": "object", "title": "Template Variables", "description": "Fill in the merge fields for your selected template"},
    "message": {"type": "string", "title": "Message", "description": "Custom message body to include in the email"}
  },
  "required": ["audience_id", "template_id"],
  "additionalProperties": false
}"##;

/// The reference UI schema, verbatim from the platform documentation.
const REFERENCE_UI_SCHEMA: &str = r##"{
  "type": "VerticalLayout",
  "elements": [
    {
      "type": "Control",
      "scope": "#/properties/audience_id",
      "options": { "format": "dynamic_select" }
    },
    {
      "type": "Control",
      "scope": "#/properties/segment_id",
      "options": { "format": "dynamic_select" }
    },
    {
      "type": "Control",
      "scope": "#/properties/template_id",
      "options": { "format": "dynamic_select" }
    },
    {
      "type": "Control",
      "scope": "#/properties/template_variables",
      "options": { "format": "dynamic_schema" }
    },
    {
      "type": "Control",
      "scope": "#/properties/message",
      "options": { "multi": true, "template": true }
    }
  ]
}"##;

/// Re-serialises the reference in one canonical layout, keeping its key order, so the
/// comparison is of bytes (key order included), not of whitespace.
fn canonical(reference: &str) -> String {
    let value: Value = serde_json::from_str(reference).expect("reference is JSON");
    serde_json::to_string_pretty(&value).expect("JSON")
}

#[test]
fn input_schema_is_the_reference_byte_for_byte() {
    let ours = serde_json::to_string_pretty(SendEmail::input_schema()).expect("JSON");
    assert_eq!(ours, canonical(REFERENCE_INPUT_SCHEMA));
}

#[test]
fn ui_schema_is_the_reference_byte_for_byte() {
    let ours = serde_json::to_string_pretty(SendEmail::ui_schema()).expect("JSON");
    assert_eq!(ours, canonical(REFERENCE_UI_SCHEMA));
}
