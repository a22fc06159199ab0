//! The JSONForms UI schema: one `Control` per field, in declaration order, with the options the
//! platforms understand, grouped into `Group`s and `HorizontalLayout`s where fields ask for it.

use serde_json::{Map, Value, json};

use crate::schema::FieldSpec;

/// How one field is shown: the `#[field(...)]` UI attributes.
///
/// ```
/// use actionkit_core::ui::{UiFormat, UiSpec};
/// let spec = UiSpec { format: Some(UiFormat::DynamicSelect), ..UiSpec::DEFAULT };
/// assert!(spec.is_dynamic());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UiSpec {
    /// `label` override on the control (the schema's `title` is shown otherwise).
    pub label: Option<&'static str>,
    /// `options.format`: a dropdown or a sub-schema computed by form state.
    pub format: Option<UiFormat>,
    /// `options.multi`: a multi-line text area.
    pub multi: bool,
    /// `options.template`: the value may reference workflow data.
    pub template: bool,
    /// The label of the `Group` this field belongs to.
    pub group: Option<&'static str>,
    /// The name of the `HorizontalLayout` row this field belongs to.
    pub row: Option<&'static str>,
}

impl UiSpec {
    /// A plain control.
    pub const DEFAULT: UiSpec = UiSpec {
        label: None,
        format: None,
        multi: false,
        template: false,
        group: None,
        row: None,
    };

    /// Whether form state computes this field's options or schema.
    pub fn is_dynamic(&self) -> bool {
        self.format.is_some()
    }
}

impl Default for UiSpec {
    fn default() -> Self {
        UiSpec::DEFAULT
    }
}

/// A `format` option whose content comes from form state.
///
/// ```
/// assert_eq!(actionkit_core::ui::UiFormat::DynamicSchema.as_str(), "dynamic_schema");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UiFormat {
    /// `"format": "dynamic_select"`: a dropdown whose options form state computes.
    DynamicSelect,
    /// `"format": "dynamic_schema"`: an object whose schema form state computes.
    DynamicSchema,
}

impl UiFormat {
    /// The value of `options.format`.
    pub fn as_str(&self) -> &'static str {
        match self {
            UiFormat::DynamicSelect => "dynamic_select",
            UiFormat::DynamicSchema => "dynamic_schema",
        }
    }
}

/// The UI schema of an input with these fields: a `VerticalLayout` of controls in declaration
/// order. Fields sharing a `group` are gathered into one `Group` where the first of them stands;
/// fields sharing a `row` (within the same group) into one `HorizontalLayout`.
///
/// ```
/// use actionkit_core::schema::FieldSpec;
/// use actionkit_core::ui::{UiSpec, ui_schema};
/// let fields = [
///     FieldSpec { ui: UiSpec { row: Some("name"), ..UiSpec::DEFAULT }, ..FieldSpec::new::<String>("first", "First") },
///     FieldSpec { ui: UiSpec { row: Some("name"), ..UiSpec::DEFAULT }, ..FieldSpec::new::<String>("last", "Last") },
///     FieldSpec { ui: UiSpec { multi: true, ..UiSpec::DEFAULT }, ..FieldSpec::new::<String>("note", "Note") },
/// ];
/// assert_eq!(ui_schema(&fields), serde_json::json!({
///     "type": "VerticalLayout",
///     "elements": [
///         {"type": "HorizontalLayout", "elements": [
///             {"type": "Control", "scope": "#/properties/first"},
///             {"type": "Control", "scope": "#/properties/last"}
///         ]},
///         {"type": "Control", "scope": "#/properties/note", "options": {"multi": true}}
///     ]
/// }));
/// ```
pub fn ui_schema(fields: &[FieldSpec]) -> Value {
    let mut top: Vec<Node> = Vec::new();
    for field in fields {
        let mut elements = &mut top;
        if let Some(label) = field.ui.group {
            let at = match elements
                .iter()
                .position(|n| matches!(n, Node::Group(l, _) if *l == label))
            {
                Some(at) => at,
                None => {
                    elements.push(Node::Group(label, Vec::new()));
                    elements.len() - 1
                }
            };
            let Node::Group(_, inner) = &mut elements[at] else {
                unreachable!("position found a group")
            };
            elements = inner;
        }
        let control = control(field);
        match field.ui.row {
            Some(row) => match elements
                .iter_mut()
                .find(|n| matches!(n, Node::Row(r, _) if *r == row))
            {
                Some(Node::Row(_, controls)) => controls.push(control),
                _ => elements.push(Node::Row(row, vec![control])),
            },
            None => elements.push(Node::Control(control)),
        }
    }
    json!({"type": "VerticalLayout", "elements": render(top)})
}

enum Node {
    Control(Value),
    Row(&'static str, Vec<Value>),
    Group(&'static str, Vec<Node>),
}

fn render(nodes: Vec<Node>) -> Vec<Value> {
    nodes
        .into_iter()
        .map(|node| match node {
            Node::Control(control) => control,
            Node::Row(_, controls) => json!({"type": "HorizontalLayout", "elements": controls}),
            Node::Group(label, inner) => {
                json!({"type": "Group", "label": label, "elements": render(inner)})
            }
        })
        .collect()
}

fn control(field: &FieldSpec) -> Value {
    let mut control = Map::new();
    control.insert("type".into(), "Control".into());
    control.insert("scope".into(), scope(field.name).into());
    if let Some(label) = field.ui.label {
        control.insert("label".into(), label.into());
    }
    let mut options = Map::new();
    if let Some(format) = field.ui.format {
        options.insert("format".into(), format.as_str().into());
    }
    if field.ui.multi {
        options.insert("multi".into(), true.into());
    }
    if field.ui.template {
        options.insert("template".into(), true.into());
    }
    if !options.is_empty() {
        control.insert("options".into(), Value::Object(options));
    }
    Value::Object(control)
}

/// The JSONForms scope of a property: `#/properties/<name>`, escaped as a JSON pointer.
///
/// ```
/// assert_eq!(actionkit_core::ui::scope("a/b"), "#/properties/a~1b");
/// ```
pub fn scope(name: &str) -> String {
    format!(
        "#/properties/{}",
        name.replace('~', "~0").replace('/', "~1")
    )
}
