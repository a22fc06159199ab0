//! [`Action`]: what `#[derive(Action)]` implements for an action's input struct.

use std::fmt;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::schema::{FieldSpec, InputError, InputType, InputValidator, input_schema};
use crate::ui::ui_schema;

/// An action: its identity, its input schema and UI schema, and how to decode its input.
///
/// Implemented by `#[derive(Action)]` on the input struct; the schemas are built once, on first
/// use, and cached for the life of the process.
///
/// ```
/// use actionkit::Action;
/// use serde::Deserialize;
///
/// /// Post a message to a channel.
/// #[derive(Action, Deserialize, Debug)]
/// #[action(id = "post_message")]
/// struct PostMessage {
///     /// Where to post
///     #[field(title = "Channel", options = channels)]
///     channel: String,
///     /// What to say
///     #[field(multi, template, max_length = 2000)]
///     text: Option<String>,
/// }
///
/// async fn channels() -> Result<actionkit::form_state::Options, actionkit::form_state::FieldError> {
///     Ok([actionkit::form_state::Choice::new("general", "#general")].into_iter().collect())
/// }
///
/// assert_eq!(PostMessage::ID, "post_message");
/// assert_eq!(PostMessage::NAME, "Post message");
/// assert_eq!(PostMessage::DESCRIPTION, Some("Post a message to a channel."));
/// assert_eq!(PostMessage::input_schema()["required"], serde_json::json!(["channel"]));
/// assert_eq!(PostMessage::ui_schema()["elements"][0]["options"]["format"], "dynamic_select");
///
/// let input = PostMessage::decode(serde_json::json!({"channel": "general", "text": null})).unwrap();
/// assert_eq!(input.channel, "general");
/// let err = PostMessage::decode(serde_json::json!({"channel": 7})).unwrap_err();
/// assert_eq!(err.field(), "/channel");
/// ```
/// A permission an action asks of the account it runs in, with the reason shown to whoever
/// installs the app; declared with `#[action(permission(name = "…", purpose = "…"))]`.
///
/// Platforms that list permissions per action write it into their manifest (Stripe: after
/// `workflow_custom_action_run_write` in the entry's `permissions`); the others ignore it.
///
/// ```
/// use actionkit_core::Permission;
///
/// const READ: Permission = Permission {
///     name: "customer_read",
///     purpose: "Reads the customer's email address",
/// };
/// assert_eq!(READ.name, "customer_read");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// The platform's name for it, e.g. `customer_read`.
    pub name: &'static str,
    /// Why the action needs it.
    pub purpose: &'static str,
}

#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an action input",
    label = "not an action",
    note = "derive it with `#[derive(Action)]` and `#[action(id = \"...\")]`; an execute handler takes the input as its last argument"
)]
pub trait Action: InputType + DeserializeOwned + Send + Sync + 'static {
    /// The stable id (`^[a-zA-Z0-9_\-\.]+$`, checked at compile time).
    const ID: &'static str;
    /// The human name shown in the workflow builder.
    const NAME: &'static str;
    /// What the action does (the struct's doc comment unless given).
    const DESCRIPTION: Option<&'static str>;
    /// Permissions the action asks of the account it runs in, besides the one every action
    /// needs (`#[action(permission(name = "…", purpose = "…"))]`); none unless declared.
    const PERMISSIONS: &'static [Permission] = &[];

    /// The input fields and the cached model, in one `static` per action; generated, not meant
    /// to be called directly.
    #[doc(hidden)]
    fn spec() -> &'static ActionSpec;

    /// The input fields, in declaration order.
    fn fields() -> &'static [FieldSpec] {
        Self::spec().fields
    }

    /// The cached schemas and validator; generated, not meant to be called directly.
    #[doc(hidden)]
    fn model() -> &'static ActionModel {
        Self::spec().model()
    }

    /// The input schema (JSON Schema draft-07).
    fn input_schema() -> &'static Value {
        &Self::model().input_schema
    }

    /// The UI schema (JSONForms).
    fn ui_schema() -> &'static Value {
        &Self::model().ui_schema
    }

    /// Decodes untrusted JSON into the input: `null` on an optional field counts as absent, then
    /// the value is validated against [`input_schema`](Action::input_schema) (unknown fields,
    /// types, required fields and keywords), then deserialised with serde.
    ///
    /// # Errors
    /// The first problem found, naming the field by JSON pointer.
    fn decode(value: Value) -> Result<Self, InputError> {
        Self::model().validator.decode(value)
    }

    /// Decodes untrusted JSON text into the input and its canonical hash
    /// ([`input_hash`](crate::runtime::input_hash)); accepts and refuses exactly what
    /// [`decode`](Action::decode) does, with the same errors.
    ///
    /// # Errors
    /// The first problem found, naming the field by JSON pointer.
    #[doc(hidden)]
    fn decode_json(text: &str) -> Result<(Self, crate::store::InputHash), InputError> {
        let model = Self::model();
        model.validator.decode_json_as(text, model.null_is_absent)
    }

    /// Whether the action declares an earlier version (`#[action(previous = T)]`), so that a
    /// refused input is worth trying against [`decode_earlier`](Action::decode_earlier).
    #[doc(hidden)]
    const HAS_EARLIER: bool = false;

    /// A saved input of an earlier version of this action, migrated to this one: the earlier
    /// versions are tried newest first, and the first that accepts `value` is converted forward.
    /// `None` when no earlier version accepts it (or none is declared, the default). Generated
    /// by `#[action(previous = T)]`; the runtime calls it only after [`decode`](Action::decode)
    /// refused the input.
    #[doc(hidden)]
    fn decode_earlier(value: &Value) -> Option<Self> {
        let _ = value;
        None
    }

    /// The fields' `visible_when` / `enabled_when` conditions (none by default).
    #[doc(hidden)]
    fn conditions() -> &'static [crate::form_state::conditions::Condition] {
        &[]
    }

    /// The input schemas of the earlier versions, newest first (empty by default).
    #[doc(hidden)]
    fn earlier_schemas() -> Vec<&'static Value> {
        Vec::new()
    }

    /// Form values saved in an earlier version's shape, migrated to this one's (`None` when the
    /// current schema accepts them, or no earlier version does). Generated by
    /// `#[action(previous = T)]` (which needs `Serialize` to write the values back).
    #[doc(hidden)]
    fn migrate_values(
        values: &serde_json::Map<String, Value>,
    ) -> Option<serde_json::Map<String, Value>> {
        let _ = values;
        None
    }
}

