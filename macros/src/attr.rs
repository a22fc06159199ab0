//! Parsing `#[action(...)]`, `#[field(...)]` and doc comments into typed structs. serde's own
//! `#[serde(...)]` is read by `serde_derive_internals` (see `ast`), never here.
//!
//! Each key has a slot ([`Attr`]) that knows its context, its name and whose attribute it is, as
//! serde_derive's do: `title.parse(&meta)?` reads the value and a second `title` reports itself.
//! Parsing records every problem in the [`Ctxt`] and keeps going.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::parse::Parse;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitStr, Token, UnOp};

use crate::ctxt::{Ctxt, suggestion};
use crate::symbol::*;

/// A parsed attribute value with the spans of its key and value.
#[derive(Clone, Debug)]
pub struct Spanned<T> {
    pub value: T,
    pub key: Span,
    pub span: Span,
}

/// The slot of one key while an attribute is parsed.
struct Attr<'c, T> {
    cx: &'c Ctxt,
    /// `field`, `action` or `group`: whose attribute this key belongs to.
    owner: &'static str,
    name: &'static str,
    value: Option<Spanned<T>>,
}

impl<'c, T: Value> Attr<'c, T> {
    fn none(cx: &'c Ctxt, owner: &'static str, name: &'static str) -> Self {
        Attr {
            cx,
            owner,
            name,
            value: None,
        }
    }

    /// Reads this key's value; a second occurrence is a "duplicate" error on its key.
    fn parse(&mut self, meta: &ParseNestedMeta) -> syn::Result<()> {
        let value = T::parse(meta, self.name)?;
        if self.value.is_some() {
            self.cx.error(
                value.key,
                format!(
                    "duplicate {} attribute `{}`; remove one of them",
                    self.owner, self.name
                ),
            );
        } else {
            self.value = Some(value);
        }
        Ok(())
    }

    fn get(self) -> Option<Spanned<T>> {
        self.value
    }
}

/// How a value of this type is written after its key.
trait Value: Sized {
    fn parse(meta: &ParseNestedMeta, key: &'static str) -> syn::Result<Spanned<Self>>;
}

/// A literal in `default = ...`.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Literal>),
}

/// `#[action(...)]`.
#[derive(Default)]
pub struct ActionAttrs {
    pub id: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    pub execute: Option<Spanned<syn::Path>>,
    pub state: Option<Spanned<syn::Type>>,
    pub form_state: Option<Spanned<syn::Path>>,
    pub form_state_budget_ms: Option<Spanned<u64>>,
    pub groups: Vec<GroupDecl>,
    pub rows: Vec<Vec<Ident>>,
    pub previous: Option<Spanned<syn::Type>>,
    pub permissions: Vec<PermissionDecl>,
    /// An unknown key was reported: a missing `id` is then most likely that typo.
    pub unknown_key: bool,
}

/// `permission(name = "...", purpose = "...")` inside `#[action(...)]`.
pub struct PermissionDecl {
    pub name: Spanned<String>,
    pub purpose: Spanned<String>,
}

/// `group(label = "...", fields(a, b))` inside `#[action(...)]`.
pub struct GroupDecl {
    pub label: Spanned<String>,
    pub fields: Vec<Ident>,
}

