//! Parsing `#[action(...)]`, `#[field(...)]`, `#[serde(...)]` and doc comments into typed structs.
//! Parsing records every problem in the [`Ctxt`] and keeps going.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::parse::Parse;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitStr, Token, UnOp};

use crate::case::RenameRule;
use crate::ctxt::{Ctxt, suggestion};
use crate::symbol::*;

/// A parsed attribute value with the spans of its key and value.
#[derive(Clone, Debug)]
pub struct Attr<T> {
    pub value: T,
    pub key: Span,
    pub span: Span,
}

/// Sets `slot` once; a second occurrence is a "duplicate" error on the second key.
fn set<T>(cx: &mut Ctxt, slot: &mut Option<Attr<T>>, key: &str, attr: Attr<T>, on: &str) {
    if slot.is_some() {
        cx.error(
            attr.key,
            format!("duplicate {on} attribute `{key}`; remove one of them"),
        );
    } else {
        *slot = Some(attr);
    }
}

/// A literal in `default = ...`.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Str(String),
    Int(i128),
    Bool(bool),
    List(Vec<Literal>),
}

/// `#[action(...)]`.
#[derive(Default)]
pub struct ActionAttrs {
    pub id: Option<Attr<String>>,
    pub name: Option<Attr<String>>,
    pub description: Option<Attr<String>>,
    pub execute: Option<Attr<syn::Path>>,
    pub state: Option<Attr<syn::Type>>,
    pub form_state: Option<Attr<syn::Path>>,
    pub form_state_budget_ms: Option<Attr<u64>>,
    pub groups: Vec<GroupDecl>,
    pub rows: Vec<Vec<Ident>>,
    pub previous: Option<Attr<syn::Type>>,
    pub permissions: Vec<PermissionDecl>,
    /// An unknown key was reported: a missing `id` is then most likely that typo.
    pub unknown_key: bool,
}

/// `permission(name = "...", purpose = "...")` inside `#[action(...)]`.
pub struct PermissionDecl {
    pub name: Attr<String>,
    pub purpose: Attr<String>,
}

/// `group(label = "...", fields(a, b))` inside `#[action(...)]`.
pub struct GroupDecl {
    pub label: Attr<String>,
    pub fields: Vec<Ident>,
}

/// `#[field(...)]`.
#[derive(Default)]
pub struct FieldAttrs {
    pub title: Option<Attr<String>>,
    pub description: Option<Attr<String>>,
    pub label: Option<Attr<String>>,
    pub default: Option<Attr<Literal>>,
    pub min_length: Option<Attr<u64>>,
    pub max_length: Option<Attr<u64>>,
    pub pattern: Option<Attr<String>>,
    pub format: Option<Attr<String>>,
    pub minimum: Option<Attr<i128>>,
    pub maximum: Option<Attr<i128>>,
    pub min_items: Option<Attr<u64>>,
    pub max_items: Option<Attr<u64>>,
    pub options: Option<Attr<syn::Path>>,
    pub schema: Option<Attr<syn::Path>>,
    pub depends_on: Option<Attr<Vec<Ident>>>,
    pub dynamic_select: Option<Attr<()>>,
    pub dynamic_schema: Option<Attr<()>>,
    pub multi: Option<Attr<()>>,
    pub template: Option<Attr<()>>,
    pub group: Option<Attr<String>>,
    pub row: Option<Attr<String>>,
}

impl FieldAttrs {
    /// A dropdown: `dynamic_select` or `options = ...`.
    pub fn is_select(&self) -> bool {
        self.dynamic_select.is_some() || self.options.is_some()
    }

    /// A sub-schema: `dynamic_schema` or `schema = ...`.
    pub fn is_schema(&self) -> bool {
        self.dynamic_schema.is_some() || self.schema.is_some()
    }

    /// The provider, if one is named.
    pub fn provider(&self) -> Option<&Attr<syn::Path>> {
        self.options.as_ref().or(self.schema.as_ref())
    }
}

