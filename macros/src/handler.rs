//! `#[debug_handler]`: checks an execute handler argument by argument, so a mistake is reported
//! on the offending argument or return type instead of as one unsatisfied `Handler` bound.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType};

use crate::ctxt::{Ctxt, suggestion};

const KEYS: &[&str] = &["state"];

pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::default();
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let err = syn::Error::new_spanned(&item, "`#[debug_handler]` goes on an `async fn`");
            let errors = err.to_compile_error();
            return quote!(#errors #item);
        }
    };
    let mut state: Option<syn::Type> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("state") {
            state = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            Err(meta.error(format!(
                "unknown `debug_handler` argument `{key}`{}",
                suggestion(&key, KEYS)
            )))
        }
    });
    if let Err(err) = syn::parse::Parser::parse2(parser, args) {
        cx.syn_error(err);
    }
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        cx.error_spanned_by(sig.fn_token, "an execute handler must be an `async fn`");
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(&sig.generics, "an execute handler cannot be generic");
    }
    let types: Vec<&syn::Type> = sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(pat) => Some(&*pat.ty),
            FnArg::Receiver(r) => {
                cx.error_spanned_by(r, "an execute handler is a free function, not a method");
                None
            }
        })
        .collect();
    if types.is_empty() {
        cx.error_spanned_by(
            &sig.ident,
            "an execute handler takes the action's input as its last argument",
        );
    }
    if cx.has_errors() {
        let errors = cx.to_compile_errors();
        return quote!(#errors #function);
    }
    let state = state.map_or_else(|| quote!(()), |s| quote!(#s));
    let (input, extractors) = types.split_last().expect("checked: at least one argument");
    let extractor_checks = extractors.iter().map(
        |ty| quote_spanned!(ty.span()=> ::actionkit::__private::assert_extractor::<#state, #ty>();),
    );
    let input_check =
        quote_spanned!(input.span()=> ::actionkit::__private::assert_action::<#input>(););
    let output = match &sig.output {
        ReturnType::Default => quote_spanned!(sig.ident.span()=> ()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    let output_span = match &sig.output {
        ReturnType::Default => sig.ident.span(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    let output_check =
        quote_spanned!(output_span=> ::actionkit::__private::assert_outcome::<#output>(););
    let name = &sig.ident;
    let placeholders = types.iter().map(|_| quote!(::core::panic!()));
    let send_check = quote_spanned!(name.span()=> ::actionkit::__private::assert_send(#name(#(#placeholders),*)););
    quote! {
        #function

        #[allow(unreachable_code, unused_variables, clippy::diverging_sub_expression)]
        const _: () = {
            fn __actionkit_check() {
                #(#extractor_checks)*
                #input_check
                #output_check
            }
            fn __actionkit_check_send() {
                #send_check
            }
        };
    }
}
