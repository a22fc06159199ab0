//! The resolved model of a derive input, built once: everything later stages need is here,
//! keeping the `syn` nodes for spans. Names on the wire come from serde's own reading of
//! `#[serde(...)]` (`serde_derive_internals`), so they agree with serde by construction;
//! dependencies and the layout are resolved to field indices. `check` only validates this model
//! and `expand` only reads it.

use proc_macro2::{Span, TokenTree};
use quote::format_ident;
use serde_derive_internals::{ast as serde_ast, attr as serde_attr};
use syn::{Data, DeriveInput, Fields, Ident, Type};

use crate::attr::{self, ActionAttrs, FieldAttrs, Spanned};
use crate::ctxt::{Ctxt, did_you_mean, quoted_list};
use crate::symbol::*;
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
    /// `#[action(...)]` as written (empty for `InputType`), for its spans.
    pub attrs: ActionAttrs,
    /// `Action::ID`; empty when missing (already reported).
    pub id: String,
    /// `Action::NAME`: `name = "..."` or the struct name in words.
    pub name: String,
    /// `Action::DESCRIPTION`: `description = "..."` or the doc comment.
    pub description: Option<String>,
    pub serde: SerdeContainer,
    pub body: Body<'a>,
    /// The labels of the UI groups; fields refer to them by index.
    pub groups: Vec<String>,
}

/// What the derives need of the container's `#[serde(...)]`.
#[derive(Default)]
pub struct SerdeContainer {
    /// `#[serde(default)]`: no field is required.
    pub default: bool,
    /// Keys that change the representation in ways a schema cannot follow: `(at, key)`.
    pub unsupported: Vec<(Span, String)>,
}

pub enum Body<'a> {
    /// The input fields (`#[serde(skip)]` ones are not part of the input and not here).
    Struct(Vec<Field<'a>>),
    Enum(Vec<Variant<'a>>),
    /// A shape that can never be an input; already reported.
    Invalid,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    /// `#[field(...)]` as written, for its spans.
    pub attrs: FieldAttrs,
    /// The name on the wire (serde's): property name, UI scope, form-state field.
    pub wire: String,
    /// The variant in the generated `<Action>Field` enum.
    pub variant: Ident,
    pub title: String,
    pub description: Option<String>,
    /// The syntactic class of `ty`, or why it is unsupported.
    pub class: Result<TyClass, String>,
    pub serde: SerdeField,
    /// A dropdown or sub-schema computed while the form is configured.
    pub dynamic: Option<Dynamic>,
    /// `depends_on(...)`, resolved to indices into the input fields, in order.
    pub deps: Vec<Dep>,
    /// Index into [`Container::groups`].
    pub group: Option<usize>,
    /// The `HorizontalLayout` row (an index; fields sharing one share the row).
    pub row: Option<usize>,
    /// What the field's attributes demand of its type.
    pub needs: Vec<NeedAt>,
    /// `visible_when(...)` / `enabled_when(...)`, resolved.
    pub conditions: Vec<Cond>,
}

/// Whether a condition governs showing or editing a field.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Effect {
    Visible,
    Enabled,
}

impl Effect {
    pub fn key(self) -> &'static str {
        match self {
            Effect::Visible => VISIBLE_WHEN,
            Effect::Enabled => ENABLED_WHEN,
        }
    }
}

/// A resolved condition: the field it reads (an index) and the values under which it holds.
pub struct Cond {
    pub effect: Effect,
    /// The key (`visible_when`), for spans.
    pub key: Span,
    pub on: usize,
    /// Where the field is named.
    pub at: Ident,
    pub values: Vec<crate::attr::Literal>,
    pub values_span: Span,
}

/// What the derives need of a field's or variant's `#[serde(...)]`.
#[derive(Default)]
pub struct SerdeField {
    /// `#[serde(default)]` on the field or its container: never `required`.
    pub default: bool,
    pub skip_serializing: Option<Span>,
    pub unsupported: Vec<(Span, String)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Select,
    Schema,
}

pub struct Dynamic {
    pub kind: Kind,
    /// `options = f` / `schema = f`; `None` when the whole-form handler computes it.
    pub provider: Option<syn::Path>,
}

/// A dependency: the field it names and where it is named (for spans).
pub struct Dep {
    pub index: usize,
    pub at: Ident,
}