pub fn parse_action_attrs(cx: &mut Ctxt, attrs: &[syn::Attribute]) -> ActionAttrs {
    let mut out = ActionAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident(ACTION)) {
        let result = attr.parse_nested_meta(|meta| {
            let key = key_of(&meta)?;
            match key.as_str() {
                ID => set(cx, &mut out.id, ID, string(&meta, ID)?, "action"),
                NAME => set(cx, &mut out.name, NAME, string(&meta, NAME)?, "action"),
                DESCRIPTION => set(
                    cx,
                    &mut out.description,
                    DESCRIPTION,
                    string(&meta, DESCRIPTION)?,
                    "action",
                ),
                GROUP => {
                    if let Some(group) = group_decl(cx, &meta)? {
                        out.groups.push(group);
                    }
                }
                ROW => out.rows.push(ident_list(&meta, ROW)?),
                EXECUTE => set(
                    cx,
                    &mut out.execute,
                    EXECUTE,
                    path(&meta, EXECUTE)?,
                    "action",
                ),
                STATE => set(cx, &mut out.state, STATE, ty(&meta, STATE)?, "action"),
                PREVIOUS => set(
                    cx,
                    &mut out.previous,
                    PREVIOUS,
                    ty(&meta, PREVIOUS)?,
                    "action",
                ),
                PERMISSION => {
                    if let Some(permission) = permission_decl(cx, &meta)? {
                        out.permissions.push(permission);
                    }
                }
                FORM_STATE => set(
                    cx,
                    &mut out.form_state,
                    FORM_STATE,
                    path(&meta, FORM_STATE)?,
                    "action",
                ),
                FORM_STATE_BUDGET_MS => set(
                    cx,
                    &mut out.form_state_budget_ms,
                    FORM_STATE_BUDGET_MS,
                    count(&meta, FORM_STATE_BUDGET_MS)?,
                    "action",
                ),
                other => {
                    cx.error(
                        meta.path.span(),
                        format!(
                            "unknown action attribute `{other}`{}",
                            suggestion(other, ACTION_KEYS)
                        ),
                    );
                    skip_value(&meta)?;
                    out.unknown_key = true;
                }
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
    out
}

pub fn parse_field_attrs(cx: &mut Ctxt, attrs: &[syn::Attribute]) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident(FIELD)) {
        let result = attr.parse_nested_meta(|meta| {
            let key = key_of(&meta)?;
            let f = &mut out;
            match key.as_str() {
                TITLE => set(cx, &mut f.title, TITLE, string(&meta, TITLE)?, "field"),
                DESCRIPTION => set(
                    cx,
                    &mut f.description,
                    DESCRIPTION,
                    string(&meta, DESCRIPTION)?,
                    "field",
                ),
                LABEL => set(cx, &mut f.label, LABEL, string(&meta, LABEL)?, "field"),
                DEFAULT => set(cx, &mut f.default, DEFAULT, literal(&meta)?, "field"),
                MIN_LENGTH => set(
                    cx,
                    &mut f.min_length,
                    MIN_LENGTH,
                    count(&meta, MIN_LENGTH)?,
                    "field",
                ),
                MAX_LENGTH => set(
                    cx,
                    &mut f.max_length,
                    MAX_LENGTH,
                    count(&meta, MAX_LENGTH)?,
                    "field",
                ),
                PATTERN => set(
                    cx,
                    &mut f.pattern,
                    PATTERN,
                    string(&meta, PATTERN)?,
                    "field",
                ),
                FORMAT => set(cx, &mut f.format, FORMAT, string(&meta, FORMAT)?, "field"),
                MINIMUM => set(
                    cx,
                    &mut f.minimum,
                    MINIMUM,
                    integer(&meta, MINIMUM)?,
                    "field",
                ),
                MAXIMUM => set(
                    cx,
                    &mut f.maximum,
                    MAXIMUM,
                    integer(&meta, MAXIMUM)?,
                    "field",
                ),
                MIN_ITEMS => set(
                    cx,
                    &mut f.min_items,
                    MIN_ITEMS,
                    count(&meta, MIN_ITEMS)?,
                    "field",
                ),
                MAX_ITEMS => set(
                    cx,
                    &mut f.max_items,
                    MAX_ITEMS,
                    count(&meta, MAX_ITEMS)?,
                    "field",
                ),
                OPTIONS => set(cx, &mut f.options, OPTIONS, path(&meta, OPTIONS)?, "field"),
                SCHEMA => set(cx, &mut f.schema, SCHEMA, path(&meta, SCHEMA)?, "field"),
                DEPENDS_ON => {
                    let key = meta.path.span();
                    let idents = ident_list(&meta, DEPENDS_ON)?;
                    set(
                        cx,
                        &mut f.depends_on,
                        DEPENDS_ON,
                        Attr {
                            value: idents,
                            key,
                            span: key,
                        },
                        "field",
                    );
                }
                DYNAMIC_SELECT => set(
                    cx,
                    &mut f.dynamic_select,
                    DYNAMIC_SELECT,
                    flag(&meta, DYNAMIC_SELECT)?,
                    "field",
                ),
                DYNAMIC_SCHEMA => set(
                    cx,
                    &mut f.dynamic_schema,
                    DYNAMIC_SCHEMA,
                    flag(&meta, DYNAMIC_SCHEMA)?,
                    "field",
                ),
                MULTI => set(cx, &mut f.multi, MULTI, flag(&meta, MULTI)?, "field"),
                TEMPLATE => set(
                    cx,
                    &mut f.template,
                    TEMPLATE,
                    flag(&meta, TEMPLATE)?,
                    "field",
                ),
                GROUP => set(cx, &mut f.group, GROUP, string(&meta, GROUP)?, "field"),
                ROW => set(cx, &mut f.row, ROW, string(&meta, ROW)?, "field"),
                other => {
                    cx.error(
                        meta.path.span(),
                        format!(
                            "unknown field attribute `{other}`{}",
                            suggestion(other, FIELD_KEYS)
                        ),
                    );
                    skip_value(&meta)?;
                }
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
    out
}

fn key_of(meta: &ParseNestedMeta) -> syn::Result<String> {
    match meta.path.get_ident() {
        Some(ident) => Ok(ident.to_string()),
        None => Err(meta.error("expected an attribute name such as `title`, not a path")),
    }
}

/// Consumes `= value` or `(...)` after an unknown key so parsing can go on.
fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<proc_macro2::TokenStream>()?;
    }
    Ok(())
}

fn value_expr(meta: &ParseNestedMeta, key: &str, example: &str) -> syn::Result<(Span, Expr)> {
    if !meta.input.peek(Token![=]) {
        return Err(syn::Error::new(
            meta.path.span(),
            format!("`{key}` needs a value, e.g. `{example}`"),
        ));
    }
    let key_span = meta.path.span();
    let expr: Expr = meta.value()?.parse()?;
    Ok((key_span, expr))
}

fn string(meta: &ParseNestedMeta, key: &str) -> syn::Result<Attr<String>> {
    let example = format!("{key} = \"...\"");
    let (key_span, expr) = value_expr(meta, key, &example)?;
    match &expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(Attr {
            value: s.value(),
            key: key_span,
            span: s.span(),
        }),
        Expr::Path(path) => {
            let name = quote::quote!(#path).to_string().replace(' ', "");
            Err(syn::Error::new_spanned(
                expr,
                format!("expected a string, found a path; did you mean `{key} = \"{name}\"`?"),
            ))
        }
        _ => Err(syn::Error::new_spanned(
            expr,
            format!("`{key}` takes a string, e.g. `{example}`"),
        )),
    }
}

/// `key = some::path`; a quoted path gets a did-you-mean.
pub fn path(meta: &ParseNestedMeta, key: &str) -> syn::Result<Attr<syn::Path>> {
    let (key_span, expr) = value_expr(meta, key, &format!("{key} = my_function"))?;
    match &expr {
        Expr::Path(p) if p.qself.is_none() => Ok(Attr {
            value: p.path.clone(),
            key: key_span,
            span: expr.span(),
        }),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Err(syn::Error::new_spanned(
            &expr,
            format!(
                "expected a path, found a string; did you mean `{key} = {}`?",
                s.value()
            ),
        )),
        _ => Err(syn::Error::new_spanned(
            &expr,
            format!("`{key}` takes a function path, e.g. `{key} = my_function`"),
        )),
    }
}

/// `key = SomeType`; a quoted type gets a did-you-mean.
fn ty(meta: &ParseNestedMeta, key: &str) -> syn::Result<Attr<syn::Type>> {
    let key_span = meta.path.span();
    let value = meta.value()?;
    if value.peek(LitStr) {
        let s: LitStr = value.parse()?;
        return Err(syn::Error::new(
            s.span(),
            format!(
                "expected a type, found a string; did you mean `{key} = {}`?",
                s.value()
            ),
        ));
    }
    let parsed: syn::Type = value.parse()?;
    Ok(Attr {
        span: parsed.span(),
        value: parsed,
        key: key_span,
    })
}

fn flag(meta: &ParseNestedMeta, key: &str) -> syn::Result<Attr<()>> {
    let key_span = meta.path.span();
    if meta.input.peek(Token![=]) {
        let expr: Expr = meta.value()?.parse()?;
        return Err(syn::Error::new_spanned(
            expr,
            format!("`{key}` is a flag and takes no value; write `{key}`"),
        ));
    }
    Ok(Attr {
        value: (),
        key: key_span,
        span: key_span,
    })
}

fn int_of(expr: &Expr) -> Option<syn::Result<i128>> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => Some(i.base10_parse::<i128>()),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => Some(i.base10_parse::<i128>().map(|n| -n)),
            _ => None,
        },
        _ => None,
    }
}

