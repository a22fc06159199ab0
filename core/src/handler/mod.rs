//! Handlers are plain `async fn`s. As in axum, [`Handler`] is implemented for every function
//! whose arguments are extractors ([`Context`], [`State`]) followed by the action's input, and
//! whose future is `Send` and resolves to a `Result<T, E>` with `T: Serialize` and
//! `E: Into<ActionError>`.
//!
//! ```
//! use actionkit_core::{ActionError, Context, State};
//! # #[derive(Clone)] struct Mailer;
//! # struct SendEmail;
//! // Any of these is an execute handler for `SendEmail` with state `Mailer`:
//! async fn plain(input: SendEmail) -> Result<(), ActionError> { Ok(()) }
//! async fn with_context(ctx: Context, input: SendEmail) -> Result<String, ActionError> { Ok(ctx.request_id().into()) }
//! async fn with_state(ctx: Context, State(mail): State<Mailer>, input: SendEmail) -> Result<u32, ActionError> { Ok(1) }
//! ```

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

use crate::context::Context;
use crate::error::ActionError;
use crate::runtime::Output;

/// A boxed, `Send` future, as handlers return once erased.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a handler resolves to, erased: the output serialised to JSON text, or a classified
/// failure.
pub type HandlerResult = Result<Output, ActionError>;

/// A handler output saying the action had nothing to do, and why. epilot answers it as
/// `{"skip_reason": …}`; elsewhere it is an ordinary output.
///
/// ```
/// use actionkit_core::handler::Skipped;
/// let skipped = Skipped::because("the contact has no email address");
/// assert_eq!(serde_json::to_value(&skipped).unwrap(), serde_json::json!({"skip_reason": "the contact has no email address"}));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Why nothing was done.
    pub skip_reason: String,
}

impl Skipped {
    /// Skipped for this reason.
    pub fn because(reason: impl Into<String>) -> Self {
        Skipped {
            skip_reason: reason.into(),
        }
    }
}

/// Shared application state, extracted by type like axum's `State`.
///
/// ```
/// use actionkit_core::{FromRef, State};
/// #[derive(Clone)] struct Mailer;
/// #[derive(Clone)] struct AppState { mailer: Mailer }
/// impl FromRef<AppState> for Mailer {
///     fn from_ref(app: &AppState) -> Self { app.mailer.clone() }
/// }
/// async fn handler(State(mail): State<Mailer>) {}
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct State<T>(pub T);

/// Takes a part of the application state: implement it to let handlers extract `State<Part>`
/// from an app whose state is `T`. Every `Clone` type is a part of itself.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be taken from the state `{T}`",
    label = "needs `{Self}: FromRef<{T}>`",
    note = "implement `FromRef<{T}>` for `{Self}` to take it out of the app's state; for a handler that takes `State<{Self}>`, declare `#[action(state = {Self})]` (and `#[debug_handler(state = {Self})]`)"
)]
pub trait FromRef<T> {
    /// Clones the part out of the whole.
    fn from_ref(input: &T) -> Self;
}

impl<T: Clone> FromRef<T> for T {
    fn from_ref(input: &T) -> Self {
        input.clone()
    }
}

/// An argument a handler can ask for besides its input.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument",
    label = "not an extractor",
    note = "handler arguments are `Context`, `State<T>` (where `T: FromRef<{S}>`), and last the action's input"
)]
pub trait FromContext<S>: Sized {
    /// Builds the argument for one call.
    fn from_context(ctx: &Context, state: &S) -> Self;
}

impl<S> FromContext<S> for Context {
    fn from_context(ctx: &Context, _: &S) -> Self {
        ctx.clone()
    }
}

impl<S, T: FromRef<S>> FromContext<S> for State<T> {
    fn from_context(_: &Context, state: &S) -> Self {
        State(T::from_ref(state))
    }
}

/// What a handler may return: `Result<T, E>` with a serialisable `T` and an `E` that converts
/// into [`ActionError`].
#[diagnostic::on_unimplemented(
    message = "a handler must return `Result<T, E>` with `T: Serialize` and `E: Into<ActionError>`; it returns `{Self}`",
    label = "wrong return type",
    note = "classify failures explicitly: `ActionError::permanent(..)` (4xx) or `ActionError::transient(..)` (5xx)"
)]
pub trait IntoOutcome: Send {
    /// Serialises the output or passes the failure on.
    fn into_outcome(self) -> HandlerResult;
}