/// [`Action::migrate_values`] for a versioned action: values with a key the current input does
/// not have, which the current schema refuses and an earlier version accepts, migrated and
/// written back with `Serialize`.
#[doc(hidden)]
pub fn migrate_values<A: Action + serde::Serialize>(
    values: &serde_json::Map<String, Value>,
) -> Option<serde_json::Map<String, Value>> {
    // A form being filled in is partial, so "the current schema refuses it" says nothing; only
    // a key the current input does not have marks values saved in an earlier shape (an empty
    // new form is never "migrated" into an earlier version's defaults).
    let current = A::fields();
    if values
        .keys()
        .all(|key| current.iter().any(|field| field.name == key))
    {
        return None;
    }
    let value = Value::Object(values.clone());
    if A::decode(value.clone()).is_ok() {
        return None;
    }
    match serde_json::to_value(A::decode_earlier(&value)?) {
        Ok(Value::Object(migrated)) => Some(migrated),
        _ => None,
    }
}

/// [`Action::decode_earlier`] for an action whose previous version is `P`: `P`'s own schema,
/// then `P`'s earlier versions, converted forward with `Into`.
///
/// ```
/// # use actionkit::Action;
/// #[derive(Action, serde::Deserialize)]
/// #[action(id = "greet", execute = greet)]
/// struct GreetV1 { name: String }
/// # async fn greet(_: GreetV1) -> Result<(), actionkit::ActionError> { Ok(()) }
///
/// #[derive(Action, serde::Deserialize)]
/// #[action(id = "greet", execute = greet2)]
/// struct Greet { first_name: String }
/// # async fn greet2(_: Greet) -> Result<(), actionkit::ActionError> { Ok(()) }
/// impl From<GreetV1> for Greet {
///     fn from(old: GreetV1) -> Self { Greet { first_name: old.name } }
/// }
///
/// let saved = serde_json::json!({"name": "Ada"});
/// let migrated = actionkit_core::__private::decode_earlier::<GreetV1, Greet>(&saved).unwrap();
/// assert_eq!(migrated.first_name, "Ada");
/// assert!(actionkit_core::__private::decode_earlier::<GreetV1, Greet>(&serde_json::json!({})).is_none());
/// ```
#[doc(hidden)]
pub fn decode_earlier<P: Action + Into<A>, A>(value: &Value) -> Option<A> {
    P::decode(value.clone())
        .ok()
        .or_else(|| P::decode_earlier(value))
        .map(Into::into)
}

/// [`Action::earlier_schemas`] for an action whose previous version is `P`.
#[doc(hidden)]
pub fn earlier_schemas<P: Action>() -> Vec<&'static Value> {
    let mut schemas = vec![P::input_schema()];
    schemas.extend(P::earlier_schemas());
    schemas
}

/// Whether two strings are equal, in a `const` (`str`'s `==` is not): an earlier version keeps
/// the action's id, a condition's literal is one of an enum's values.
#[doc(hidden)]
pub const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The schemas of one action, built once from its [`FieldSpec`]s.
#[doc(hidden)]
pub struct ActionModel {
    input_schema: Value,
    ui_schema: Value,
    validator: InputValidator,
    /// Every field reads `null` as absent (see `InputType::NULL_IS_ABSENT`).
    null_is_absent: bool,
}

impl ActionModel {
    /// Builds the schemas and compiles the validator.
    pub fn new(fields: &[FieldSpec]) -> Self {
        let input_schema = input_schema(fields);
        ActionModel {
            ui_schema: ui_schema(fields),
            validator: InputValidator::new(input_schema.clone()),
            input_schema,
            null_is_absent: fields.iter().all(|f| f.null_is_absent),
        }
    }
}

/// An action's field specs and, built on first use, its model: the one `static` generated code
/// keeps per action (a non-generic cell for every action, not a lazy initialiser per action).
#[doc(hidden)]
pub struct ActionSpec {
    fields: &'static [FieldSpec],
    model: OnceLock<ActionModel>,
}

impl ActionSpec {
    /// The spec of an action with these fields.
    pub const fn new(fields: &'static [FieldSpec]) -> Self {
        ActionSpec {
            fields,
            model: OnceLock::new(),
        }
    }

    /// The model, built on the first call.
    pub fn model(&'static self) -> &'static ActionModel {
        self.model.get_or_init(|| ActionModel::new(self.fields))
    }

    /// The input as a nested object's schema (`InputType::schema`).
    pub fn object_schema(&self) -> serde_json::Map<String, Value> {
        crate::schema::object_schema(self.fields)
    }
}

impl fmt::Debug for ActionModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionModel")
            .field("input_schema", &self.input_schema)
            .finish_non_exhaustive()
    }
}
