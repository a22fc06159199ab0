//! What a provider may look like: an `async fn` taking, optionally, a [`Context`] first, then
//! its other arguments (`State<T>`, the dependencies), called through one trait so both shapes
//! compile from the same generated glue.

use std::future::Future;

use crate::context::Context;

/// Marks a provider that takes a [`Context`] first.
#[doc(hidden)]
#[derive(Debug)]
pub enum WithContext {}

/// Marks a provider without a [`Context`].
#[doc(hidden)]
#[derive(Debug)]
pub enum WithoutContext {}

/// A form-state provider called with `Args` (`State<T>` when the action declares a state, then
/// the dependencies in `depends_on` order), optionally preceded by the call's [`Context`].
/// Implemented for every `async fn` of either shape; generated glue calls it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not take the arguments of this field's provider",
    label = "expected `[Context,] [State<T>,]` then one reference per `depends_on` field",
    note = "a provider takes `Context` first (optional), then `State<T>` when the action declares `#[action(state = T)]`, then its `depends_on` fields in order as references (`&str` for a `String`), and returns `Result<Options, FieldError>` or `Result<Schema, FieldError>`"
)]
pub trait Provider<M, Args> {
    /// The provider's future.
    type Future: Future;

    /// Calls the provider.
    fn call(self, ctx: Context, args: Args) -> Self::Future;
}

macro_rules! providers {
    ($($arg:ident),*) => {
        #[diagnostic::do_not_recommend]
        impl<F, Fut, $($arg,)*> Provider<WithoutContext, ($($arg,)*)> for F
        where
            F: FnOnce($($arg),*) -> Fut,
            Fut: Future,
        {
            type Future = Fut;

            #[allow(non_snake_case)]
            fn call(self, _ctx: Context, ($($arg,)*): ($($arg,)*)) -> Fut {
                self($($arg),*)
            }
        }

        #[diagnostic::do_not_recommend]
        impl<F, Fut, $($arg,)*> Provider<WithContext, ($($arg,)*)> for F
        where
            F: FnOnce(Context, $($arg),*) -> Fut,
            Fut: Future,
        {
            type Future = Fut;

            #[allow(non_snake_case)]
            fn call(self, ctx: Context, ($($arg,)*): ($($arg,)*)) -> Fut {
                self(ctx, $($arg),*)
            }
        }
    };
}

providers!();
providers!(A1);
providers!(A1, A2);
providers!(A1, A2, A3);
providers!(A1, A2, A3, A4);
providers!(A1, A2, A3, A4, A5);
providers!(A1, A2, A3, A4, A5, A6);
providers!(A1, A2, A3, A4, A5, A6, A7);
providers!(A1, A2, A3, A4, A5, A6, A7, A8);
providers!(A1, A2, A3, A4, A5, A6, A7, A8, A9);
providers!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10);
providers!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11);
providers!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12);
