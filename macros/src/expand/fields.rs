//! `FieldSpec` builder calls, one per field, and the compile-time assertions for types only the
//! compiler can judge.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Container, Field, Kind, Need};
use crate::attr::{self, Literal};

pub fn specs(cont: &Container) -> Vec<TokenStream> {
    cont.fields().iter().map(|f| spec(cont, f)).collect()
}

/// `FieldSpec::of(name, title, <T as InputType>::SPEC)` and a `const` builder call for each
/// option the field has (few tokens per field: the derive runs, and its output is compiled, in
/// every build of every user).
fn spec(cont: &Container, field: &Field) -> TokenStream {
    let ty = field.ty;
    let a = &field.attrs;
    let name = &field.wire;
    let title = &field.title;
    let type_spec = quote_spanned!(ty.span()=> <#ty as __actionkit_p::InputType>::SPEC);
    let mut spec = quote!(__actionkit_p::FieldSpec::of(#name, #title, #type_spec));
    if let Some(description) = &field.description {
        spec.extend(quote!(.described(#description)));
    }
    if field.serde.default {
        spec.extend(quote!(.defaulted()));
    }
    let keywords = keywords(field);
    if !keywords.is_empty() {
        spec.extend(quote!(.keywords(&[#(#keywords),*])));
    }
    let ui = quote!(__actionkit_p::UiSpec);
    let mut ui_fields = Vec::new();
    if let Some(label) = &a.label {
        let label = &label.value;
        ui_fields.push(quote!(label: ::core::option::Option::Some(#label)));
    }
    match field.dynamic.as_ref().map(|d| d.kind) {
        Some(Kind::Select) => ui_fields.push(
            quote!(format: ::core::option::Option::Some(__actionkit_p::UiFormat::DynamicSelect)),
        ),
        Some(Kind::Schema) => ui_fields.push(
            quote!(format: ::core::option::Option::Some(__actionkit_p::UiFormat::DynamicSchema)),
        ),
        None => {}
    }
    if a.multi.is_some() {
        ui_fields.push(quote!(multi: true));
    }
    if a.template.is_some() {
        ui_fields.push(quote!(template: true));
    }
    if let Some(group) = field.group {
        let label = &cont.groups[group];
        ui_fields.push(quote!(group: ::core::option::Option::Some(#label)));
    }
    if let Some(row) = field.row {
        let row = row.to_string();
        ui_fields.push(quote!(row: ::core::option::Option::Some(#row)));
    }
    if !ui_fields.is_empty() {
        spec.extend(quote!(.ui(#ui { #(#ui_fields,)* ..#ui::DEFAULT })));
    }
    spec
}

fn keywords(field: &Field) -> Vec<TokenStream> {
    let a = &field.attrs;
    let k = quote!(__actionkit_p::Keyword);
    let mut out = Vec::new();
    if let Some(d) = &a.default {
        let lit = literal(&d.value);
        out.push(quote!(#k::Default(#lit)));
    }
    let arguments = [
        (argument(&a.min_length), quote!(MinLength)),
        (argument(&a.max_length), quote!(MaxLength)),
        (argument(&a.pattern), quote!(Pattern)),
        (argument(&a.format), quote!(Format)),
        (argument(&a.minimum), quote!(Minimum)),
        (argument(&a.maximum), quote!(Maximum)),
        (argument(&a.min_items), quote!(MinItems)),
        (argument(&a.max_items), quote!(MaxItems)),
    ];
    for (argument, keyword) in arguments {
        if let Some(argument) = argument {
            out.push(quote!(#k::#keyword(#argument)));
        }
    }
    out
}

/// The value of a keyword's attribute, as the `Keyword` variant's argument.
fn argument<T: ToTokens>(attr: &Option<attr::Spanned<T>>) -> Option<TokenStream> {
    attr.as_ref().map(|attr| attr.value.to_token_stream())
}

pub fn literal(lit: &Literal) -> TokenStream {
    let l = quote!(__actionkit_p::Literal);
    match lit {
        Literal::Str(s) => quote!(#l::Str(#s)),
        Literal::Int(n) => quote!(#l::Int(#n)),
        Literal::Bool(b) => quote!(#l::Bool(#b)),
        Literal::List(items) => {
            let items = items.iter().map(literal);
            quote!(#l::List(&[#(#items),*]))
        }
    }
}

/// Assertions that the field's type fits its attributes, where syntax could not tell; each is
/// spanned at the attribute key so the trait's message lands there.
pub fn assertions(cont: &Container) -> TokenStream {
    let mut out = Vec::new();
    for field in cont.fields() {
        let Ok(class) = &field.class else { continue };
        let ty = field.ty;
        for need in &field.needs {
            if need.need.satisfied_by(class).is_some() {
                continue;
            }
            let span = need.span;
            let check = match need.need {
                Need::Text => quote_spanned!(span=> assert_text),
                Need::Select => quote_spanned!(span=> assert_select),
                Need::Object => quote_spanned!(span=> assert_object),
                Need::Integer => quote_spanned!(span=> assert_integer),
                Need::List => quote_spanned!(span=> assert_list),
            };
            out.push(quote_spanned!(span=> __actionkit_p::#check::<#ty>()));
        }
    }
    if out.is_empty() {
        return TokenStream::new();
    }
    quote!(const _: () = { #(#out;)* };)
}

pub fn option_str(value: Option<&str>) -> TokenStream {
    match value {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

/// `InputType::NULL_IS_ABSENT` for a struct: no serde `default` on it or any input field (a
/// default could make `null` and absence deserialise differently), and every field's type
/// agrees.
pub fn null_is_absent(cont: &Container) -> TokenStream {
    if cont.serde.default || cont.fields().iter().any(|f| f.serde.default) {
        return quote!(false);
    }
    let types = cont.fields().iter().map(|f| f.ty);
    quote!(true #(&& <#types as __actionkit_p::InputType>::NULL_IS_ABSENT)*)
}