fn integer(meta: &ParseNestedMeta, key: &str) -> syn::Result<Attr<i128>> {
    let (key_span, expr) = value_expr(meta, key, &format!("{key} = 1"))?;
    match int_of(&expr) {
        Some(value) => {
            let value = value?;
            if i64::try_from(value).is_err() {
                return Err(syn::Error::new_spanned(
                    &expr,
                    format!("`{key}` must fit in an `i64`"),
                ));
            }
            Ok(Attr {
                value,
                key: key_span,
                span: expr.span(),
            })
        }
        None => match &expr {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Err(syn::Error::new_spanned(
                &expr,
                format!(
                    "expected an integer, found a string; did you mean `{key} = {}`?",
                    s.value()
                ),
            )),
            _ => Err(syn::Error::new_spanned(
                &expr,
                format!("`{key}` takes an integer, e.g. `{key} = 1`"),
            )),
        },
    }
}

fn count(meta: &ParseNestedMeta, key: &str) -> syn::Result<Attr<u64>> {
    let attr = integer(meta, key)?;
    match u64::try_from(attr.value) {
        Ok(value) => Ok(Attr {
            value,
            key: attr.key,
            span: attr.span,
        }),
        Err(_) => Err(syn::Error::new(
            attr.span,
            format!("`{key}` must not be negative"),
        )),
    }
}

