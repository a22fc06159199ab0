//! Derive macros for [actionkit](https://docs.rs/actionkit). Use them through the `actionkit`
//! crate, which re-exports them next to the traits they implement.
//!
//! The pipeline follows serde_derive: `attr` parses attributes into typed structs, `ast` builds
//! the model, `check` finds every user error (accumulated, spanned at the offending token), and
//! `expand` generates code, falling back to minimal impls on error so one mistake is one message.

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
mod handler;
mod symbol;
mod ty;

use proc_macro::TokenStream;

/// Derives [`Action`](../actionkit/trait.Action.html) (and `InputType` and
/// `schemars::JsonSchema`) for an action's input struct, and generates its `<Action>Field` type,
/// its execute glue (`#[action(execute = f)]`) and, when it has form state, its
/// `<Action>Values` and `<Action>Config` types and its form-state dispatch (providers,
/// conditional fields or `#[action(form_state = f)]`). Everything it reads and emits is below.
///
#[doc = include_str!("../docs/attributes.md")]
#[proc_macro_derive(Action, attributes(action, field))]
pub fn derive_action(input: TokenStream) -> TokenStream {
    expand::derive(input.into(), ast::Derive::Action).into()
}

/// Derives `InputType` (and `schemars::JsonSchema`) for a nested object struct or a unit enum
/// used as an action input field.
///
/// A struct becomes a nested `object` property (`additionalProperties: false`, its own
/// `required`); its fields take the schema keywords of `#[field(...)]` (`title`,
/// `description`, `default`, `min_length`/`max_length`, `pattern`, `format`,
/// `minimum`/`maximum`, `min_items`/`max_items`), not the UI or form-state ones, and serde's
/// `rename`, `rename_all`, `default` and `skip`. A unit enum becomes
/// `{"type": "string", "enum": [...]}` with serde's variant names. Each key, its syntax and its
/// errors: the attribute reference in the docs of [`derive(Action)`](derive.Action.html).
///
/// ```
/// use actionkit::InputType;
/// #[derive(InputType, serde::Deserialize)]
/// #[serde(rename_all = "lowercase")]
/// enum Frequency { Daily, Weekly }
///
/// assert_eq!(serde_json::Value::Object(Frequency::schema()),
///            serde_json::json!({"type": "string", "enum": ["daily", "weekly"]}));
/// ```
#[proc_macro_derive(InputType, attributes(field))]
pub fn derive_input_type(input: TokenStream) -> TokenStream {
    expand::derive(input.into(), ast::Derive::InputType).into()
}

/// Checks an execute handler argument by argument, like axum's `#[debug_handler]`: a wrong
/// argument, a misplaced input, a wrong return type or a future that is not `Send` is reported
/// at the offending token. Give the handler's state type when it takes `State<T>`.
///
/// ```
/// use actionkit::{Action, ActionError, Context, State, debug_handler};
/// #[derive(Action, serde::Deserialize)]
/// #[action(id = "ping", execute = ping, state = Counter)]
/// struct Ping {}
///
/// #[derive(Clone)]
/// struct Counter;
///
/// #[debug_handler(state = Counter)]
/// async fn ping(ctx: Context, State(_counter): State<Counter>, input: Ping) -> Result<(), ActionError> {
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn debug_handler(args: TokenStream, item: TokenStream) -> TokenStream {
    handler::expand(args.into(), item.into()).into()
}
