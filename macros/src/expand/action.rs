//! `impl Action` (and `InputType`, `JsonSchema`, `Executable`) for an action's input struct.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::fields::{assertions, option_str, specs};
use super::input_type::json_schema;
use super::{deserialize_assertion, deserialize_bound};
use crate::ast::Container;

pub fn expand(cont: &Container) -> TokenStream {
    let ident = cont.ident;
    let id = &cont.id;
    let name = &cont.name;
    let description = option_str(cont.description.as_deref());
    let specs = specs(cont);
    let de = deserialize_bound(cont);
    let assert_de = deserialize_assertion(cont);
    let assertions = assertions(cont);
    let json_schema = json_schema(cont);
    let executable = executable(cont);
    let p = quote!(__actionkit_p);
    let permissions = cont.attrs.permissions.iter().map(|perm| {
        let (name, purpose) = (&perm.name.value, &perm.purpose.value);
        quote!(::actionkit::Permission { name: #name, purpose: #purpose })
    });
    let (versions, version_checks) = previous(cont);
    let (conditions, condition_checks) = conditions(cont);
    // One `static` per action holds the field specs and the cached model; `InputType` and
    // `JsonSchema` read it directly, so only `Action` (and `Executable`) carry the
    // `Deserialize` bound.
    quote! {
        static __ACTIONKIT_SPEC: #p::ActionSpec = #p::ActionSpec::new(&[#(#specs),*]);

        #[automatically_derived]
        impl ::actionkit::Action for #ident where #de {
            const ID: &'static str = #id;
            const NAME: &'static str = #name;
            const DESCRIPTION: ::core::option::Option<&'static str> = #description;
            const PERMISSIONS: &'static [::actionkit::Permission] = &[#(#permissions),*];

            fn spec() -> &'static #p::ActionSpec {
                &__ACTIONKIT_SPEC
            }

            #versions

            #conditions
        }

        #version_checks

        #condition_checks

        #[automatically_derived]
        impl #p::InputType for #ident {
            // The runtime reads the action's own flag from its field specs; `false` is what
            // is always right for the rare action nested as another input's field.
            const NULL_IS_ABSENT: bool = false;
            fn schema() -> #p::JsonMap {
                __ACTIONKIT_SPEC.object_schema()
            }
        }

        #json_schema

        #executable

        #assert_de

        #assertions
    }
}