pub fn parse_action_attrs(cx: &Ctxt, attrs: &[syn::Attribute]) -> ActionAttrs {
    let mut id = Attr::none(cx, ACTION, ID);
    let mut name = Attr::none(cx, ACTION, NAME);
    let mut description = Attr::none(cx, ACTION, DESCRIPTION);
    let mut execute = Attr::none(cx, ACTION, EXECUTE);
    let mut state = Attr::none(cx, ACTION, STATE);
    let mut form_state = Attr::none(cx, ACTION, FORM_STATE);
    let mut form_state_budget_ms = Attr::none(cx, ACTION, FORM_STATE_BUDGET_MS);
    let mut previous = Attr::none(cx, ACTION, PREVIOUS);
    let mut permissions = Vec::new();
    let mut groups = Vec::new();
    let mut rows = Vec::new();
    let mut unknown_key = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident(ACTION)) {
        let result = attr.parse_nested_meta(|meta| {
            match key_of(&meta)?.as_str() {
                ID => id.parse(&meta)?,
                NAME => name.parse(&meta)?,
                DESCRIPTION => description.parse(&meta)?,
                EXECUTE => execute.parse(&meta)?,
                STATE => state.parse(&meta)?,
                FORM_STATE => form_state.parse(&meta)?,
                FORM_STATE_BUDGET_MS => form_state_budget_ms.parse(&meta)?,
                GROUP => groups.extend(group_decl(cx, &meta)?),
                ROW => rows.push(<Vec<Ident>>::parse(&meta, ROW)?.value),
                PREVIOUS => previous.parse(&meta)?,
                PERMISSION => permissions.extend(permission_decl(cx, &meta)?),
                other => {
                    unknown(cx, &meta, ACTION, other, ACTION_KEYS)?;
                    unknown_key = true;
                }
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
    ActionAttrs {
        id: id.get(),
        name: name.get(),
        description: description.get(),
        execute: execute.get(),
        state: state.get(),
        form_state: form_state.get(),
        form_state_budget_ms: form_state_budget_ms.get(),
        groups,
        rows,
        previous: previous.get(),
        permissions,
        unknown_key,
    }
}

/// Declares `FieldAttrs` (one `Option<Spanned<T>>` per key), `FIELD_KEYS` and the parser from
/// one table, so a new `#[field(...)]` key is one line here (plus what it means in `ast`,
/// `check` and `expand`).
macro_rules! field_attrs {
    ($($key:ident: $ty:ty = $name:ident,)*) => {
        /// `#[field(...)]` as written.
        #[derive(Default)]
        pub struct FieldAttrs {
            $(pub $key: Option<Spanned<$ty>>,)*
        }

        /// Keys of `#[field(...)]`, for suggestions.
        pub const FIELD_KEYS: &[&str] = &[$($name),*];

        pub fn parse_field_attrs(cx: &Ctxt, attrs: &[syn::Attribute]) -> FieldAttrs {
            $(let mut $key = Attr::<$ty>::none(cx, FIELD, $name);)*
            for attr in attrs.iter().filter(|a| a.path().is_ident(FIELD)) {
                let result = attr.parse_nested_meta(|meta| {
                    match key_of(&meta)?.as_str() {
                        $($name => $key.parse(&meta)?,)*
                        other => unknown(cx, &meta, FIELD, other, FIELD_KEYS)?,
                    }
                    Ok(())
                });
                if let Err(err) = result {
                    cx.syn_error(err);
                }
            }
            FieldAttrs {
                $($key: $key.get(),)*
            }
        }
    };
}

field_attrs! {
    title: String = TITLE,
    description: String = DESCRIPTION,
    label: String = LABEL,
    default: Literal = DEFAULT,
    min_length: u64 = MIN_LENGTH,
    max_length: u64 = MAX_LENGTH,
    pattern: String = PATTERN,
    format: String = FORMAT,
    minimum: i64 = MINIMUM,
    maximum: i64 = MAXIMUM,
    min_items: u64 = MIN_ITEMS,
    max_items: u64 = MAX_ITEMS,
    options: syn::Path = OPTIONS,
    schema: syn::Path = SCHEMA,
    depends_on: Vec<Ident> = DEPENDS_ON,
    visible_when: When = VISIBLE_WHEN,
    enabled_when: When = ENABLED_WHEN,
    dynamic_select: () = DYNAMIC_SELECT,
    dynamic_schema: () = DYNAMIC_SCHEMA,
    multi: () = MULTI,
    template: () = TEMPLATE,
    group: String = GROUP,
    row: String = ROW,
}

/// ``unknown field attribute `x`; did you mean `y`?``, then skips the key's value.
fn unknown(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    owner: &str,
    key: &str,
    keys: &[&str],
) -> syn::Result<()> {
    cx.error(
        meta.path.span(),
        format!("unknown {owner} attribute `{key}`{}", suggestion(key, keys)),
    );
    skip_value(meta)
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

fn spanned<T>(value: T, key: Span, span: Span) -> Spanned<T> {
    Spanned { value, key, span }
}

/// `key = "text"`; an unquoted path gets a did-you-mean.
impl Value for String {
    fn parse(meta: &ParseNestedMeta, key: &'static str) -> syn::Result<Spanned<Self>> {
        let example = format!("{key} = \"...\"");
        let (key_span, expr) = value_expr(meta, key, &example)?;
        match &expr {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(spanned(s.value(), key_span, s.span())),
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
}

/// `key = some::path`; a quoted path gets a did-you-mean.
impl Value for syn::Path {
    fn parse(meta: &ParseNestedMeta, key: &'static str) -> syn::Result<Spanned<Self>> {
        let (key_span, expr) = value_expr(meta, key, &format!("{key} = my_function"))?;
        match &expr {
            Expr::Path(p) if p.qself.is_none() => {
                Ok(spanned(p.path.clone(), key_span, expr.span()))
            }
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
}

/// `key = SomeType`; a quoted type gets a did-you-mean.
impl Value for syn::Type {
    fn parse(meta: &ParseNestedMeta, key: &'static str) -> syn::Result<Spanned<Self>> {
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
        let span = parsed.span();
        Ok(spanned(parsed, key_span, span))
    }
}

/// A flag: the key alone.
impl Value for () {
    fn parse(meta: &ParseNestedMeta, key: &'static str) -> syn::Result<Spanned<Self>> {
        let key_span = meta.path.span();
        if meta.input.peek(Token![=]) {
            let expr: Expr = meta.value()?.parse()?;
            return Err(syn::Error::new_spanned(
                expr,
                format!("`{key}` is a flag and takes no value; write `{key}`"),
            ));
        }
        Ok(spanned((), key_span, key_span))
    }
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

/// `key = -3`: an integer that fits JSON Schema's `i64`.
impl Value for i64 {
    fn parse(meta: &ParseNestedMeta, key: &'static str) -> syn::Result<Spanned<Self>> {
        let (key_span, expr) = value_expr(meta, key, &format!("{key} = 1"))?;
        match int_of(&expr) {
            Some(value) => match i64::try_from(value?) {
                Ok(value) => Ok(spanned(value, key_span, expr.span())),
                Err(_) => Err(syn::Error::new_spanned(
                    &expr,
                    format!("`{key}` must fit in an `i64`"),
                )),
            },
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
}

/// `key = 3`: a count, never negative.
impl Value for u64 {
    fn parse(meta: &ParseNestedMeta, key: &'static str) -> syn::Result<Spanned<Self>> {
        let int = i64::parse(meta, key)?;
        match u64::try_from(int.value) {
            Ok(value) => Ok(spanned(value, int.key, int.span)),
            Err(_) => Err(syn::Error::new(
                int.span,
                format!("`{key}` must not be negative"),
            )),
        }
    }
}

/// `default = 3`, `"x"`, `true` or an array of them.
impl Value for Literal {
    fn parse(meta: &ParseNestedMeta, key: &'static str) -> syn::Result<Spanned<Self>> {
        let (key_span, expr) = value_expr(meta, key, "default = 3")?;
        let value = literal_of(&expr)?;
        Ok(spanned(value, key_span, expr.span()))
    }
}

fn literal_of(expr: &Expr) -> syn::Result<Literal> {
    if let Some(int) = int_of(expr) {
        return match i64::try_from(int?) {
            Ok(int) => Ok(Literal::Int(int)),
            Err(_) => Err(syn::Error::new_spanned(
                expr,
                "a `default` integer must fit in an `i64`",
            )),
        };
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

/// `visible_when(plan = "pro")` / `enabled_when(seats = [1, 2])`: a field and the values of it
/// under which the condition holds (one literal or an array of them).
#[derive(Default)]
pub struct When {
    pub on: Option<Ident>,
    pub values: Vec<Literal>,
    /// Where the values are written.
    pub values_span: Option<Span>,
}

impl Value for When {
    fn parse(meta: &ParseNestedMeta, key: &'static str) -> syn::Result<Spanned<Self>> {
        let key_span = meta.path.span();
        let example = format!("`{key}(plan = \"pro\")` or `{key}(plan = [\"pro\", \"team\"])`");
        if !meta.input.peek(syn::token::Paren) {
            return Err(syn::Error::new(
                key_span,
                format!("`{key}` takes a field and its value, e.g. {example}"),
            ));
        }
        let content;
        let parens = syn::parenthesized!(content in meta.input);
        let on: Ident = content.parse().map_err(|e| {
            syn::Error::new(e.span(), format!("expected a field name, e.g. {example}"))
        })?;
        content.parse::<Token![=]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected `=` and a value, e.g. {example}"),
            )
        })?;
        let expr: Expr = content.parse()?;
        if !content.is_empty() {
            return Err(content.error(format!("one condition per attribute, e.g. {example}")));
        }
        let values = match literal_of(&expr).map_err(|_| {
            syn::Error::new_spanned(
                &expr,
                format!("`{key}` compares with a literal: a string, an integer, a boolean or an array of them, e.g. {example}"),
            )
        })? {
            Literal::List(items) => items,
            one => vec![one],
        };
        Ok(spanned(
            When {
                on: Some(on),
                values,
                values_span: Some(expr.span()),
            },
            key_span,
            parens.span.join(),
        ))
    }
}

/// `row(a, b)` / `fields(a, b)` / `depends_on(a, b)`: a parenthesised list of field names.
impl Value for Vec<Ident> {
    fn parse(meta: &ParseNestedMeta, key: &'static str) -> syn::Result<Spanned<Self>> {
        let key_span = meta.path.span();
        if !meta.input.peek(syn::token::Paren) {
            return Err(syn::Error::new(
                key_span,
                format!("`{key}` takes a list of field names, e.g. `{key}(first_name, last_name)`"),
            ));
        }
        let content;
        syn::parenthesized!(content in meta.input);
        let items = content.parse_terminated(Expr::parse, Token![,])?;
        let mut idents = Vec::new();
        for item in &items {
            match item {
                Expr::Path(path) if path.qself.is_none() && path.path.get_ident().is_some() => {
                    idents.extend(path.path.get_ident().cloned());
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
        Ok(spanned(idents, key_span, key_span))
    }
}

fn permission_decl(cx: &Ctxt, meta: &ParseNestedMeta) -> syn::Result<Option<PermissionDecl>> {
    const EXAMPLE: &str =
        "e.g. `permission(name = \"customer_read\", purpose = \"Reads the customer's email\")`";
    let span = meta.path.span();
    if !meta.input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            span,
            format!("`permission` takes a name and a purpose, {EXAMPLE}"),
        ));
    }
    let mut name = Attr::none(cx, PERMISSION, NAME);
    let mut purpose = Attr::none(cx, PERMISSION, PURPOSE);
    meta.parse_nested_meta(|inner| {
        match key_of(&inner)?.as_str() {
            NAME => name.parse(&inner)?,
            PURPOSE => purpose.parse(&inner)?,
            other => unknown(cx, &inner, PERMISSION, other, PERMISSION_KEYS)?,
        }
        Ok(())
    })?;
    match (name.get(), purpose.get()) {
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

fn group_decl(cx: &Ctxt, meta: &ParseNestedMeta) -> syn::Result<Option<GroupDecl>> {
    let group_span = meta.path.span();
    if !meta.input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            group_span,
            "`group` takes a label and fields, e.g. `group(label = \"Delivery\", fields(audience_id, segment_id))`",
        ));
    }
    let mut label = Attr::none(cx, GROUP, LABEL);
    let mut fields = None;
    meta.parse_nested_meta(|inner| {
        match key_of(&inner)?.as_str() {
            LABEL => label.parse(&inner)?,
            FIELDS => fields = Some(<Vec<Ident>>::parse(&inner, FIELDS)?.value),
            other => unknown(cx, &inner, GROUP, other, GROUP_KEYS)?,
        }
        Ok(())
    })?;
    match (label.get(), fields) {
        (Some(label), Some(fields)) => Ok(Some(GroupDecl { label, fields })),
        _ => {
            cx.error(group_span, "`group` needs both `label = \"...\"` and `fields(...)`, e.g. `group(label = \"Delivery\", fields(audience_id, segment_id))`");
            Ok(None)
        }
    }
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
        let cx = Ctxt::default();
        let attrs = parse_field_attrs(&cx, &field.attrs);
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
}