impl<T: Serialize + Send, E: Into<ActionError> + Send> IntoOutcome for Result<T, E> {
    fn into_outcome(self) -> HandlerResult {
        match self {
            Ok(output) => Output::new(&output).map_err(|e| {
                ActionError::transient("the handler's output could not be serialised")
                    .with_source(e)
            }),
            Err(err) => Err(err.into()),
        }
    }
}

/// A function usable as the execute handler of input `A` with state `S`; `T` is the tuple of
/// its argument types. See the module docs for the accepted shapes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an execute handler for `{A}` with state `{S}`",
    label = "not a valid handler",
    note = "an execute handler is an `async fn` taking extractors (`Context`, `State<T>`) and then `{A}` last, returning `Result<T, E>` with `T: Serialize`, `E: Into<ActionError>`, and a `Send` future",
    note = "put `#[actionkit::debug_handler]` on the function for an error at the offending argument"
)]
pub trait Handler<T, S, A>: Clone + Send + Sync + 'static {
    /// Calls the handler.
    fn call(self, ctx: Context, state: S, input: A) -> BoxFuture<HandlerResult>;
}

macro_rules! impl_handler {
    ($($ty:ident),*) => {
        #[diagnostic::do_not_recommend]
        impl<F, Fut, R, S, A, $($ty,)*> Handler<($($ty,)* A,), S, A> for F
        where
            F: FnOnce($($ty,)* A) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoOutcome,
            S: Send + 'static,
            A: Send + 'static,
            $($ty: FromContext<S> + Send + 'static,)*
        {
            #[allow(non_snake_case, unused_variables)]
            fn call(self, ctx: Context, state: S, input: A) -> BoxFuture<HandlerResult> {
                $(let $ty = $ty::from_context(&ctx, &state);)*
                Box::pin(async move { self($($ty,)* input).await.into_outcome() })
            }
        }
    };
}

impl_handler!();
impl_handler!(T1);
impl_handler!(T1, T2);
impl_handler!(T1, T2, T3);
impl_handler!(T1, T2, T3, T4);
impl_handler!(T1, T2, T3, T4, T5);

/// Calls `handler` with `state` as a concrete type, which is how generated code invokes the
/// function named in `#[action(execute = ...)]`.
#[doc(hidden)]
pub fn call_handler<S, A, T, H: Handler<T, S, A>>(
    handler: H,
    ctx: Context,
    state: S,
    input: A,
) -> BoxFuture<HandlerResult> {
    handler.call(ctx, state, input)
}

/// An action an app with state `S` can serve: its execute handler and, when it has any, its
/// form state (provider glue or a whole-form handler). Implemented by `#[derive(Action)]` when
/// the struct names `#[action(execute = f)]`, for every `S` from which the handler's state
/// (`#[action(state = T)]`, default `()`) can be taken with [`FromRef`]. One trait for both, so
/// an action costs one generic impl, instantiated only where an app serves it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no execute handler that can run with state `{S}`",
    label = "not executable here",
    note = "name the handler with `#[action(execute = my_handler)]`; if it takes `State<T>`, add `#[action(state = T)]` and make sure `T: FromRef<{S}>`"
)]
pub trait Executable<S>: crate::Action {
    /// Whether the action has form state (providers, conditional fields or a whole-form
    /// handler).
    const HAS_FORM_STATE: bool = false;

    /// The action's own form-state budget (`#[action(form_state_budget_ms = …)]`), `None` for
    /// the app's.
    const FORM_STATE_BUDGET: Option<std::time::Duration> = None;

    /// Runs the handler on a decoded input.
    fn execute(ctx: Context, state: &S, input: Self) -> BoxFuture<HandlerResult>;

    /// Answers one form-state request by the context's deadline, or `None` when the action has
    /// no form state.
    #[doc(hidden)]
    fn form_state(
        state: &S,
        request: crate::form_state::FormStateRequest,
        memo: &crate::form_state::MemoScope,
        ctx: Context,
    ) -> Option<crate::__private::FormFuture> {
        let _ = (state, request, memo, ctx);
        None
    }
}