/// What a field attribute demands of the field's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Text,
    Select,
    Object,
    Integer,
    List,
}

/// A demand on the type and the key that makes it.
pub struct NeedAt {
    pub key: &'static str,
    pub span: Span,
    pub need: Need,
}

pub struct Variant<'a> {
    pub ident: &'a Ident,
    pub wire: String,
    pub skip: bool,
    pub serde: SerdeField,
}

impl Field<'_> {
    /// The Rust name without `r#`.
    pub fn rust_name(&self) -> String {
        unraw(self.ident)
    }
}

impl<'a> Container<'a> {
    /// Whether the action has form state: providers, conditional fields or a whole-form
    /// handler. Only then does it get `<A>Values`, `<A>Config` and `FormAction`.
    pub fn has_form_state(&self) -> bool {
        self.attrs.form_state.is_some()
            || self.fields().iter().any(|f| {
                f.dynamic.as_ref().is_some_and(|d| d.provider.is_some()) || !f.conditions.is_empty()
            })
    }

    /// The input fields; none for an enum or an invalid shape.
    pub fn fields(&self) -> &[Field<'a>] {
        match &self.body {
            Body::Struct(fields) => fields,
            _ => &[],
        }
    }

    /// The model of `input`; `serde_input` is the same tokens parsed as syn 3's tree, which
    /// serde_derive_internals reads (parsed from the macro's input stream, not printed again).
    pub fn from_ast(
        cx: &Ctxt,
        input: &'a DeriveInput,
        serde_input: Option<&syn3::DeriveInput>,
        derive: Derive,
    ) -> Container<'a> {
        // serde's own derive reports malformed `#[serde(...)]`; reporting it again would double
        // every message, so its errors are dropped here.
        let serde_cx = serde_derive_internals::Ctxt::new();
        let private = syn3::Ident::new("__private", Span::call_site());
        let serde = serde_input.and_then(|serde_input| {
            serde_ast::Container::from_ast(
                &serde_cx,
                serde_input,
                serde_derive_internals::Derive::Deserialize,
                &private,
            )
        });
        let _ = serde_cx.check();
        let attrs = match derive {
            Derive::Action => attr::parse_action_attrs(cx, &input.attrs),
            Derive::InputType => ActionAttrs::default(),
        };
        let serde_container = serde.as_ref().map(|s| serde_container(input, &s.attrs));
        let serde_container = serde_container.unwrap_or_default();
        let mut groups = Vec::new();
        let body = match (&input.data, serde.as_ref().map(|s| &s.data)) {
            (Data::Struct(data), Some(serde_ast::Data::Struct(_, serde_fields))) => {
                match &data.fields {
                    Fields::Named(named) => {
                        let mut fields: Vec<Field> = named
                            .named
                            .iter()
                            .zip(serde_fields)
                            .filter(|(_, serde)| !serde.attrs.skip_deserializing())
                            .map(|(f, serde)| field(cx, f, &serde.attrs, serde_container.default))
                            .collect();
                        resolve_dependencies(cx, input, &mut fields);
                        if derive == Derive::Action {
                            groups = resolve_layout(cx, input, &attrs, &mut fields);
                        }
                        Body::Struct(fields)
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
                }
            }
            (Data::Enum(data), Some(serde_ast::Data::Enum(serde_variants)))
                if derive == Derive::InputType =>
            {
                let mut variants = Vec::new();
                for (v, serde) in data.variants.iter().zip(serde_variants) {
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
                    variants.push(Variant {
                        ident: &v.ident,
                        wire: serde.attrs.name().deserialize_name().value.clone(),
                        skip: serde.attrs.skip_deserializing(),
                        serde: serde_variant(v, &serde.attrs),
                    });
                }
                Body::Enum(variants)
            }
            (Data::Enum(_), _) => {
                cx.error_spanned_by(
                    &input.ident,
                    "`#[derive(Action)]` needs a struct with named fields: an action's input is a JSON object; for a choice of values derive `InputType` on a unit enum and use it as a field",
                );
                Body::Invalid
            }
            _ => {
                cx.error_spanned_by(
                    &input.ident,
                    "an action input must be a struct with named fields, not a union",
                );
                Body::Invalid
            }
        };
        let doc = attr::doc_comment(&input.attrs);
        let id = match (&attrs.id, derive) {
            (Some(id), _) => id.value.clone(),
            // A reported unknown key is most likely a misspelt `id`: one message is enough.
            (None, Derive::Action) if !attrs.unknown_key => {
                cx.error_spanned_by(
                    &input.ident,
                    format!(
                        "missing action id; add `#[action(id = \"{}\")]` (the id must never change once published)",
                        snake(&input.ident.to_string())
                    ),
                );
                String::new()
            }
            (None, _) => String::new(),
        };
        Container {
            input,
            ident: &input.ident,
            derive,
            id,
            name: attrs
                .name
                .as_ref()
                .map_or_else(|| name_of(&input.ident.to_string()), |a| a.value.clone()),
            description: attrs.description.as_ref().map(|a| a.value.clone()).or(doc),
            attrs,
            serde: serde_container,
            body,
            groups,
        }
    }
}