fn literal(meta: &ParseNestedMeta) -> syn::Result<Attr<Literal>> {
    let (key_span, expr) = value_expr(meta, DEFAULT, "default = 3")?;
    let value = literal_of(&expr)?;
    Ok(Attr {
        value,
        key: key_span,
        span: expr.span(),
    })
}

fn literal_of(expr: &Expr) -> syn::Result<Literal> {
    if let Some(int) = int_of(expr) {
        let int = int?;
        if i64::try_from(int).is_err() {
            return Err(syn::Error::new_spanned(
                expr,
                "a `default` integer must fit in an `i64`",
            ));
        }
        return Ok(Literal::Int(int));
    }
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(Literal::Str(s.value())),
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok(Literal::Bool(b.value)),
        Expr::Array(array) => array
            .elems
            .iter()
            .map(literal_of)
            .collect::<syn::Result<_>>()
            .map(Literal::List),
        _ => Err(syn::Error::new_spanned(
            expr,
            "`default` takes a literal: a string, an integer, a boolean or an array of them, e.g. `default = 3`",
        )),
    }
}

/// `row(a, b)` / `fields(a, b)`: a parenthesised list of field names.
fn ident_list(meta: &ParseNestedMeta, key: &str) -> syn::Result<Vec<Ident>> {
    if !meta.input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            meta.path.span(),
            format!("`{key}` takes a list of field names, e.g. `{key}(first_name, last_name)`"),
        ));
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let items = content.parse_terminated(Expr::parse, Token![,])?;
    let mut idents = Vec::new();
    for item in &items {
        match item {
            Expr::Path(path) if path.path.get_ident().is_some() => {
                idents.push(path.path.get_ident().cloned().expect("checked"))
            }
            Expr::Lit(ExprLit {
                lit: Lit::Str(_), ..
            }) => {
                let names: Vec<String> = items
                    .iter()
                    .map(|i| match i {
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }) => s.value(),
                        other => quote::quote!(#other).to_string(),
                    })
                    .collect();
                return Err(syn::Error::new_spanned(
                    item,
                    format!(
                        "expected a field name, found a string; did you mean `{key}({})`?",
                        names.join(", ")
                    ),
                ));
            }
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    format!("expected a field name in `{key}(...)`"),
                ));
            }
        }
    }
    Ok(idents)
}