/// `fn conditions()` listing the fields' `visible_when` / `enabled_when`, when there are any,
/// and the compile-time checks that a string compared with a unit-enum field is one of its
/// values (spanned at the values).
fn conditions(cont: &Container) -> (TokenStream, TokenStream) {
    let fields = cont.fields();
    let mut checks = TokenStream::new();
    for field in fields {
        for cond in &field.conditions {
            let on = &fields[cond.on];
            if !matches!(
                on.class.as_ref().map(crate::ty::TyClass::inner),
                Ok(crate::ty::TyClass::Other)
            ) {
                continue;
            }
            let ty = on.ty;
            for value in &cond.values {
                let crate::attr::Literal::Str(text) = value else {
                    continue;
                };
                let message = format!(
                    "`{}` compares `{}` with \"{text}\", which is not one of its values; use a value of the enum as it is written on the wire",
                    cond.effect.key(),
                    on.rust_name()
                );
                checks.extend(quote_spanned! {cond.values_span=>
                    const _: () = ::core::assert!(
                        __actionkit_p::admits(<#ty as __actionkit_p::InputType>::VALUES, #text),
                        #message
                    );
                });
            }
        }
    }
    let entries: Vec<TokenStream> = fields
        .iter()
        .flat_map(|field| {
            field.conditions.iter().map(move |cond| {
                let name = &field.wire;
                let on = &fields[cond.on].wire;
                let effect = match cond.effect {
                    crate::ast::Effect::Visible => quote!(Visible),
                    crate::ast::Effect::Enabled => quote!(Enabled),
                };
                let values = cond.values.iter().map(super::fields::literal);
                quote! {
                    __actionkit_p::Condition {
                        field: #name,
                        effect: __actionkit_p::Effect::#effect,
                        on: #on,
                        values: &[#(#values),*],
                    }
                }
            })
        })
        .collect();
    if entries.is_empty() {
        return (TokenStream::new(), TokenStream::new());
    }
    let count = entries.len();
    let function = quote! {
        fn conditions() -> &'static [__actionkit_p::Condition] {
            static CONDITIONS: [__actionkit_p::Condition; #count] = [#(#entries),*];
            &CONDITIONS
        }
    };
    (function, checks)
}

/// With `previous = T`: the earlier-version hooks of `impl Action` (decode, schemas, form
/// values), spanned at `T` so that a `T` that is not an action or does not convert into this one
/// (`From<T>`) is one error at the attribute, and the check that `T` keeps this action's id.
fn previous(cont: &Container) -> (TokenStream, TokenStream) {
    let Some(previous) = &cont.attrs.previous else {
        return (TokenStream::new(), TokenStream::new());
    };
    let (ident, id) = (cont.ident, &cont.id);
    let prev = &previous.value;
    let span = previous.span;
    let prev_name = quote!(#prev).to_string().replace(' ', "");
    let other_id = format!(
        "`{prev_name}` is declared as the previous version of `{ident}` but has another action id; \
         an earlier version keeps the id: give it `#[action(id = \"{id}\")]`"
    );
    let hooks = quote_spanned! {span=>
        const HAS_EARLIER: bool = true;

        fn decode_earlier(
            value: &::actionkit::__private::serde_json::Value,
        ) -> ::core::option::Option<Self> {
            ::actionkit::__private::decode_earlier::<#prev, Self>(value)
        }

        fn earlier_schemas() -> ::std::vec::Vec<&'static ::actionkit::__private::serde_json::Value> {
            ::actionkit::__private::earlier_schemas::<#prev>()
        }

        fn migrate_values(
            values: &::actionkit::__private::JsonMap,
        ) -> ::core::option::Option<::actionkit::__private::JsonMap> {
            ::actionkit::__private::migrate_values::<Self>(values)
        }
    };
    let checks = quote_spanned! {span=>
        const _: () = ::core::assert!(
            ::actionkit::__private::str_eq(<#prev as ::actionkit::Action>::ID, #id),
            #other_id
        );
    };
    (hooks, checks)
}

/// `impl Executable<S>` calling the function named by `execute = ...` and, with form state,
/// the form-state dispatch, for every app state `S` the handler's state can be taken from. The
/// handler is called with its state type spelled out, spanned at the path, so a function that
/// is not a handler is reported there; with `state = T`, from a helper whose generic parameter
/// does not take part in the call, so the impl's `FromRef<S>` bound cannot steer inference.
/// Being generic, the impl is instantiated where an app serves the action, not in every crate
/// that declares one. Without `execute`, the dispatch functions are still emitted, so a
/// provider's mistakes are reported all the same.
fn executable(cont: &Container) -> TokenStream {
    let super::form::Dispatch { items, members } = super::form::dispatch(cont);
    let Some(execute) = &cont.attrs.execute else {
        return quote!(#[allow(dead_code)] const _: () = { #items };);
    };
    let ident = cont.ident;
    let path = &execute.value;
    let de = deserialize_bound(cont);
    let p = quote!(__actionkit_p);
    let (bound, helper, body) = match &cont.attrs.state {
        Some(state) => {
            let state_ty = &state.value;
            let call = quote_spanned!(path.span()=> #p::call_handler::<#state_ty, #ident, _, _>(#path, ctx, state, input));
            let helper = quote! {
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
            };
            (
                quote!(#state_ty: #p::FromRef<__S>,),
                helper,
                quote!(__actionkit_execute::<__S>(ctx, <#state_ty as #p::FromRef<__S>>::from_ref(state), input)),
            )
        }
        None => (
            TokenStream::new(),
            TokenStream::new(),
            quote_spanned!(path.span()=> #p::call_handler::<(), #ident, _, _>(#path, ctx, (), input)),
        ),
    };
    quote! {
        #items

        #helper

        #[automatically_derived]
        impl<__S> ::actionkit::Executable<__S> for #ident
        where
            #bound
            __S: ::core::marker::Send + ::core::marker::Sync + 'static,
            #de
        {
            #members

            fn execute(
                ctx: #p::Context,
                state: &__S,
                input: Self,
            ) -> #p::BoxFuture<#p::HandlerResult> {
                #body
            }
        }
    }
}
