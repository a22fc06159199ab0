//! `impl Action` (and `InputType`, `JsonSchema`) for an action's input struct.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::fields::{assertions, name_of, specs};
use super::input_type::json_schema;
use crate::ast::Container;
use crate::check::Layout;

pub fn expand(cont: &Container, layout: &Layout) -> TokenStream {
    let ident = cont.ident;
    let id = cont
        .attrs
        .id
        .as_ref()
        .map(|a| a.value.clone())
        .expect("checked: actions have ids");
    let name = cont
        .attrs
        .name
        .as_ref()
        .map_or_else(|| name_of(&ident.to_string()), |a| a.value.clone());
    let description = match cont
        .attrs
        .description
        .as_ref()
        .map(|a| a.value.clone())
        .or_else(|| cont.doc.clone())
    {
        Some(d) => quote!(::core::option::Option::Some(#d)),
        None => quote!(::core::option::Option::None),
    };
    let specs = specs(cont, layout);
    let count = specs.len();
    let assertions = assertions(cont);
    let json_schema = json_schema(cont);
    let executable = executable(cont);
    let form_dispatch = super::form::dispatch(cont);
    let null_is_absent = super::fields::null_is_absent(cont);
    let permissions = cont.attrs.permissions.iter().map(|p| {
        let (name, purpose) = (&p.name.value, &p.purpose.value);
        quote!(::actionkit::Permission { name: #name, purpose: #purpose })
    });
    let (versions, version_checks) = previous(cont, &id);
    quote! {
        #[automatically_derived]
        impl ::actionkit::Action for #ident {
            const ID: &'static str = #id;
            const NAME: &'static str = #name;
            const DESCRIPTION: ::core::option::Option<&'static str> = #description;
            const PERMISSIONS: &'static [::actionkit::Permission] = &[#(#permissions),*];

            fn fields() -> &'static [::actionkit::__private::FieldSpec] {
                static FIELDS: [::actionkit::__private::FieldSpec; #count] = [#(#specs),*];
                &FIELDS
            }

            fn model() -> &'static ::actionkit::__private::ActionModel {
                static MODEL: ::actionkit::__private::OnceLock<::actionkit::__private::ActionModel> =
                    ::actionkit::__private::OnceLock::new();
                MODEL.get_or_init(|| ::actionkit::__private::ActionModel::new(<Self as ::actionkit::Action>::fields()))
            }

            #versions
        }

        #version_checks

        #[automatically_derived]
        impl ::actionkit::__private::InputType for #ident {
            const NULL_IS_ABSENT: bool = #null_is_absent;
            fn schema() -> ::actionkit::__private::serde_json::Map<::std::string::String, ::actionkit::__private::serde_json::Value> {
                ::actionkit::__private::object_schema(<Self as ::actionkit::Action>::fields())
            }
        }

        #json_schema

        #executable

        #form_dispatch

        const _: () = { #(#assertions;)* };
    }
}

/// With `previous = T`: the earlier-version hooks of `impl Action` (decode, schemas, form
/// values), spanned at `T` so that a `T` that is not an action or does not convert into this one
/// (`From<T>`) is one error at the attribute, and the check that `T` keeps this action's id.
fn previous(cont: &Container, id: &str) -> (TokenStream, TokenStream) {
    let Some(previous) = &cont.attrs.previous else {
        return (TokenStream::new(), TokenStream::new());
    };
    let ident = cont.ident;
    let prev = &previous.value;
    let span = previous.span;
    let prev_name = quote!(#prev).to_string().replace(' ', "");
    let same_id = format!(
        "`{prev_name}` is declared as the previous version of `{ident}` but has another action id; \
         an earlier version keeps the id: give it `#[action(id = \"{id}\")]`"
    );
    let hooks = quote_spanned! {span=>
        fn decode_earlier(
            value: &::actionkit::__private::serde_json::Value,
        ) -> ::core::option::Option<Self> {
            ::actionkit::__private::decode_earlier::<#prev, Self>(value)
        }

        fn earlier_schemas() -> ::std::vec::Vec<&'static ::actionkit::__private::serde_json::Value> {
            ::actionkit::__private::earlier_schemas::<#prev>()
        }

        fn migrate_values(
            values: &::actionkit::__private::serde_json::Map<::std::string::String, ::actionkit::__private::serde_json::Value>,
        ) -> ::core::option::Option<::actionkit::__private::serde_json::Map<::std::string::String, ::actionkit::__private::serde_json::Value>> {
            ::actionkit::__private::migrate_values::<Self>(values)
        }
    };
    let checks = quote_spanned! {span=>
        const _: () = {
            ::core::assert!(
                ::actionkit::__private::same_id(<#prev as ::actionkit::Action>::ID, #id),
                #same_id
            );
        };
    };
    (hooks, checks)
}

/// `impl Executable<S>` calling the function named by `execute = ...`, for every app state `S`
/// the handler's state can be taken from. The handler is called from a non-generic helper (so
/// the impl's `FromRef<S>` bound cannot steer inference), spanned at the path, so a function
/// that is not a handler is reported there.
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
    let call = quote_spanned!(path.span()=> ::actionkit::__private::call_handler::<#state_ty, #ident, _, _>(#path, ctx, state, input));
    let (bound, take) = match &cont.attrs.state {
        Some(_) => (
            quote!(#state_ty: ::actionkit::__private::FromRef<__S>,),
            quote!(<#state_ty as ::actionkit::__private::FromRef<__S>>::from_ref(state)),
        ),
        None => (quote!(), quote!(())),
    };
    quote! {
        fn __actionkit_execute(
            ctx: ::actionkit::__private::Context,
            state: #state_ty,
            input: #ident,
        ) -> ::actionkit::__private::BoxFuture<::actionkit::__private::HandlerResult> {
            #call
        }

        #[automatically_derived]
        impl<__S> ::actionkit::Executable<__S> for #ident
        where
            #bound
            __S: ::core::marker::Send + ::core::marker::Sync + 'static,
        {
            fn execute(
                ctx: ::actionkit::__private::Context,
                state: &__S,
                input: Self,
            ) -> ::actionkit::__private::BoxFuture<::actionkit::__private::HandlerResult> {
                __actionkit_execute(ctx, #take, input)
            }
        }
    }
}