fn permission_decl(cx: &mut Ctxt, meta: &ParseNestedMeta) -> syn::Result<Option<PermissionDecl>> {
    const EXAMPLE: &str =
        "e.g. `permission(name = \"customer_read\", purpose = \"Reads the customer's email\")`";
    let span = meta.path.span();
    if !meta.input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            span,
            format!("`permission` takes a name and a purpose, {EXAMPLE}"),
        ));
    }
    let mut name = None;
    let mut purpose = None;
    meta.parse_nested_meta(|inner| {
        let key = key_of(&inner)?;
        match key.as_str() {
            NAME => set(cx, &mut name, NAME, string(&inner, NAME)?, "permission"),
            PURPOSE => set(
                cx,
                &mut purpose,
                PURPOSE,
                string(&inner, PURPOSE)?,
                "permission",
            ),
            other => {
                cx.error(
                    inner.path.span(),
                    format!(
                        "unknown permission attribute `{other}`{}",
                        suggestion(other, PERMISSION_KEYS)
                    ),
                );
                skip_value(&inner)?;
            }
        }
        Ok(())
    })?;
    match (name, purpose) {
        (Some(name), Some(purpose)) => Ok(Some(PermissionDecl { name, purpose })),
        _ => {
            cx.error(
                span,
                format!(
                    "`permission` needs both `name = \"...\"` and `purpose = \"...\"`, {EXAMPLE}"
                ),
            );
            Ok(None)
        }
    }
}

fn group_decl(cx: &mut Ctxt, meta: &ParseNestedMeta) -> syn::Result<Option<GroupDecl>> {
    let group_span = meta.path.span();
    if !meta.input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            group_span,
            "`group` takes a label and fields, e.g. `group(label = \"Delivery\", fields(audience_id, segment_id))`",
        ));
    }
    let mut label = None;
    let mut fields = None;
    meta.parse_nested_meta(|inner| {
        let key = key_of(&inner)?;
        match key.as_str() {
            LABEL => set(cx, &mut label, LABEL, string(&inner, LABEL)?, "group"),
            FIELDS => fields = Some(ident_list(&inner, FIELDS)?),
            other => {
                cx.error(
                    inner.path.span(),
                    format!(
                        "unknown group attribute `{other}`{}",
                        suggestion(other, GROUP_KEYS)
                    ),
                );
                skip_value(&inner)?;
            }
        }
        Ok(())
    })?;
    match (label, fields) {
        (Some(label), Some(fields)) => Ok(Some(GroupDecl { label, fields })),
        _ => {
            cx.error(group_span, "`group` needs both `label = \"...\"` and `fields(...)`, e.g. `group(label = \"Delivery\", fields(audience_id, segment_id))`");
            Ok(None)
        }
    }
}

/// What the derives read of `#[serde(...)]` on the container.
#[derive(Default)]
pub struct SerdeContainer {
    pub rename_all: Option<RenameRule>,
    pub default: bool,
    /// Keys that change the representation in ways a schema cannot follow.
    pub unsupported: Vec<(Span, String)>,
}

/// What the derives read of `#[serde(...)]` on a field or variant.
#[derive(Default)]
pub struct SerdeField {
    pub rename: Option<String>,
    pub default: bool,
    pub skip: bool,
    pub skip_serializing: Option<Span>,
    pub unsupported: Vec<(Span, String)>,
}

const CONTAINER_UNSUPPORTED: &[&str] = &[
    "tag",
    "content",
    "untagged",
    "transparent",
    "from",
    "try_from",
    "into",
    "remote",
    "variant_identifier",
    "field_identifier",
];
const FIELD_UNSUPPORTED: &[&str] = &[
    "flatten",
    "alias",
    "with",
    "deserialize_with",
    "serialize_with",
];

/// Reads serde's attributes leniently: anything serde itself would reject is left for serde to
/// report, so a mistake is reported once.
pub fn parse_serde_container(attrs: &[syn::Attribute]) -> SerdeContainer {
    let mut out = SerdeContainer::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident(SERDE)) {
        let _ = attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(Ident::to_string)
                .unwrap_or_default();
            match key.as_str() {
                "rename_all" => match serde_name(&meta)? {
                    Some(rule) => match RenameRule::parse(&rule) {
                        Some(rule) => out.rename_all = Some(rule),
                        None => return Ok(()),
                    },
                    None => out.unsupported.push((
                        meta.path.span(),
                        "rename_all(serialize = ..., deserialize = ...) with different rules"
                            .into(),
                    )),
                },
                "default" => {
                    out.default = true;
                    skip_value(&meta)?;
                }
                k if CONTAINER_UNSUPPORTED.contains(&k) => {
                    out.unsupported.push((meta.path.span(), k.to_owned()));
                    skip_value(&meta)?;
                }
                _ => skip_value(&meta)?,
            }
            Ok(())
        });
    }
    out
}

