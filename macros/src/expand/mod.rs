//! Code generation. Nothing here reports a user error: by the time we generate, `check` has
//! found them all. On error, [`fallback`] emits minimal impls so one mistake yields one message.

mod action;
mod fields;
mod form;
mod input_type;

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ast::{Body, Container, Derive};
use crate::check;
use crate::ctxt::Ctxt;

pub fn derive(input: &DeriveInput, derive: Derive) -> TokenStream {
    let mut cx = Ctxt::default();
    let cont = Container::from_ast(&mut cx, input, derive);
    let layout = check::check(&mut cx, &cont);
    if cx.has_errors() {
        let errors = cx.to_compile_errors();
        let fallback = fallback(&cont);
        return quote!(#errors #fallback);
    }
    let body = match (&cont.body, derive) {
        (Body::Enum(variants), _) => input_type::string_enum(&cont, variants),
        (_, Derive::Action) => {
            let types = form::types(&cont);
            let body = wrap(action::expand(&cont, &layout));
            return quote!(#types #body);
        }
        (_, Derive::InputType) => input_type::object(&cont),
    };
    wrap(body)
}

/// `const _: () = { ... };` keeps generated items out of the user's namespace.
fn wrap(body: TokenStream) -> TokenStream {
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, unused_qualifications, unused_variables, clippy::all)]
        const _: () = { #body };
    }
}

/// Impls that let the rest of the user's code compile while the derive's errors are shown.
fn fallback(cont: &Container) -> TokenStream {
    let ident = cont.ident;
    let (impl_generics, ty_generics, where_clause) = cont.input.generics.split_for_impl();
    let input_type = quote! {
        #[automatically_derived]
        impl #impl_generics ::actionkit::__private::InputType for #ident #ty_generics #where_clause {
            fn schema() -> ::actionkit::__private::serde_json::Map<::std::string::String, ::actionkit::__private::serde_json::Value> {
                ::actionkit::__private::serde_json::Map::new()
            }
        }
    };
    // `Action: DeserializeOwned`: a borrowed field would add serde's lifetime error to ours.
    let borrows = cont
        .fields()
        .any(|f| matches!(f.ty, syn::Type::Reference(_)));
    let action =
        (cont.derive == Derive::Action && cont.input.generics.params.is_empty() && !borrows).then(|| {
            let id = cont.attrs.id.as_ref().map(|a| a.value.clone()).unwrap_or_default();
            quote! {
                #[automatically_derived]
                impl ::actionkit::Action for #ident {
                    const ID: &'static str = #id;
                    const NAME: &'static str = #id;
                    const DESCRIPTION: ::core::option::Option<&'static str> = ::core::option::Option::None;
                    fn fields() -> &'static [::actionkit::__private::FieldSpec] {
                        &[]
                    }
                    fn model() -> &'static ::actionkit::__private::ActionModel {
                        ::core::panic!("actionkit: this action failed to compile")
                    }
                }
            }
        });
    // The form-state types only mention field types; with those sound they keep the user's
    // references to `<Action>Field` & co. compiling.
    let sound_types =
        matches!(cont.body, Body::Struct(_)) && cont.fields().all(|f| f.class.is_ok());
    let form_types = (cont.derive == Derive::Action && sound_types).then(|| form::types(cont));
    let wrapped = wrap(quote!(#input_type #action));
    quote!(#form_types #wrapped)
}
