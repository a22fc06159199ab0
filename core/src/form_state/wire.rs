//! The platform-neutral shape of a form-state call and its answer (snake_case, as Stripe's
//! remote functions send it).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::content::{Choice, Options, Schema};

/// A form-state request: the current values (any subset, possibly stale or ill-typed) and the
/// field that changed (`None` on initial load).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormStateRequest {
    /// The request id, when the platform sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The form's current values.
    #[serde(default)]
    pub values: Map<String, Value>,
    /// The serde name of the field that changed, `null` on initial load.
    #[serde(default)]
    pub changed_field: Option<String>,
}

/// The answer: the values to show (a cleared field is `null`) and one config entry for every
/// dynamic field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FormStateResponse {
    /// Updated values.
    pub values: Map<String, Value>,
    /// One entry per dynamic field.
    pub config: Map<String, Value>,
}

/// One field's config entry on the wire: `options` and `schema` always present.
///
/// ```
/// use actionkit_core::form_state::FieldConfig;
/// let config = FieldConfig { disabled: true, ..FieldConfig::default() };
/// assert_eq!(serde_json::to_value(&config).unwrap(), serde_json::json!({"options": [], "schema": {}, "disabled": true}));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldConfig {
    /// Dropdown entries (`[]` when not a dropdown).
    pub options: Vec<Choice>,
    /// Sub-schema (`{}` when not a dynamic schema).
    pub schema: Map<String, Value>,
    /// Greyed out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Not shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    /// Shown; the workflow can still be saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Shown; the workflow cannot be saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The config of a `dynamic_select` field, as handlers build it.
///
/// ```
/// use actionkit_core::form_state::{Choice, SelectConfig};
/// let slot = SelectConfig::with_options([Choice::new("a", "A")].into_iter().collect());
/// assert_eq!(slot.to_wire().options.len(), 1);
/// assert!(slot.to_wire().schema.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SelectConfig {
    /// The dropdown entries.
    pub options: Options,
    /// Common state: disabled, hidden, warning, error.
    pub state: SlotState,
}

/// The config of a `dynamic_schema` field, as handlers build it.
///
/// ```
/// use actionkit_core::form_state::{Schema, SchemaConfig};
/// let slot = SchemaConfig::with_schema(Schema::object([("name", "string")]));
/// assert!(slot.to_wire().options.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SchemaConfig {
    /// The sub-schema.
    pub schema: Schema,
    /// Common state: disabled, hidden, warning, error.
    pub state: SlotState,
}

/// What every config entry can say besides its content.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlotState {
    /// Greyed out.
    pub disabled: bool,
    /// Not shown.
    pub hidden: bool,
    /// Shown; the workflow can still be saved.
    pub warning: Option<String>,
    /// Shown; the workflow cannot be saved.
    pub error: Option<String>,
}

impl SelectConfig {
    /// A dropdown with these entries.
    pub fn with_options(options: Options) -> Self {
        SelectConfig {
            options,
            state: SlotState::default(),
        }
    }

    /// The wire entry.
    pub fn to_wire(&self) -> FieldConfig {
        self.state.to_wire(self.options.0.clone(), Map::new())
    }
}

impl SchemaConfig {
    /// A sub-form with this schema.
    pub fn with_schema(schema: Schema) -> Self {
        SchemaConfig {
            schema,
            state: SlotState::default(),
        }
    }

    /// The wire entry.
    pub fn to_wire(&self) -> FieldConfig {
        self.state.to_wire(Vec::new(), self.schema.0.clone())
    }
}

impl SlotState {
    fn to_wire(&self, options: Vec<Choice>, schema: Map<String, Value>) -> FieldConfig {
        FieldConfig {
            options,
            schema,
            disabled: self.disabled,
            hidden: self.hidden,
            warning: self.warning.clone(),
            error: self.error.clone(),
        }
    }
}

/// A mutable view of one config slot, whatever its kind; generated config types hand these out
/// by field.
#[derive(Debug)]
pub enum SlotMut<'a> {
    /// A dropdown.
    Select(&'a mut SelectConfig),
    /// A sub-schema.
    Schema(&'a mut SchemaConfig),
}

impl SlotMut<'_> {
    /// The common state of the slot.
    pub fn state(&mut self) -> &mut SlotState {
        match self {
            SlotMut::Select(s) => &mut s.state,
            SlotMut::Schema(s) => &mut s.state,
        }
    }
}