/// Reads `#[serde(...)]` on a field or a variant.
pub fn parse_serde_field(attrs: &[syn::Attribute]) -> SerdeField {
    let mut out = SerdeField::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident(SERDE)) {
        let _ = attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(Ident::to_string)
                .unwrap_or_default();
            match key.as_str() {
                "rename" => match serde_name(&meta)? {
                    Some(name) => out.rename = Some(name),
                    None => out.unsupported.push((
                        meta.path.span(),
                        "rename(serialize = ..., deserialize = ...) with different names".into(),
                    )),
                },
                "default" => {
                    out.default = true;
                    skip_value(&meta)?;
                }
                "skip" | "skip_deserializing" => out.skip = true,
                "skip_serializing" | "skip_serializing_if" => {
                    out.skip_serializing = Some(meta.path.span());
                    skip_value(&meta)?;
                }
                k if FIELD_UNSUPPORTED.contains(&k) => {
                    out.unsupported.push((meta.path.span(), k.to_owned()));
                    skip_value(&meta)?;
                }
                _ => skip_value(&meta)?,
            }
            Ok(())
        });
    }
    out
}

/// `= "x"`, or `(serialize = "x", deserialize = "x")` when both agree; `None` when they differ.
fn serde_name(meta: &ParseNestedMeta) -> syn::Result<Option<String>> {
    if meta.input.peek(Token![=]) {
        return Ok(Some(meta.value()?.parse::<LitStr>()?.value()));
    }
    let (mut ser, mut de) = (None, None);
    meta.parse_nested_meta(|inner| {
        let value = inner.value()?.parse::<LitStr>()?.value();
        if inner.path.is_ident("serialize") {
            ser = Some(value);
        } else if inner.path.is_ident("deserialize") {
            de = Some(value);
        }
        Ok(())
    })?;
    Ok(match (ser, de) {
        (Some(s), Some(d)) if s == d => Some(d),
        (Some(_), Some(_)) => None,
        (s, d) => d.or(s),
    })
}

/// The doc comment as a description: lines trimmed, lines of one paragraph joined by a space,
/// paragraphs by a blank line.
pub fn doc_comment(attrs: &[syn::Attribute]) -> Option<String> {
    let mut paragraphs: Vec<String> = vec![String::new()];
    for attr in attrs.iter().filter(|a| a.path().is_ident(DOC)) {
        let syn::Meta::NameValue(nv) = &attr.meta else {
            continue;
        };
        let Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) = &nv.value
        else {
            continue;
        };
        for line in s.value().split('\n') {
            let line = line.trim();
            let current = paragraphs.last_mut().expect("never empty");
            if line.is_empty() {
                if !current.is_empty() {
                    paragraphs.push(String::new());
                }
            } else {
                if !current.is_empty() {
                    current.push(' ');
                }
                current.push_str(line);
            }
        }
    }
    let text = paragraphs
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn field_attributes_parse_and_accumulate_errors() {
        let field: syn::Field = parse_quote! {
            /// Pick one
            #[field(title = "Audience", dynamic_select, min_length = 1, default = ["a", -2, true], dynamic_selct)]
            audience_id: String
        };
        let mut cx = Ctxt::default();
        let attrs = parse_field_attrs(&mut cx, &field.attrs);
        assert_eq!(attrs.title.unwrap().value, "Audience");
        assert!(attrs.dynamic_select.is_some());
        assert_eq!(attrs.min_length.unwrap().value, 1);
        assert_eq!(
            attrs.default.unwrap().value,
            Literal::List(vec![
                Literal::Str("a".into()),
                Literal::Int(-2),
                Literal::Bool(true)
            ])
        );
        assert!(cx.has_errors(), "the typo must be reported");
        assert!(
            cx.to_compile_errors()
                .to_string()
                .contains("did you mean `dynamic_select`")
        );
    }

    #[test]
    fn doc_comments_become_paragraphs() {
        let field: syn::Field = parse_quote! {
            /// First line
            /// continues.
            ///
            /// Second paragraph.
            x: String
        };
        assert_eq!(
            doc_comment(&field.attrs).unwrap(),
            "First line continues.\n\nSecond paragraph."
        );
    }

    #[test]
    fn serde_attributes_are_read() {
        let field: syn::Field = parse_quote! {
            #[serde(rename = "x", default, skip_serializing_if = "Option::is_none", flatten)]
            y: Option<String>
        };
        let serde = parse_serde_field(&field.attrs);
        assert_eq!(serde.rename.as_deref(), Some("x"));
        assert!(serde.default && serde.skip_serializing.is_some());
        assert_eq!(serde.unsupported.len(), 1);
    }
}