fn field<'a>(
    cx: &Ctxt,
    original: &'a syn::Field,
    serde: &serde_attr::Field,
    container_default: bool,
) -> Field<'a> {
    let ident = original.ident.as_ref().expect("named fields have names");
    let attrs = attr::parse_field_attrs(cx, &original.attrs);
    let rust_name = unraw(ident);
    let dynamic = if attrs.dynamic_select.is_some() || attrs.options.is_some() {
        Some(Kind::Select)
    } else if attrs.dynamic_schema.is_some() || attrs.schema.is_some() {
        Some(Kind::Schema)
    } else {
        None
    }
    .map(|kind| Dynamic {
        kind,
        provider: attrs
            .options
            .as_ref()
            .or(attrs.schema.as_ref())
            .map(|p| p.value.clone()),
    });
    let wire = serde.name().deserialize_name().value.clone();
    let mut serde = serde_field(&original.attrs, serde, ident.span());
    serde.default |= container_default;
    Field {
        ident,
        ty: &original.ty,
        wire,
        variant: format_ident!(
            "{}",
            serde_attr::RenameRule::PascalCase.apply_to_field(&rust_name)
        ),
        title: attrs
            .title
            .as_ref()
            .map_or_else(|| title_of(&rust_name), |t| t.value.clone()),
        description: attrs
            .description
            .as_ref()
            .map(|d| d.value.clone())
            .or_else(|| attr::doc_comment(&original.attrs)),
        class: classify(&original.ty),
        needs: needs(&attrs),
        serde,
        dynamic,
        deps: Vec::new(),
        conditions: Vec::new(),
        group: None,
        row: None,
        attrs,
    }
}

