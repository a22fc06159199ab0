//! The form-state types of an action (`<A>Field`, `<A>Values`, `<A>Config`) and its dispatch:
//! provider glue or the whole-form handler.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericArgument, PathArguments, Type};

use super::deserialize_bound;
use crate::ast::{Container, Field, Kind};

/// The generated types' names.
struct Names {
    field: syn::Ident,
    values: syn::Ident,
    config: syn::Ident,
}

fn names(cont: &Container) -> Names {
    Names {
        field: format_ident!("{}Field", cont.ident),
        values: format_ident!("{}Values", cont.ident),
        config: format_ident!("{}Config", cont.ident),
    }
}

/// The generated public types; they live beside the user's struct. Every action gets its field
/// enum (errors name fields with it); `<A>Values`, `<A>Config` and `FormAction` only come with
/// form state, so an action without it compiles no form-state code. Returns the types, which
/// go beside the struct, and their impls, which go in the derive's `const _` block.
pub fn types(cont: &Container) -> (TokenStream, TokenStream) {
    let ident = cont.ident;
    let vis = &cont.input.vis;
    let names = names(cont);
    let field_enum = &names.field;
    let fields = cont.fields();
    let variants: Vec<&syn::Ident> = fields.iter().map(|f| &f.variant).collect();
    let wire: Vec<&String> = fields.iter().map(|f| &f.wire).collect();
    let variant_docs = wire.iter().map(|w| format!("`{w}`"));
    let enum_doc = format!(
        "The fields of [`{ident}`], by their names on the wire: name them in errors, form-state helpers and tests."
    );
    let (form_types, form_impl) = if cont.has_form_state() {
        form_types(cont, &names)
    } else {
        (TokenStream::new(), TokenStream::new())
    };
    let types = quote! {
        #[doc = #enum_doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #vis enum #field_enum {
            #(#[doc = #variant_docs] #variants,)*
        }

        #form_types
    };
    let impls = quote! {
        #[automatically_derived]
        impl __actionkit_p::FormField for #field_enum {
            const ALL: &'static [Self] = &[#(Self::#variants),*];
            fn name(self) -> &'static str {
                match self { #(Self::#variants => #wire,)* }
            }
        }

        #[automatically_derived]
        impl ::core::fmt::Display for #field_enum {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(__actionkit_p::FormField::name(*self))
            }
        }

        #form_impl
    };
    (types, impls)
}

