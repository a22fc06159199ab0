//! Attribute names and vocabularies, one `const` per key.

pub const ACTION: &str = "action";
pub const FIELD: &str = "field";
pub const SERDE: &str = "serde";
pub const DOC: &str = "doc";

// #[action(...)]
pub const ID: &str = "id";
pub const NAME: &str = "name";
pub const DESCRIPTION: &str = "description";
pub const GROUP: &str = "group";
pub const ROW: &str = "row";
pub const LABEL: &str = "label";
pub const FIELDS: &str = "fields";
pub const EXECUTE: &str = "execute";
pub const STATE: &str = "state";
pub const FORM_STATE: &str = "form_state";
pub const FORM_STATE_BUDGET_MS: &str = "form_state_budget_ms";
pub const PREVIOUS: &str = "previous";
pub const PERMISSION: &str = "permission";
pub const PURPOSE: &str = "purpose";
pub const OPTIONS: &str = "options";
pub const SCHEMA: &str = "schema";
pub const DEPENDS_ON: &str = "depends_on";
pub const VISIBLE_WHEN: &str = "visible_when";
pub const ENABLED_WHEN: &str = "enabled_when";

// #[field(...)]
pub const TITLE: &str = "title";
pub const DEFAULT: &str = "default";
pub const MIN_LENGTH: &str = "min_length";
pub const MAX_LENGTH: &str = "max_length";
pub const PATTERN: &str = "pattern";
pub const FORMAT: &str = "format";
pub const MINIMUM: &str = "minimum";
pub const MAXIMUM: &str = "maximum";
pub const MIN_ITEMS: &str = "min_items";
pub const MAX_ITEMS: &str = "max_items";
pub const DYNAMIC_SELECT: &str = "dynamic_select";
pub const DYNAMIC_SCHEMA: &str = "dynamic_schema";
pub const MULTI: &str = "multi";
pub const TEMPLATE: &str = "template";

/// Keys of `#[action(...)]`.
pub const ACTION_KEYS: &[&str] = &[
    ID,
    NAME,
    DESCRIPTION,
    EXECUTE,
    STATE,
    FORM_STATE,
    FORM_STATE_BUDGET_MS,
    GROUP,
    ROW,
    PREVIOUS,
    PERMISSION,
];
/// Keys of `permission(...)` inside `#[action(...)]`.
pub const PERMISSION_KEYS: &[&str] = &[NAME, PURPOSE];
/// Keys of `group(...)` inside `#[action(...)]`.
pub const GROUP_KEYS: &[&str] = &[LABEL, FIELDS];
/// The `format` values JSON Schema draft-07 defines.
pub const FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];
