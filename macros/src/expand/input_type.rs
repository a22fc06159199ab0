//! `impl InputType` (and `JsonSchema`) for nested object structs and unit enums.

use proc_macro2::TokenStream;
use quote::quote;

use super::fields::{assertions, null_is_absent, specs};
use crate::ast::{Container, Variant};

/// A nested object: its schema is built from its fields every time a parent asks (parents cache).
pub fn object(cont: &Container) -> TokenStream {
    let ident = cont.ident;
    let generics = with_input_type_bounds(cont);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let specs = specs(cont);
    let assertions = assertions(cont);
    let json_schema = json_schema(cont);
    let null_is_absent = null_is_absent(cont);
    quote! {
        #[automatically_derived]
        impl #impl_generics __actionkit_p::InputType for #ident #ty_generics #where_clause {
            const NULL_IS_ABSENT: bool = #null_is_absent;
            fn schema() -> __actionkit_p::JsonMap {
                let fields = [#(#specs),*];
                __actionkit_p::object_schema(&fields)
            }
        }

        #json_schema

        #assertions
    }
}

/// A unit enum: `{"type": "string", "enum": [...]}` with serde's variant names.
pub fn string_enum(cont: &Container, variants: &[Variant]) -> TokenStream {
    let ident = cont.ident;
    let (impl_generics, ty_generics, where_clause) = cont.input.generics.split_for_impl();
    let names: Vec<&String> = variants
        .iter()
        .filter(|v| !v.skip)
        .map(|v| &v.wire)
        .collect();
    let json_schema = json_schema(cont);
    quote! {
        #[automatically_derived]
        impl #impl_generics __actionkit_p::InputType for #ident #ty_generics #where_clause {
            const VALUES: &'static [&'static str] = &[#(#names),*];
            fn schema() -> __actionkit_p::JsonMap {
                __actionkit_p::string_enum(<Self as __actionkit_p::InputType>::VALUES)
            }
        }

        #[automatically_derived]
        impl #impl_generics __actionkit_p::ArrayItem for #ident #ty_generics #where_clause {}

        #json_schema
    }
}

/// `schemars::JsonSchema` returning the same schema, for schemars-based tooling.
pub fn json_schema(cont: &Container) -> TokenStream {
    let ident = cont.ident;
    let name = ident.to_string();
    let generics = with_input_type_bounds(cont);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let schemars = quote!(__actionkit_p::schemars);
    quote! {
        #[automatically_derived]
        impl #impl_generics #schemars::JsonSchema for #ident #ty_generics #where_clause {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(#name)
            }

            fn json_schema(_: &mut #schemars::SchemaGenerator) -> #schemars::Schema {
                __actionkit_p::json_schema(<Self as __actionkit_p::InputType>::schema())
            }
        }
    }
}

/// The container's generics with `T: InputType` added to every type parameter, as serde adds
/// its own bounds.
fn with_input_type_bounds(cont: &Container) -> syn::Generics {
    let mut generics = cont.input.generics.clone();
    for param in generics.type_params_mut() {
        param
            .bounds
            .push(syn::parse_quote!(__actionkit_p::InputType));
    }
    generics
}
