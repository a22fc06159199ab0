//! Code generation from the resolved model. Nothing here reports a user error or looks a name
//! up: by the time we generate, `ast` has resolved everything and `check` has found every
//! mistake. On error, [`fallback`] emits minimal impls so one mistake yields one message.
//!
//! The generated code is lean: per action it names the action's own data (field specs, wire
//! names, the handler's path) and leaves the work to shared generic helpers in
//! `actionkit::__private`.

mod action;
mod fields;
mod form;
mod input_type;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::DeriveInput;

use crate::ast::{Body, Container, Derive};
use crate::check;
use crate::ctxt::Ctxt;

/// Expands a derive over its input tokens, parsed once as syn 2's tree (ours) and once as syn
/// 3's (serde_derive_internals').
pub fn derive(tokens: TokenStream, derive: Derive) -> TokenStream {
    let serde_input = syn3::parse2::<syn3::DeriveInput>(tokens.clone()).ok();
    match syn::parse2::<DeriveInput>(tokens) {
        Ok(input) => expand(&input, serde_input.as_ref(), derive),
        Err(error) => error.to_compile_error(),
    }
}

fn expand(
    input: &DeriveInput,
    serde_input: Option<&syn3::DeriveInput>,
    derive: Derive,
) -> TokenStream {
    let cx = Ctxt::default();
    let cont = Container::from_ast(&cx, input, serde_input, derive);
    check::check(&cx, &cont);
    if cx.has_errors() {
        let errors = cx.to_compile_errors();
        let fallback = fallback(&cont);
        return quote!(#errors #fallback);
    }
    match (&cont.body, derive) {
        (Body::Enum(variants), _) => wrap(input_type::string_enum(&cont, variants)),
        (_, Derive::Action) => {
            let (types, impls) = form::types(&cont);
            let body = action::expand(&cont);
            let body = wrap(quote!(#impls #body));
            quote!(#types #body)
        }
        (_, Derive::InputType) => wrap(input_type::object(&cont)),
    }
}

/// `const _: () = { ... };` keeps generated items out of the user's namespace.
fn wrap(body: TokenStream) -> TokenStream {
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, unused_qualifications, unused_variables, clippy::all)]
        const _: () = {
            use ::actionkit::__private as __actionkit_p;
            #body
        };
    }
}

/// `where for<'de> A: Deserialize<'de>` on every generated item that needs the action to be
/// `Deserialize`: a bound with a higher-ranked lifetime is not checked where it is written, so
/// when the user forgot `#[derive(Deserialize)]` only [`deserialize_assertion`] fails, once, at
/// `Action`, in actionkit's words, instead of every impl failing at the struct's name.
fn deserialize_bound(cont: &Container) -> TokenStream {
    let ident = cont.ident;
    quote!(for<'__de> #ident: __actionkit_p::serde::Deserialize<'__de>)
}

/// The one place the missing `Deserialize` is reported, at the derive's `Action` (the type is
/// named with the derive's span so the error lands there).
fn deserialize_assertion(cont: &Container) -> TokenStream {
    let mut at_derive = cont.ident.clone();
    at_derive.set_span(Span::call_site());
    let call =
        quote_spanned!(Span::call_site()=> __actionkit_p::assert_deserialize::<#at_derive>());
    quote!(const _: () = #call;)
}

/// Impls that let the rest of the user's code compile while the derive's errors are shown.
fn fallback(cont: &Container) -> TokenStream {
    let ident = cont.ident;
    let (impl_generics, ty_generics, where_clause) = cont.input.generics.split_for_impl();
    let input_type = quote! {
        #[automatically_derived]
        impl #impl_generics __actionkit_p::InputType for #ident #ty_generics #where_clause {
            fn schema() -> __actionkit_p::JsonMap {
                __actionkit_p::JsonMap::new()
            }
        }
    };
    // `Action: DeserializeOwned`: a borrowed field would add serde's lifetime error to ours.
    let borrows = cont
        .fields()
        .iter()
        .any(|f| matches!(f.ty, syn::Type::Reference(_)));
    let action = (cont.derive == Derive::Action
        && cont.input.generics.params.is_empty()
        && !borrows)
        .then(|| {
            let id = &cont.id;
            let de = deserialize_bound(cont);
            let assert_de = deserialize_assertion(cont);
            quote! {
                #[automatically_derived]
                impl ::actionkit::Action for #ident where #de {
                    const ID: &'static str = #id;
                    const NAME: &'static str = #id;
                    const DESCRIPTION: ::core::option::Option<&'static str> = ::core::option::Option::None;
                    fn spec() -> &'static __actionkit_p::ActionSpec {
                        static SPEC: __actionkit_p::ActionSpec = __actionkit_p::ActionSpec::new(&[]);
                        &SPEC
                    }
                }
                #assert_de
            }
        });
    // The form-state types only mention field types; with those sound they keep the user's
    // references to `<Action>Field` & co. compiling.
    let sound_types =
        matches!(cont.body, Body::Struct(_)) && cont.fields().iter().all(|f| f.class.is_ok());
    let (form_types, form_impls) = if cont.derive == Derive::Action && sound_types {
        form::types(cont)
    } else {
        (TokenStream::new(), TokenStream::new())
    };
    let wrapped = wrap(quote!(#form_impls #input_type #action));
    quote!(#form_types #wrapped)
}

#[cfg(test)]
mod tests {
    use proc_macro2::{TokenStream, TokenTree};

    fn count(tokens: TokenStream) -> usize {
        tokens
            .into_iter()
            .map(|t| match t {
                TokenTree::Group(g) => 1 + count(g.stream()),
                _ => 1,
            })
            .sum()
    }

    /// The expansion is what every build of every user pays for (`benches/compile_time.sh`):
    /// a typical action (the benchmark's) stays lean. It was 2,802 tokens before the shared
    /// helpers, 1,878 before form-state code came with form state only and the field specs
    /// became `const` builder calls in one `static` per action (927 now); raise the bound only
    /// for something users get in return.
    #[test]
    fn a_typical_action_expands_to_a_lean_token_stream() {
        let input: syn::DeriveInput = syn::parse_quote! {
            /// Action number 1.
            #[action(id = "action_1", name = "Action 1", execute = run_1)]
            pub struct Action1 {
                #[field(title = "Name", min_length = 1, max_length = 80)]
                pub name: String,
                #[field(minimum = 0, maximum = 100000)]
                pub amount: u32,
                pub priority: Priority1,
                #[field(pattern = "^[^@]+@[^@]+$", multi)]
                pub email: Option<String>,
                #[field(max_items = 8)]
                pub tags: Vec<String>,
                /// Whether to notify.
                pub notify: Option<bool>,
            }
        };
        let tokens = count(super::derive(
            quote::quote!(#input),
            crate::ast::Derive::Action,
        ));
        assert!(tokens <= 1000, "{tokens} tokens");
        let input: syn::DeriveInput = syn::parse_quote! {
            #[serde(rename_all = "snake_case")]
            pub enum Priority1 { Low, Normal, High }
        };
        let tokens = count(super::derive(
            quote::quote!(#input),
            crate::ast::Derive::InputType,
        ));
        assert!(tokens <= 200, "{tokens} tokens");
    }
}
