//! The model of a derive input: the container, its fields or variants, and everything read from
//! their attributes, keeping the `syn` nodes for spans.

use syn::{Data, DeriveInput, Fields, Ident, Type};

use crate::attr::{self, ActionAttrs, FieldAttrs, SerdeContainer, SerdeField};
use crate::ctxt::Ctxt;
use crate::ty::{TyClass, classify};

/// Which derive is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Derive {
    Action,
    InputType,
}

pub struct Container<'a> {
    pub input: &'a DeriveInput,
    pub ident: &'a Ident,
    pub derive: Derive,
    pub attrs: ActionAttrs,
    pub serde: SerdeContainer,
    pub doc: Option<String>,
    pub body: Body<'a>,
}

pub enum Body<'a> {
    Struct(Vec<Field<'a>>),
    Enum(Vec<Variant<'a>>),
    /// A shape that can never be an input; already reported.
    Invalid,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub attrs: FieldAttrs,
    pub serde: SerdeField,
    pub doc: Option<String>,
    /// The name on the wire (serde's): property name, UI scope, form-state field.
    pub name: String,
    /// The syntactic class of `ty`, or why it is unsupported.
    pub class: Result<TyClass, String>,
}

impl Field<'_> {
    /// The Rust name without `r#`.
    pub fn rust_name(&self) -> String {
        self.ident.to_string().trim_start_matches("r#").to_owned()
    }
}

pub struct Variant<'a> {
    pub ident: &'a Ident,
    pub name: String,
    pub skip: bool,
    pub serde: SerdeField,
}

impl<'a> Container<'a> {
    pub fn from_ast(cx: &mut Ctxt, input: &'a DeriveInput, derive: Derive) -> Container<'a> {
        let serde = attr::parse_serde_container(&input.attrs);
        let attrs = match derive {
            Derive::Action => attr::parse_action_attrs(cx, &input.attrs),
            Derive::InputType => ActionAttrs::default(),
        };
        let body = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => {
                    Body::Struct(named.named.iter().map(|f| field(cx, f, &serde)).collect())
                }
                Fields::Unnamed(_) => {
                    cx.error_spanned_by(
                        &input.ident,
                        format!(
                            "an action input must be a struct with named fields; `{}` is a tuple struct",
                            input.ident
                        ),
                    );
                    Body::Invalid
                }
                Fields::Unit => {
                    cx.error_spanned_by(
                        &input.ident,
                        format!(
                            "an action input must be a struct with named fields; `{}` is a unit struct",
                            input.ident
                        ),
                    );
                    Body::Invalid
                }
            },
            Data::Enum(data) if derive == Derive::InputType => {
                let mut variants = Vec::new();
                for v in &data.variants {
                    if !matches!(v.fields, Fields::Unit) {
                        cx.error_spanned_by(
                            &v.ident,
                            format!(
                                "enum variants with data cannot be an input; only unit variants map to a string `enum`, and `{}` holds data",
                                v.ident
                            ),
                        );
                        continue;
                    }
                    let serde_attrs = attr::parse_serde_field(&v.attrs);
                    let name = match (&serde_attrs.rename, serde.rename_all) {
                        (Some(rename), _) => rename.clone(),
                        (None, Some(rule)) => rule.apply_to_variant(&v.ident.to_string()),
                        (None, None) => v.ident.to_string(),
                    };
                    variants.push(Variant {
                        ident: &v.ident,
                        name,
                        skip: serde_attrs.skip,
                        serde: serde_attrs,
                    });
                }
                Body::Enum(variants)
            }
            Data::Enum(_) => {
                cx.error_spanned_by(
                    &input.ident,
                    "`#[derive(Action)]` needs a struct with named fields: an action's input is a JSON object; for a choice of values derive `InputType` on a unit enum and use it as a field",
                );
                Body::Invalid
            }
            Data::Union(_) => {
                cx.error_spanned_by(
                    &input.ident,
                    "an action input must be a struct with named fields, not a union",
                );
                Body::Invalid
            }
        };
        Container {
            input,
            ident: &input.ident,
            derive,
            attrs,
            serde,
            doc: attr::doc_comment(&input.attrs),
            body,
        }
    }

    /// Fields that are part of the input (not `#[serde(skip)]`).
    pub fn fields(&self) -> impl Iterator<Item = &Field<'a>> {
        let fields: &[Field<'a>] = match &self.body {
            Body::Struct(fields) => fields,
            _ => &[],
        };
        fields.iter().filter(|f| !f.serde.skip)
    }
}

fn field<'a>(cx: &mut Ctxt, f: &'a syn::Field, container: &SerdeContainer) -> Field<'a> {
    let ident = f.ident.as_ref().expect("named fields have names");
    let serde = attr::parse_serde_field(&f.attrs);
    let rust_name = ident.to_string().trim_start_matches("r#").to_owned();
    let name = match (&serde.rename, container.rename_all) {
        (Some(rename), _) => rename.clone(),
        (None, Some(rule)) => rule.apply_to_field(&rust_name),
        (None, None) => rust_name,
    };
    Field {
        ident,
        ty: &f.ty,
        attrs: attr::parse_field_attrs(cx, &f.attrs),
        doc: attr::doc_comment(&f.attrs),
        class: classify(&f.ty),
        serde,
        name,
    }
}
