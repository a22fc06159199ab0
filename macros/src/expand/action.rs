//! `impl Action` (and `InputType`, `JsonSchema`, `Executable`) for an action's input struct.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::fields::{assertions, null_is_absent, option_str, specs};
use super::input_type::json_schema;
use super::{deserialize_assertion, deserialize_bound};
use crate::ast::Container;

pub fn expand(cont: &Container) -> TokenStream {
    let ident = cont.ident;
    let id = &cont.id;
    let name = &cont.name;
    let description = option_str(cont.description.as_deref());
    let specs = specs(cont);
    let count = specs.len();
    let de = deserialize_bound(cont);
    let assert_de = deserialize_assertion(cont);
    let assertions = assertions(cont);
    let json_schema = json_schema(cont);
    let executable = executable(cont);
    let form_dispatch = super::form::dispatch(cont);
    let null_is_absent = null_is_absent(cont);
    let p = quote!(__actionkit_p);
    quote! {
        #[automatically_derived]
        impl ::actionkit::Action for #ident where #de {
            const ID: &'static str = #id;
            const NAME: &'static str = #name;
            const DESCRIPTION: ::core::option::Option<&'static str> = #description;

            fn fields() -> &'static [#p::FieldSpec] {
                static FIELDS: [#p::FieldSpec; #count] = [#(#specs),*];
                &FIELDS
            }

            fn model() -> &'static #p::ActionModel {
                static MODEL: #p::ModelCell = #p::ModelCell::new();
                MODEL.get(<Self as ::actionkit::Action>::fields())
            }
        }

        #[automatically_derived]
        impl #p::InputType for #ident where #de {
            const NULL_IS_ABSENT: bool = #null_is_absent;
            fn schema() -> #p::JsonMap {
                #p::object_schema(<Self as ::actionkit::Action>::fields())
            }
        }

        #json_schema

        #executable

        #form_dispatch

        #assert_de

        #assertions
    }
}

/// `impl Executable<S>` calling the function named by `execute = ...`, for every app state `S`
/// the handler's state can be taken from. The handler is called from a helper whose generic
/// parameter does not take part in the call (so the impl's `FromRef<S>` bound cannot steer
/// inference), spanned at the path, so a function that is not a handler is reported there;
/// being generic, the glue is instantiated where an app serves the action, not in every crate
/// that declares one.
fn executable(cont: &Container) -> TokenStream {
    let Some(execute) = &cont.attrs.execute else {
        return TokenStream::new();
    };
    let ident = cont.ident;
    let path = &execute.value;
    let state_ty = match &cont.attrs.state {
        Some(state) => {
            let ty = &state.value;
            quote!(#ty)
        }
        None => quote!(()),
    };
    let de = deserialize_bound(cont);
    let p = quote!(__actionkit_p);
    let call = quote_spanned!(path.span()=> #p::call_handler::<#state_ty, #ident, _, _>(#path, ctx, state, input));
    let (bound, take) = match &cont.attrs.state {
        Some(_) => (
            quote!(#state_ty: #p::FromRef<__S>,),
            quote!(<#state_ty as #p::FromRef<__S>>::from_ref(state)),
        ),
        None => (quote!(), quote!(())),
    };
    quote! {
        fn __actionkit_execute<__S>(
            ctx: #p::Context,
            state: #state_ty,
            input: #ident,
        ) -> #p::BoxFuture<#p::HandlerResult>
        where
            #de
        {
            #call
        }

        #[automatically_derived]
        impl<__S> ::actionkit::Executable<__S> for #ident
        where
            #bound
            __S: ::core::marker::Send + ::core::marker::Sync + 'static,
            #de
        {
            fn execute(
                ctx: #p::Context,
                state: &__S,
                input: Self,
            ) -> #p::BoxFuture<#p::HandlerResult> {
                __actionkit_execute::<__S>(ctx, #take, input)
            }
        }
    }
}
