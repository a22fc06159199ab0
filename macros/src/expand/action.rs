//! `impl Action` (and `InputType`, `JsonSchema`) for an action's input struct.

use proc_macro2::TokenStream;
use quote::quote;

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
    quote! {
        #[automatically_derived]
        impl ::actionkit::Action for #ident {
            const ID: &'static str = #id;
            const NAME: &'static str = #name;
            const DESCRIPTION: ::core::option::Option<&'static str> = #description;

            fn fields() -> &'static [::actionkit::__private::FieldSpec] {
                static FIELDS: [::actionkit::__private::FieldSpec; #count] = [#(#specs),*];
                &FIELDS
            }

            fn model() -> &'static ::actionkit::__private::ActionModel {
                static MODEL: ::actionkit::__private::OnceLock<::actionkit::__private::ActionModel> =
                    ::actionkit::__private::OnceLock::new();
                MODEL.get_or_init(|| ::actionkit::__private::ActionModel::new(<Self as ::actionkit::Action>::fields()))
            }
        }

        #[automatically_derived]
        impl ::actionkit::__private::InputType for #ident {
            fn schema() -> ::actionkit::__private::serde_json::Map<::std::string::String, ::actionkit::__private::serde_json::Value> {
                ::actionkit::__private::object_schema(<Self as ::actionkit::Action>::fields())
            }
        }

        #json_schema

        const _: () = { #(#assertions;)* };
    }
}