/// The type demands of a field's attributes.
fn needs(a: &FieldAttrs) -> Vec<NeedAt> {
    fn at<T>(key: &'static str, attr: &Option<Spanned<T>>, need: Need) -> Option<NeedAt> {
        attr.as_ref().map(|a| NeedAt {
            key,
            span: a.key,
            need,
        })
    }
    [
        at(OPTIONS, &a.options, Need::Select),
        at(SCHEMA, &a.schema, Need::Object),
        at(DYNAMIC_SELECT, &a.dynamic_select, Need::Select),
        at(DYNAMIC_SCHEMA, &a.dynamic_schema, Need::Object),
        at(MULTI, &a.multi, Need::Text),
        at(TEMPLATE, &a.template, Need::Text),
        at(MIN_LENGTH, &a.min_length, Need::Text),
        at(MAX_LENGTH, &a.max_length, Need::Text),
        at(PATTERN, &a.pattern, Need::Text),
        at(FORMAT, &a.format, Need::Text),
        at(MINIMUM, &a.minimum, Need::Integer),
        at(MAXIMUM, &a.maximum, Need::Integer),
        at(MIN_ITEMS, &a.min_items, Need::List),
        at(MAX_ITEMS, &a.max_items, Need::List),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The index of the input field `ident` names, or an error at `ident` with a suggestion.
fn resolve(cx: &Ctxt, input: &DeriveInput, names: &[String], ident: &Ident) -> Option<usize> {
    let name = unraw(ident);
    if let Some(index) = names.iter().position(|n| *n == name) {
        return Some(index);
    }
    let hint = match did_you_mean(&name, names.iter().map(String::as_str)) {
        Some(c) => format!("did you mean `{c}`?"),
        None => format!(
            "the fields are {}",
            quoted_list(&names.iter().map(String::as_str).collect::<Vec<_>>())
        ),
    };
    cx.error_spanned_by(
        ident,
        format!("no field `{name}` in `{}`; {hint}", input.ident),
    );
    None
}

fn resolve_dependencies(cx: &Ctxt, input: &DeriveInput, fields: &mut [Field]) {
    let names: Vec<String> = fields.iter().map(Field::rust_name).collect();
    for field in fields.iter_mut() {
        let named = field.attrs.depends_on.iter().flat_map(|d| &d.value);
        field.deps = named
            .filter_map(|at| {
                resolve(cx, input, &names, at).map(|index| Dep {
                    index,
                    at: at.clone(),
                })
            })
            .collect();
        let mut conditions = Vec::new();
        for (effect, when) in [
            (Effect::Visible, &field.attrs.visible_when),
            (Effect::Enabled, &field.attrs.enabled_when),
        ] {
            let Some(when) = when else { continue };
            let (Some(at), Some(values_span)) = (&when.value.on, when.value.values_span) else {
                continue;
            };
            if let Some(on) = resolve(cx, input, &names, at) {
                conditions.push(Cond {
                    effect,
                    key: when.key,
                    on,
                    at: at.clone(),
                    values: when.value.values.clone(),
                    values_span,
                });
            }
        }
        field.conditions = conditions;
    }
}

/// Folds `#[field(group, row)]` and `#[action(group(...), row(...))]` into per-field indices;
/// returns the group labels.
fn resolve_layout(
    cx: &Ctxt,
    input: &DeriveInput,
    attrs: &ActionAttrs,
    fields: &mut [Field],
) -> Vec<String> {
    fn index_of(names: &mut Vec<String>, name: &str) -> usize {
        names.iter().position(|n| n == name).unwrap_or_else(|| {
            names.push(name.to_owned());
            names.len() - 1
        })
    }
    let names: Vec<String> = fields.iter().map(Field::rust_name).collect();
    let mut groups = Vec::new();
    let mut rows = Vec::new();
    for field in fields.iter_mut() {
        if let Some(group) = &field.attrs.group {
            field.group = Some(index_of(&mut groups, &group.value));
        }
        if let Some(row) = &field.attrs.row {
            field.row = Some(index_of(&mut rows, &row.value));
        }
    }
    for decl in &attrs.groups {
        let group = index_of(&mut groups, &decl.label.value);
        for ident in &decl.fields {
            let Some(i) = resolve(cx, input, &names, ident) else {
                continue;
            };
            match fields[i].group {
                Some(previous) => cx.error_spanned_by(
                    ident,
                    format!(
                        "field `{}` is already in group `{}`; a field belongs to one group",
                        names[i], groups[previous]
                    ),
                ),
                None => fields[i].group = Some(group),
            }
        }
    }
    for (n, row) in attrs.rows.iter().enumerate() {
        // Declared rows are told apart from named ones by a name no `row = "..."` can clash with.
        let row_index = index_of(&mut rows, &format!("row({n})"));
        for ident in row {
            let Some(i) = resolve(cx, input, &names, ident) else {
                continue;
            };
            if fields[i].row.is_some() {
                cx.error_spanned_by(
                    ident,
                    format!(
                        "field `{}` is already in a row; a field belongs to one row",
                        names[i]
                    ),
                );
            } else {
                fields[i].row = Some(row_index);
            }
        }
    }
    groups
}

/// The top-level keys of `#[serde(...)]` with their spans: serde_derive_internals says what the
/// attributes mean, this says where a key was written, for errors at the key.
fn serde_keys(attrs: &[syn::Attribute]) -> Vec<(String, Span)> {
    let mut keys = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident(SERDE)) {
        let syn::Meta::List(list) = &attr.meta else {
            continue;
        };
        let mut at_key = true;
        for token in list.tokens.clone() {
            match &token {
                TokenTree::Punct(p) if p.as_char() == ',' => at_key = true,
                TokenTree::Ident(ident) if at_key => {
                    keys.push((ident.to_string(), ident.span()));
                    at_key = false;
                }
                _ => at_key = false,
            }
        }
    }
    keys
}

/// The first of `names` written in `keys`: `(span, key as written)`.
fn find_key(keys: &[(String, Span)], names: &[&str], fallback: Span) -> (Span, String) {
    keys.iter()
        .find(|(k, _)| names.contains(&k.as_str()))
        .map(|(k, span)| (*span, k.clone()))
        .unwrap_or_else(|| (fallback, names[0].to_owned()))
}

fn serde_container(input: &DeriveInput, serde: &serde_attr::Container) -> SerdeContainer {
    let keys = serde_keys(&input.attrs);
    let fallback = input.ident.span();
    let mut unsupported = Vec::new();
    let mut refuse = |refused: bool, names: &[&str]| {
        if refused {
            unsupported.push(find_key(&keys, names, fallback));
        }
    };
    let tag = serde.tag();
    refuse(
        matches!(
            tag,
            serde_attr::TagType::Internal { .. } | serde_attr::TagType::Adjacent { .. }
        ),
        &["tag"],
    );
    refuse(matches!(tag, serde_attr::TagType::None), &["untagged"]);
    refuse(serde.transparent(), &["transparent"]);
    refuse(serde.type_from().is_some(), &["from"]);
    refuse(serde.type_try_from().is_some(), &["try_from"]);
    refuse(serde.type_into().is_some(), &["into"]);
    refuse(serde.remote().is_some(), &["remote"]);
    refuse(
        matches!(serde.identifier(), serde_attr::Identifier::Variant),
        &["variant_identifier"],
    );
    refuse(
        matches!(serde.identifier(), serde_attr::Identifier::Field),
        &["field_identifier"],
    );
    let rules = serde.rename_all_rules();
    if rules.serialize != rules.deserialize {
        let (span, _) = find_key(&keys, &["rename_all"], fallback);
        unsupported.push((
            span,
            "rename_all(serialize = ..., deserialize = ...) with different rules".into(),
        ));
    }
    SerdeContainer {
        default: !serde.default().is_none(),
        unsupported,
    }
}

fn serde_field(attrs: &[syn::Attribute], serde: &serde_attr::Field, fallback: Span) -> SerdeField {
    let keys = serde_keys(attrs);
    let with = serde.serialize_with().is_some() || serde.deserialize_with().is_some();
    let mut unsupported =
        not_in_a_schema(&keys, serde.aliases().len(), with, serde.name(), fallback);
    if serde.flatten() {
        unsupported.push(find_key(&keys, &["flatten"], fallback));
    }
    let skip_serializing = (serde.skip_serializing() || serde.skip_serializing_if().is_some())
        .then(|| {
            find_key(
                &keys,
                &["skip_serializing", "skip_serializing_if"],
                fallback,
            )
            .0
        });
    SerdeField {
        default: !serde.default().is_none(),
        skip_serializing,
        unsupported,
    }
}

fn serde_variant(variant: &syn::Variant, serde: &serde_attr::Variant) -> SerdeField {
    let keys = serde_keys(&variant.attrs);
    let with = serde.serialize_with().is_some() || serde.deserialize_with().is_some();
    let fallback = variant.ident.span();
    let unsupported = not_in_a_schema(&keys, serde.aliases().len(), with, serde.name(), fallback);
    SerdeField {
        unsupported,
        ..SerdeField::default()
    }
}

/// The serde keys a field and a variant share that one schema cannot describe: several
/// `alias`es, `with`/`deserialize_with`/`serialize_with`, and names apart per direction.
/// (serde_derive_internals' `Field` and `Variant` share no trait, so their parts come
/// separately.)
fn not_in_a_schema(
    keys: &[(String, Span)],
    aliases: usize,
    with: bool,
    name: &serde_derive_internals::name::MultiName,
    fallback: Span,
) -> Vec<(Span, String)> {
    let mut unsupported = Vec::new();
    if aliases > 1 {
        unsupported.push(find_key(keys, &["alias"], fallback));
    }
    if with {
        let names = ["with", "deserialize_with", "serialize_with"];
        unsupported.push(find_key(keys, &names, fallback));
    }
    renamed_apart(keys, name, &mut unsupported);
    unsupported
}

/// `rename(serialize = "a", deserialize = "b")`: one schema cannot describe both names.
fn renamed_apart(
    keys: &[(String, Span)],
    name: &serde_derive_internals::name::MultiName,
    unsupported: &mut Vec<(Span, String)>,
) {
    let renamed = keys.iter().find(|(k, _)| k == "rename");
    if let (Some((_, span)), true) = (
        renamed,
        name.serialize_name().value != name.deserialize_name().value,
    ) {
        unsupported.push((
            *span,
            "rename(serialize = ..., deserialize = ...) with different names".into(),
        ));
    }
}

fn unraw(ident: &Ident) -> String {
    ident.to_string().trim_start_matches("r#").to_owned()
}

/// `SendEmail` → `send_email`.
fn snake(ident: &str) -> String {
    let mut out = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// `audience_id` → `Audience id`.
fn title_of(name: &str) -> String {
    let words: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    let mut title = words.join(" ");
    if let Some(first) = title.get(0..1) {
        title = first.to_uppercase() + &title[1..];
    }
    title
}

/// `SendEmail` → `Send email`; acronyms stay as written (`HTTPCall` → `HTTP call`).
fn name_of(ident: &str) -> String {
    let chars: Vec<char> = ident.chars().collect();
    let mut words: Vec<String> = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        let boundary = i > 0
            && c.is_uppercase()
            && (chars[i - 1].is_lowercase() || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
        if boundary || words.is_empty() {
            words.push(String::new());
        }
        if let Some(word) = words.last_mut() {
            word.push(c);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn model(input: &DeriveInput, derive: Derive) -> (Container<'_>, String) {
        let cx = Ctxt::default();
        let serde_input = syn3::parse2(quote::ToTokens::to_token_stream(input)).ok();
        let cont = Container::from_ast(&cx, input, serde_input.as_ref(), derive);
        let errors = cx.to_compile_errors().to_string();
        (cont, errors)
    }

    #[test]
    fn titles_and_names_are_derived() {
        assert_eq!(title_of("audience_id"), "Audience id");
        assert_eq!(title_of("message"), "Message");
        assert_eq!(name_of("SendEmail"), "Send email");
        assert_eq!(name_of("HTTPCall"), "HTTP call");
        assert_eq!(name_of("Notify"), "Notify");
        assert_eq!(snake("SendEmail"), "send_email");
    }

    #[test]
    fn wire_names_are_serdes() {
        let input: DeriveInput = parse_quote! {
            #[serde(rename_all = "camelCase")]
            #[action(id = "x")]
            struct X {
                audience_id: String,
                #[serde(rename = "seg")]
                segment_id: String,
                #[serde(skip)]
                cache: u8,
                r#type: String,
            }
        };
        let (cont, errors) = model(&input, Derive::Action);
        assert_eq!(errors, "");
        let wire: Vec<&str> = cont.fields().iter().map(|f| f.wire.as_str()).collect();
        assert_eq!(wire, ["audienceId", "seg", "type"]);
        assert_eq!(cont.fields()[0].variant, "AudienceId");
    }

    #[test]
    fn dependencies_and_layout_are_indices() {
        let input: DeriveInput = parse_quote! {
            #[action(id = "x", row(a, b), group(label = "G", fields(c)))]
            struct X {
                a: String,
                b: String,
                #[field(options = f, depends_on(a, b))]
                c: String,
                #[field(options = g, depends_on(nope))]
                d: String,
            }
        };
        let (cont, errors) = model(&input, Derive::Action);
        assert!(errors.contains("no field `nope` in `X`"), "{errors}");
        let f = cont.fields();
        let deps: Vec<usize> = f[2].deps.iter().map(|d| d.index).collect();
        assert_eq!(deps, [0, 1]);
        assert!(f[3].deps.is_empty());
        assert_eq!((f[0].row, f[1].row, f[2].row), (Some(0), Some(0), None));
        assert_eq!(f[2].group.map(|g| cont.groups[g].as_str()), Some("G"));
    }

    #[test]
    fn unsupported_serde_keys_are_found_where_written() {
        let input: DeriveInput = parse_quote! {
            #[action(id = "x")]
            struct X {
                #[serde(default, flatten)]
                a: Inner,
                #[serde(alias = "bee")]
                b: String,
            }
        };
        let (cont, _) = model(&input, Derive::Action);
        let keys: Vec<&str> = cont
            .fields()
            .iter()
            .flat_map(|f| f.serde.unsupported.iter().map(|(_, k)| k.as_str()))
            .collect();
        assert_eq!(keys, ["flatten", "alias"]);
        assert!(cont.fields()[0].serde.default);
    }
}