/// `<A>Values`, `<A>Config` and their `impl FormAction` (for the derive's `const _` block). The
/// methods are `#[inline]` so that, like the generic execute glue, they are compiled where an
/// app calls them, not in every crate that declares an action (reading the values
/// instantiates serde for each field type).
fn form_types(cont: &Container, names: &Names) -> (TokenStream, TokenStream) {
    let ident = cont.ident;
    let vis = &cont.input.vis;
    let Names {
        field: field_enum,
        values,
        config,
    } = names;
    let fields = cont.fields();
    let values_doc = format!(
        "The values of a [`{ident}`] form while it is being configured: every field optional, a missing or ill-typed value reads as `None`."
    );
    let config_doc = format!("The form-state config of [`{ident}`]: one slot per dynamic field.");
    let de = deserialize_bound(cont);
    let value_fields = fields.iter().map(|f| {
        let name = f.ident;
        let ty = without_option(f.ty);
        let doc = format!("`{}`", f.wire);
        quote!(#[doc = #doc] pub #name: ::core::option::Option<#ty>)
    });
    let value_reads = fields.iter().map(|f| {
        let name = f.ident;
        let wire = &f.wire;
        quote!(#name: __actionkit_p::tolerant(raw, #wire))
    });
    let dynamic: Vec<(&Field, Kind)> = fields
        .iter()
        .filter_map(|f| f.dynamic.as_ref().map(|d| (f, d.kind)))
        .collect();
    let slot_fields = dynamic.iter().map(|(f, kind)| {
        let name = f.ident;
        let ty = match kind {
            Kind::Select => quote!(::actionkit::__private::SelectConfig),
            Kind::Schema => quote!(::actionkit::__private::SchemaConfig),
        };
        let doc = format!("The config of `{}`.", f.wire);
        quote!(#[doc = #doc] pub #name: #ty)
    });
    let slot_arms = dynamic.iter().map(|(f, kind)| {
        let name = f.ident;
        let v = &f.variant;
        let kind = match kind {
            Kind::Select => quote!(Select),
            Kind::Schema => quote!(Schema),
        };
        quote!(#field_enum::#v => ::core::option::Option::Some(__actionkit_p::SlotMut::#kind(&mut config.#name)))
    });
    let wire_entries = dynamic.iter().map(|(f, _)| {
        let name = f.ident;
        let wire = &f.wire;
        quote!(__actionkit_p::config_entry(&mut map, #wire, config.#name.to_wire());)
    });
    let empty_slots = dynamic.iter().map(|(f, _)| {
        let name = f.ident;
        quote!(#name: ::core::default::Default::default())
    });
    let types = quote! {
        #[doc = #values_doc]
        #[allow(dead_code)]
        #vis struct #values {
            #(#value_fields,)*
        }

        #[doc = #config_doc]
        #vis struct #config {
            #(#slot_fields,)*
        }
    };
    let form_impl = quote! {
        #[automatically_derived]
        impl __actionkit_p::FormAction for #ident where #de {
            type Field = #field_enum;
            type Values = #values;
            type Config = #config;

            #[inline]
            fn values(raw: &__actionkit_p::JsonMap) -> #values {
                #values { #(#value_reads,)* }
            }

            #[inline]
            #[allow(unreachable_patterns)]
            fn slot_mut(config: &mut #config, field: #field_enum) -> ::core::option::Option<__actionkit_p::SlotMut<'_>> {
                match field {
                    #(#slot_arms,)*
                    _ => ::core::option::Option::None,
                }
            }

            #[inline]
            fn config_to_wire(config: &#config) -> __actionkit_p::JsonMap {
                #[allow(unused_mut)]
                let mut map = __actionkit_p::JsonMap::new();
                #(#wire_entries)*
                map
            }

            #[inline]
            fn empty_config() -> #config {
                #config { #(#empty_slots,)* }
            }
        }
    };
    (types, form_impl)
}

/// An action's form-state dispatch: the provider glue or the whole-form handler's call, as
/// free functions (`items`, type-checked where they are written), and the members of
/// `impl Executable<S>` that call them (`members`). Both are empty without form state, when the
/// trait's defaults answer `None`.
pub struct Dispatch {
    pub items: TokenStream,
    pub members: TokenStream,
}

pub fn dispatch(cont: &Container) -> Dispatch {
    let ident = cont.ident;
    let p = quote!(__actionkit_p);
    let de = deserialize_bound(cont);
    let state_ty = match &cont.attrs.state {
        Some(state) => {
            let ty = &state.value;
            quote!(#ty)
        }
        None => quote!(()),
    };
    let state_arg = cont
        .attrs
        .state
        .as_ref()
        .map(|_| quote!(::actionkit::State(state),));
    let providers: Vec<(&Field, Kind, &syn::Path)> = cont
        .fields()
        .iter()
        .filter_map(|f| {
            let dynamic = f.dynamic.as_ref()?;
            Some((f, dynamic.kind, dynamic.provider.as_ref()?))
        })
        .collect();
    let form_state_fn = quote! {
        fn __actionkit_form_state(
            state: #state_ty,
            request: #p::FormStateRequest,
            memo: #p::MemoScope,
            ctx: #p::Context,
        ) -> #p::BoxFuture<::core::result::Result<#p::FormStateResponse, ::actionkit::InputError>>
        where
            #de
    };
    let body = if let Some(handler) = &cont.attrs.form_state {
        let path = &handler.value;
        let call = quote_spanned!(path.span()=> #path(#state_arg request));
        quote! {
            #form_state_fn {
                ::std::boxed::Box::pin(#p::whole_form::<#ident, _>(request, ctx, move |request| async move {
                    let answer: #p::FormState<#ident> = #call.await;
                    answer
                }))
            }
        }
    } else if !providers.is_empty() {
        let glue: Vec<syn::Ident> = providers
            .iter()
            .map(|(f, _, _)| format_ident!("__actionkit_provide_{}", f.rust_name()))
            .collect();
        let fields = cont.fields();
        let entries = providers.iter().zip(&glue).map(|((f, kind, _), glue)| {
            let name = &f.wire;
            let kind = match kind {
                Kind::Select => quote!(Select),
                Kind::Schema => quote!(Schema),
            };
            let deps = f.deps.iter().map(|d| &fields[d.index].wire);
            quote! {
                #p::DynamicField {
                    name: #name,
                    kind: #p::DynamicKind::#kind,
                    depends_on: &[#(#deps),*],
                    provider: #glue,
                }
            }
        });
        let count = providers.len();
        let functions = providers.iter().zip(&glue).map(|(&(f, kind, path), glue)| {
            provider_glue(cont, f, kind, path, glue, &state_ty, state_arg.as_ref())
        });
        quote! {
            #(#functions)*

            #form_state_fn {
                static FIELDS: [#p::DynamicField<#state_ty>; #count] = [#(#entries),*];
                ::std::boxed::Box::pin(#p::dispatch::<#ident, #state_ty>(state, request, &FIELDS, memo, ctx))
            }
        }
    } else if cont.fields().iter().any(|f| !f.conditions.is_empty()) {
        // Conditional fields alone: the answer is the values, marked by the runtime.
        quote! {
            #form_state_fn {
                static FIELDS: [#p::DynamicField<#state_ty>; 0] = [];
                ::std::boxed::Box::pin(#p::dispatch::<#ident, #state_ty>(state, request, &FIELDS, memo, ctx))
            }
        }
    } else {
        TokenStream::new()
    };
    if body.is_empty() {
        return Dispatch {
            items: TokenStream::new(),
            members: TokenStream::new(),
        };
    }
    let budget = cont.attrs.form_state_budget_ms.as_ref().map(|ms| {
        let ms = ms.value;
        quote!(const FORM_STATE_BUDGET: ::core::option::Option<::core::time::Duration> = ::core::option::Option::Some(::core::time::Duration::from_millis(#ms));)
    });
    let state = match &cont.attrs.state {
        Some(_) => quote!(<#state_ty as #p::FromRef<__S>>::from_ref(state)),
        None => quote!(()),
    };
    let members = quote! {
        const HAS_FORM_STATE: bool = true;
        #budget

        fn form_state(
            state: &__S,
            request: #p::FormStateRequest,
            memo: &#p::MemoScope,
            ctx: #p::Context,
        ) -> ::core::option::Option<#p::FormFuture> {
            ::core::option::Option::Some(__actionkit_form_state(#state, request, ::core::clone::Clone::clone(memo), ctx))
        }
    };
    Dispatch {
        items: body,
        members,
    }
}

fn provider_glue(
    cont: &Container,
    field: &Field,
    kind: Kind,
    path: &syn::Path,
    glue: &syn::Ident,
    state_ty: &TokenStream,
    state_arg: Option<&TokenStream>,
) -> TokenStream {
    let p = quote!(__actionkit_p);
    let fields = cont.fields();
    // Each dependency is read into a local spanned at its name in `depends_on(...)`, and passed
    // from there, so a type mismatch lands on the name.
    let locals: Vec<syn::Ident> = field
        .deps
        .iter()
        .map(|d| {
            format_ident!(
                "__actionkit_{}",
                fields[d.index].rust_name(),
                span = d.at.span()
            )
        })
        .collect();
    let reads = field.deps.iter().zip(&locals).map(|(d, local)| {
        let dep = &fields[d.index];
        let ty = without_option(dep.ty);
        let wire = &dep.wire;
        quote!(let #local: #ty = #p::dependency(&values, #wire)?;)
    });
    let args = field
        .deps
        .iter()
        .zip(&locals)
        .map(|(d, local)| quote_spanned!(d.at.span()=> &#local,));
    let (content, output) = match kind {
        Kind::Select => (quote!(Options), quote!(#p::Options)),
        Kind::Schema => (quote!(Schema), quote!(#p::Schema)),
    };
    // Through `Provider`, so a provider may take a `Context` first or not; a signature that fits
    // neither shape is an error at the provider's path. The arguments' arity is spelled out
    // (`(_, _,)`) so exactly one shape fits the function and the arguments coerce to its
    // parameters (`&String` to `&str`).
    let arity = std::iter::repeat_n(
        quote!(_,),
        usize::from(state_arg.is_some()) + field.deps.len(),
    );
    let call = quote_spanned!(path.span()=> <_ as #p::Provider<_, (#(#arity)*)>>::call(#path, ctx, (#state_arg #(#args)*)));
    let result = quote_spanned!(path.span()=> let result: ::core::result::Result<#output, #p::FieldError> = #call.await;);
    quote! {
        fn #glue(
            state: #state_ty,
            values: #p::JsonMap,
            ctx: #p::Context,
        ) -> #p::BoxFuture<::core::result::Result<#p::Content, #p::FieldError>> {
            ::std::boxed::Box::pin(async move {
                #(#reads)*
                #result
                result.map(#p::Content::#content)
            })
        }
    }
}

/// `Option<T>` → `T`; anything else as is.
fn without_option(ty: &Type) -> &Type {
    if let Type::Path(p) = ty
        && p.qself.is_none()
        && let Some(last) = p.path.segments.last()
        && last.ident == "Option"
        && let PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(GenericArgument::Type(inner)) = args.args.first()
    {
        return inner;
    }
    ty
}
