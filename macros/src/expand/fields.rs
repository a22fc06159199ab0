//! `FieldSpec` literals, one per field, and the compile-time assertions for types only the
//! compiler can judge.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Container, Field};
use crate::attr::Literal;
use crate::check::{Layout, Need, needs};
use crate::ty::TyClass;

pub fn specs(cont: &Container, layout: &Layout) -> Vec<TokenStream> {
    cont.fields()
        .map(|field| spec(cont, field, layout))
        .collect()
}

fn spec(cont: &Container, field: &Field, layout: &Layout) -> TokenStream {
    let ty = field.ty;
    let a = &field.attrs;
    let name = &field.name;
    let title = a
        .title
        .as_ref()
        .map_or_else(|| title_of(&field.rust_name()), |t| t.value.clone());
    let description = option_str(
        a.description
            .as_ref()
            .map(|d| d.value.clone())
            .or_else(|| field.doc.clone()),
    );
    let input_type = quote_spanned!(ty.span()=> <#ty as ::actionkit::__private::InputType>);
    let required = if field.serde.default || cont.serde.default {
        quote!(false)
    } else {
        quote!(#input_type::REQUIRED)
    };
    let keywords = keywords(field);
    let label = option_str(a.label.as_ref().map(|l| l.value.clone()));
    let format = if a.is_select() {
        quote!(::core::option::Option::Some(
            ::actionkit::__private::UiFormat::DynamicSelect
        ))
    } else if a.is_schema() {
        quote!(::core::option::Option::Some(
            ::actionkit::__private::UiFormat::DynamicSchema
        ))
    } else {
        quote!(::core::option::Option::None)
    };
    let multi = a.multi.is_some();
    let template = a.template.is_some();
    let group = option_str(layout.group.get(&field.rust_name()).cloned());
    let row = option_str(layout.row.get(&field.rust_name()).cloned());
    quote! {
        ::actionkit::__private::FieldSpec {
            name: #name,
            title: #title,
            description: #description,
            required: #required,
            schema: #input_type::schema,
            keywords: &[#(#keywords),*],
            ui: ::actionkit::__private::UiSpec {
                label: #label,
                format: #format,
                multi: #multi,
                template: #template,
                group: #group,
                row: #row,
            },
        }
    }
}

fn keywords(field: &Field) -> Vec<TokenStream> {
    let a = &field.attrs;
    let k = quote!(::actionkit::__private::Keyword);
    let mut out = Vec::new();
    if let Some(d) = &a.default {
        let lit = literal(&d.value);
        out.push(quote!(#k::Default(#lit)));
    }
    if let Some(n) = &a.min_length {
        let n = n.value;
        out.push(quote!(#k::MinLength(#n)));
    }
    if let Some(n) = &a.max_length {
        let n = n.value;
        out.push(quote!(#k::MaxLength(#n)));
    }
    if let Some(p) = &a.pattern {
        let p = &p.value;
        out.push(quote!(#k::Pattern(#p)));
    }
    if let Some(f) = &a.format {
        let f = &f.value;
        out.push(quote!(#k::Format(#f)));
    }
    if let Some(n) = &a.minimum {
        let n = i64::try_from(n.value).expect("checked when parsed");
        out.push(quote!(#k::Minimum(#n)));
    }
    if let Some(n) = &a.maximum {
        let n = i64::try_from(n.value).expect("checked when parsed");
        out.push(quote!(#k::Maximum(#n)));
    }
    if let Some(n) = &a.min_items {
        let n = n.value;
        out.push(quote!(#k::MinItems(#n)));
    }
    if let Some(n) = &a.max_items {
        let n = n.value;
        out.push(quote!(#k::MaxItems(#n)));
    }
    out
}

fn literal(lit: &Literal) -> TokenStream {
    let l = quote!(::actionkit::__private::Literal);
    match lit {
        Literal::Str(s) => quote!(#l::Str(#s)),
        Literal::Int(n) => {
            let n = i64::try_from(*n).expect("checked when parsed");
            quote!(#l::Int(#n))
        }
        Literal::Bool(b) => quote!(#l::Bool(#b)),
        Literal::List(items) => {
            let items = items.iter().map(literal);
            quote!(#l::List(&[#(#items),*]))
        }
    }
}

/// Assertions that the field's type fits its attributes, where syntax could not tell; each is
/// spanned at the attribute key so the trait's message lands there.
pub fn assertions(cont: &Container) -> Vec<TokenStream> {
    let mut out = Vec::new();
    for field in cont.fields() {
        let Ok(class) = &field.class else { continue };
        if *class.inner() != TyClass::Other && !matches!(class.inner(), TyClass::Vec(_)) {
            continue;
        }
        let ty = field.ty;
        for (_, span, need) in needs(field) {
            let check = match need {
                Need::Text => quote_spanned!(span=> assert_text),
                Need::Select => quote_spanned!(span=> assert_select),
                Need::Object => quote_spanned!(span=> assert_object),
                Need::Integer => quote_spanned!(span=> assert_integer),
                Need::List => quote_spanned!(span=> assert_list),
            };
            out.push(quote_spanned!(span=> ::actionkit::__private::#check::<#ty>()));
        }
    }
    out
}

fn option_str(value: Option<String>) -> TokenStream {
    match value {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

/// `audience_id` → `Audience id`.
pub fn title_of(name: &str) -> String {
    let words: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    let mut title = words.join(" ");
    if let Some(first) = title.get(0..1) {
        title = first.to_uppercase() + &title[1..];
    }
    title
}

/// `SendEmail` → `Send email`; acronyms stay as written (`HTTPCall` → `HTTP call`).
pub fn name_of(ident: &str) -> String {
    let chars: Vec<char> = ident.chars().collect();
    let mut words: Vec<String> = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        let boundary = i > 0
            && c.is_uppercase()
            && (chars[i - 1].is_lowercase() || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
        if boundary || words.is_empty() {
            words.push(String::new());
        }
        words.last_mut().expect("pushed").push(c);
    }
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let acronym = w.len() > 1 && w.chars().all(|c| !c.is_lowercase());
            if i == 0 || acronym {
                w.clone()
            } else {
                w.to_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `InputType::NULL_IS_ABSENT` for a struct: no serde `default` on it or any input field (a
/// default could make `null` and absence deserialise differently), and every field's type
/// agrees.
pub fn null_is_absent(cont: &crate::ast::Container) -> proc_macro2::TokenStream {
    let defaults = cont.serde.default || cont.fields().any(|f| f.serde.default);
    let types = cont.fields().map(|f| f.ty);
    quote::quote! {
        !#defaults #(&& <#types as ::actionkit::__private::InputType>::NULL_IS_ABSENT)*
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_names_are_derived() {
        assert_eq!(title_of("audience_id"), "Audience id");
        assert_eq!(title_of("message"), "Message");
        assert_eq!(name_of("SendEmail"), "Send email");
        assert_eq!(name_of("HTTPCall"), "HTTP call");
        assert_eq!(name_of("Notify"), "Notify");
    }
}
