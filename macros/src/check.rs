//! Cross-field and attribute-versus-type checks. Every user error is found here (or in parsing),
//! never in code generation.

use std::collections::HashMap;

use proc_macro2::Span;

use crate::ast::{Body, Container, Derive, Field};
use crate::attr::{Attr, Literal};
use crate::ctxt::{Ctxt, did_you_mean, quoted_list, suggestion};
use crate::symbol::*;
use crate::ty::TyClass;

/// What a field attribute demands of the field's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Text,
    Select,
    Object,
    Integer,
    List,
}

impl Need {
    fn describe(self) -> &'static str {
        match self {
            Need::Text => "a `String` field",
            Need::Select => "a `String` or `Vec<String>` field",
            Need::Object => {
                "a free-form object field (`serde_json::Map<String, serde_json::Value>`)"
            }
            Need::Integer => "an integer field",
            Need::List => "a `Vec` field",
        }
    }

    /// `Some(true/false)` when syntax decides, `None` when only the compiler can.
    fn satisfied_by(self, class: &TyClass) -> Option<bool> {
        let inner = class.inner();
        if *inner == TyClass::Other
            || matches!(inner, TyClass::Vec(item) if **item == TyClass::Other && self == Need::Select)
        {
            return None;
        }
        Some(match self {
            Need::Text => *inner == TyClass::String,
            Need::Select => {
                *inner == TyClass::String || *inner == TyClass::Vec(Box::new(TyClass::String))
            }
            Need::Object => *inner == TyClass::Object,
            Need::Integer => matches!(inner, TyClass::Int { .. }),
            Need::List => matches!(inner, TyClass::Vec(_)),
        })
    }
}

/// The type demands of a field's attributes: `(key, key span, need)`.
pub fn needs(field: &Field) -> Vec<(&'static str, Span, Need)> {
    let a = &field.attrs;
    let mut out = Vec::new();
    let mut add = |key: &'static str, span: Option<Span>, need: Need| {
        if let Some(span) = span {
            out.push((key, span, need));
        }
    };
    add(OPTIONS, a.options.as_ref().map(|x| x.key), Need::Select);
    add(SCHEMA, a.schema.as_ref().map(|x| x.key), Need::Object);
    add(
        DYNAMIC_SELECT,
        a.dynamic_select.as_ref().map(|x| x.key),
        Need::Select,
    );
    add(
        DYNAMIC_SCHEMA,
        a.dynamic_schema.as_ref().map(|x| x.key),
        Need::Object,
    );
    add(MULTI, a.multi.as_ref().map(|x| x.key), Need::Text);
    add(TEMPLATE, a.template.as_ref().map(|x| x.key), Need::Text);
    add(MIN_LENGTH, a.min_length.as_ref().map(|x| x.key), Need::Text);
    add(MAX_LENGTH, a.max_length.as_ref().map(|x| x.key), Need::Text);
    add(PATTERN, a.pattern.as_ref().map(|x| x.key), Need::Text);
    add(FORMAT, a.format.as_ref().map(|x| x.key), Need::Text);
    add(MINIMUM, a.minimum.as_ref().map(|x| x.key), Need::Integer);
    add(MAXIMUM, a.maximum.as_ref().map(|x| x.key), Need::Integer);
    add(MIN_ITEMS, a.min_items.as_ref().map(|x| x.key), Need::List);
    add(MAX_ITEMS, a.max_items.as_ref().map(|x| x.key), Need::List);
    out
}

/// Where each field sits in the UI: its group label and row name, container declarations folded in.
#[derive(Default)]
pub struct Layout {
    pub group: HashMap<String, String>,
    pub row: HashMap<String, String>,
}

pub fn check(cx: &mut Ctxt, cont: &Container) -> Layout {
    if cont.derive == Derive::Action {
        check_action(cx, cont);
    }
    for (span, key) in &cont.serde.unsupported {
        cx.error(*span, format!("`#[serde({key})]` is not supported on an action input: the schema could not describe the resulting JSON"));
    }
    if let Body::Enum(variants) = &cont.body {
        for v in variants {
            for (span, key) in &v.serde.unsupported {
                cx.error(*span, format!("`#[serde({key})]` is not supported on an input enum: the schema's `enum` could not list it"));
            }
        }
        check_unique(
            cx,
            variants
                .iter()
                .filter(|v| !v.skip)
                .map(|v| (v.name.as_str(), v.ident)),
            "variant",
        );
        if variants.iter().all(|v| v.skip) {
            cx.error_spanned_by(
                cont.ident,
                "an input enum needs at least one unit variant that is not skipped",
            );
        }
        return Layout::default();
    }
    for field in cont.fields() {
        check_field(cx, cont, field);
    }
    check_unique(
        cx,
        cont.fields().map(|f| (f.name.as_str(), f.ident)),
        "field",
    );
    if cont.derive == Derive::Action {
        check_form_state(cx, cont);
        layout(cx, cont)
    } else {
        Layout::default()
    }
}

fn check_action(cx: &mut Ctxt, cont: &Container) {
    let attrs = &cont.attrs;
    match &attrs.id {
        None if attrs.unknown_key => {}
        None => cx.error_spanned_by(
            cont.ident,
            format!(
                "missing action id; add `#[action(id = \"{}\")]` (the id must never change once published)",
                snake(&cont.ident.to_string())
            ),
        ),
        Some(id) if !valid_id(&id.value) => {
            let fixed: String = id.value.chars().map(|c| if valid_id_char(c) { c } else { '_' }).collect();
            let fixed = fixed.trim_matches('_').to_owned();
            let hint = if fixed.is_empty() { "send_email".to_owned() } else { fixed };
            cx.error(
                id.span,
                format!("invalid action id `{}`: an id may contain only ASCII letters, digits, `_`, `-` and `.`; try `id = \"{hint}\"`", id.value),
            );
        }
        Some(_) => {}
    }
    not_empty(cx, attrs.name.as_ref(), NAME);
    not_empty(cx, attrs.description.as_ref(), DESCRIPTION);
    let mut seen: Vec<&str> = Vec::new();
    for permission in &attrs.permissions {
        let name = permission.name.value.as_str();
        let snake_case = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !snake_case {
            cx.error(
                permission.name.span,
                format!("`{name}` is not a permission name; write it in snake_case, e.g. `customer_read`"),
            );
        } else if seen.contains(&name) {
            cx.error(
                permission.name.span,
                format!("permission `{name}` is declared twice; remove one"),
            );
        }
        seen.push(name);
        if permission.purpose.value.trim().is_empty() {
            cx.error(
                permission.purpose.span,
                "the purpose must not be empty: say why the action needs the permission",
            );
        }
    }
    if !cont.input.generics.params.is_empty() {
        cx.error_spanned_by(
            &cont.input.generics,
            "an action cannot be generic: its schema and id are fixed; make a concrete struct per action (generic nested `InputType` structs are fine)",
        );
    }
}

pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(valid_id_char)
}

fn valid_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn not_empty(cx: &mut Ctxt, attr: Option<&Attr<String>>, key: &str) {
    if let Some(attr) = attr.filter(|a| a.value.trim().is_empty()) {
        cx.error(
            attr.span,
            format!("`{key}` must not be empty; remove it to use the default"),
        );
    }
}

fn check_unique<'a>(
    cx: &mut Ctxt,
    names: impl Iterator<Item = (&'a str, &'a syn::Ident)>,
    what: &str,
) {
    let mut seen: HashMap<&str, &syn::Ident> = HashMap::new();
    for (name, ident) in names {
        if let Some(first) = seen.get(name) {
            cx.error_spanned_by(
                ident,
                format!("{what} `{ident}` and {what} `{first}` both appear as `{name}` in the input; give one a different `#[serde(rename = \"...\")]`"),
            );
        } else {
            seen.insert(name, ident);
        }
    }
}

fn check_field(cx: &mut Ctxt, cont: &Container, field: &Field) {
    let a = &field.attrs;
    for attr in [&a.title, &a.description, &a.label, &a.group, &a.row] {
        if let Some(attr) = attr.as_ref().filter(|x| x.value.trim().is_empty()) {
            cx.error(
                attr.span,
                "this attribute must not be empty; remove it to use the default",
            );
        }
    }
    for (span, key) in &field.serde.unsupported {
        let why = match key.as_str() {
            "alias" => {
                "the schema's `additionalProperties: false` would refuse the alias; rename the field instead"
            }
            "flatten" => {
                "the schema lists each property itself; declare the fields directly or nest a struct that derives `InputType`"
            }
            _ => {
                "the schema is derived from the field's type, which a custom (de)serialiser need not follow; use a type that derives `InputType`"
            }
        };
        cx.error(
            *span,
            format!("`#[serde({key})]` is not supported on an action input: {why}"),
        );
    }
    if cont.derive == Derive::InputType {
        let ui = [
            (OPTIONS, a.options.as_ref().map(|x| x.key)),
            (SCHEMA, a.schema.as_ref().map(|x| x.key)),
            (DEPENDS_ON, a.depends_on.as_ref().map(|x| x.key)),
            (DYNAMIC_SELECT, a.dynamic_select.as_ref().map(|x| x.key)),
            (DYNAMIC_SCHEMA, a.dynamic_schema.as_ref().map(|x| x.key)),
            (MULTI, a.multi.as_ref().map(|x| x.key)),
            (TEMPLATE, a.template.as_ref().map(|x| x.key)),
            (LABEL, a.label.as_ref().map(|x| x.key)),
            (GROUP, a.group.as_ref().map(|x| x.key)),
            (ROW, a.row.as_ref().map(|x| x.key)),
        ];
        for (key, span) in ui {
            if let Some(span) = span {
                cx.error(span, format!("`{key}` applies to an action's own fields only; a nested object is shown as one control"));
            }
        }
    }
    let class = match &field.class {
        Ok(class) => class,
        Err(message) => {
            cx.error_spanned_by(field.ty, message);
            return;
        }
    };
    for (key, span, need) in needs(field) {
        if need.satisfied_by(class) == Some(false) {
            cx.error(
                span,
                format!(
                    "`{key}` needs {}; `{}` is {}",
                    need.describe(),
                    field.rust_name(),
                    class.describe()
                ),
            );
        }
    }
    let schema_key = a
        .dynamic_schema
        .as_ref()
        .map(|x| x.key)
        .or(a.schema.as_ref().map(|x| x.key));
    if let (true, Some(schema_key)) = (a.is_select(), schema_key) {
        cx.error(
            schema_key,
            "a field is either `dynamic_select` or `dynamic_schema`, not both",
        );
    }
    if let Some(format) = &a.format
        && !FORMATS.contains(&format.value.as_str())
    {
        cx.error(
            format.span,
            format!(
                "unknown format `{}`{}",
                format.value,
                suggestion(&format.value, FORMATS)
            ),
        );
    }
    bounds(
        cx,
        a.min_length.as_ref(),
        a.max_length.as_ref(),
        MIN_LENGTH,
        MAX_LENGTH,
    );
    bounds(
        cx,
        a.min_items.as_ref(),
        a.max_items.as_ref(),
        MIN_ITEMS,
        MAX_ITEMS,
    );
    bounds(cx, a.minimum.as_ref(), a.maximum.as_ref(), MINIMUM, MAXIMUM);
    if let TyClass::Int { name, min, max } = class.inner() {
        for (key, attr) in [(MINIMUM, &a.minimum), (MAXIMUM, &a.maximum)] {
            if let Some(attr) = attr.as_ref().filter(|x| x.value < *min || x.value > *max) {
                cx.error(
                    attr.span,
                    format!(
                        "`{key} = {}` is outside the range of `{name}` ({min}..={max})",
                        attr.value
                    ),
                );
            }
        }
    }
    if let Some(default) = &a.default
        && let Err(why) = fits(&default.value, class)
    {
        cx.error(
            default.span,
            format!("`default` does not fit `{}`: {why}", field.rust_name()),
        );
    }
    let required =
        !matches!(class, TyClass::Option(_)) && !field.serde.default && !cont.serde.default;
    if let (Some(span), true, false) = (
        field.serde.skip_serializing,
        required,
        *class == TyClass::Other,
    ) {
        cx.error(
            span,
            format!("skipping the required field `{}` when serialising would produce values its schema refuses; make it an `Option` or add `#[serde(default)]`", field.rust_name()),
        );
    }
}

fn bounds<T: PartialOrd + std::fmt::Display>(
    cx: &mut Ctxt,
    min: Option<&Attr<T>>,
    max: Option<&Attr<T>>,
    min_key: &str,
    max_key: &str,
) {
    if let (Some(min), Some(max)) = (min, max)
        && min.value > max.value
    {
        cx.error(
            min.span,
            format!(
                "`{min_key} = {}` is greater than `{max_key} = {}`; no value could satisfy both",
                min.value, max.value
            ),
        );
    }
}

fn fits(lit: &Literal, class: &TyClass) -> Result<(), String> {
    match (class.inner(), lit) {
        (TyClass::Other, _)
        | (TyClass::String, Literal::Str(_))
        | (TyClass::Bool, Literal::Bool(_)) => Ok(()),
        (TyClass::Int { name, min, max }, Literal::Int(n)) => {
            if n < min || n > max {
                Err(format!("{n} is outside the range of `{name}`"))
            } else {
                Ok(())
            }
        }
        (TyClass::Vec(item), Literal::List(items)) => items.iter().try_for_each(|i| fits(i, item)),
        (TyClass::Object, _) => Err("a default for a free-form object is not supported".into()),
        (class, lit) => {
            let kind = match lit {
                Literal::Str(_) => "a string",
                Literal::Int(_) => "an integer",
                Literal::Bool(_) => "a boolean",
                Literal::List(_) => "an array",
            };
            Err(format!(
                "expected a value for {}, found {kind}",
                class.describe()
            ))
        }
    }
}

/// Folds container `group(...)`/`row(...)` into per-field group and row names and checks them.
fn layout(cx: &mut Ctxt, cont: &Container) -> Layout {
    let names: Vec<String> = cont.fields().map(Field::rust_name).collect();
    let mut out = Layout::default();
    for field in cont.fields() {
        if let Some(group) = &field.attrs.group {
            out.group.insert(field.rust_name(), group.value.clone());
        }
        if let Some(row) = &field.attrs.row {
            out.row.insert(field.rust_name(), row.value.clone());
        }
    }
    let known = |cx: &mut Ctxt, ident: &syn::Ident| -> Option<String> {
        let name = ident.to_string().trim_start_matches("r#").to_owned();
        if names.contains(&name) {
            return Some(name);
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
            format!("no field `{name}` in `{}`; {hint}", cont.ident),
        );
        None
    };
    for group in &cont.attrs.groups {
        for ident in &group.fields {
            let Some(name) = known(cx, ident) else {
                continue;
            };
            if let Some(previous) = out.group.insert(name.clone(), group.label.value.clone()) {
                let message = format!(
                    "field `{name}` is already in group `{previous}`; a field belongs to one group"
                );
                cx.error_spanned_by(ident, message);
            }
        }
    }
    for (i, row) in cont.attrs.rows.iter().enumerate() {
        for ident in row {
            let Some(name) = known(cx, ident) else {
                continue;
            };
            if out
                .row
                .insert(name.clone(), format!("__actionkit_row_{i}"))
                .is_some()
            {
                let message =
                    format!("field `{name}` is already in a row; a field belongs to one row");
                cx.error_spanned_by(ident, message);
            }
        }
    }
    let mut row_groups: HashMap<&String, (Option<&String>, &String)> = HashMap::new();
    for field in cont.fields() {
        let name = field.rust_name();
        let Some((_, row)) = out.row.get_key_value(&name) else {
            continue;
        };
        let group = out.group.get(&name);
        match row_groups.get(row) {
            Some((first_group, first)) if *first_group != group => cx.error_spanned_by(
                field.ident,
                format!("field `{name}` shares a row with `{first}` but not its group; put the whole row in one group"),
            ),
            Some(_) => {}
            None => {
                let first = out.row.get_key_value(&name).expect("present").0;
                row_groups.insert(row, (group, first));
            }
        }
    }
    out
}

/// Providers, dependencies and the whole-form handler.
/// The most arguments a provider takes besides its `Context`: `State<T>` and the dependencies
/// (the `Provider` impls of the core crate go this far).
const MAX_PROVIDER_ARGS: usize = 12;

fn check_form_state(cx: &mut Ctxt, cont: &Container) {
    let fields: Vec<&Field> = cont.fields().collect();
    let names: Vec<String> = fields.iter().map(|f| f.rust_name()).collect();
    let any_provider = fields.iter().any(|f| f.attrs.provider().is_some());
    if let (Some(form_state), true) = (&cont.attrs.form_state, any_provider) {
        cx.error(
            form_state.key,
            "a whole-form handler replaces the field providers; remove `form_state`, or the `options = ...` / `schema = ...` of the fields",
        );
    }
    if let Some(budget) = &cont.attrs.form_state_budget_ms {
        if budget.value == 0 {
            cx.error(
                budget.span,
                "`form_state_budget_ms` must be at least 1; a zero budget would time every look-up out",
            );
        } else if cont.attrs.form_state.is_none() && !any_provider {
            cx.error(
                budget.key,
                "`form_state_budget_ms` needs form state; name a provider with `#[field(options = my_fn)]` or `#[field(schema = my_fn)]`, or a whole-form handler with `#[action(form_state = my_fn)]`",
            );
        }
    }
    let mut variants: HashMap<String, &syn::Ident> = HashMap::new();
    for field in &fields {
        let variant = crate::case::RenameRule::Pascal.apply_to_field(&field.rust_name());
        if let Some(first) = variants.insert(variant.clone(), field.ident) {
            cx.error_spanned_by(
                field.ident,
                format!("fields `{first}` and `{}` would both be `{variant}` in the generated field enum; rename one", field.ident),
            );
        }
        let a = &field.attrs;
        if let (Some(depends), None) = (&a.depends_on, a.provider()) {
            cx.error(depends.key, "`depends_on` needs a provider on the same field: `options = my_fn` or `schema = my_fn`");
        }
        if cont.attrs.form_state.is_none() && a.provider().is_none() {
            let flag = a
                .dynamic_select
                .as_ref()
                .map(|f| (f.key, DYNAMIC_SELECT, OPTIONS))
                .or(a
                    .dynamic_schema
                    .as_ref()
                    .map(|f| (f.key, DYNAMIC_SCHEMA, SCHEMA)));
            if let Some((span, flag, key)) = flag {
                cx.error(
                    span,
                    format!("`{}` is a `{flag}` but nothing computes it; name a provider with `{key} = my_fn`, or a whole-form handler with `#[action(form_state = my_fn)]`", field.rust_name()),
                );
            }
        }
        if let Some(depends) = &a.depends_on {
            let max = MAX_PROVIDER_ARGS - usize::from(cont.attrs.state.is_some());
            if depends.value.len() > max {
                cx.error(
                    depends.key,
                    format!("a provider reads at most {max} dependencies here; group related fields into one object field"),
                );
            }
        }
        for dep in a.depends_on.iter().flat_map(|d| &d.value) {
            let dep_name = dep.to_string().trim_start_matches("r#").to_owned();
            if dep_name == field.rust_name() {
                cx.error_spanned_by(dep, format!("`{dep_name}` cannot depend on itself"));
            } else if !names.contains(&dep_name) {
                let hint = match did_you_mean(&dep_name, names.iter().map(String::as_str)) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => format!(
                        "the fields are {}",
                        quoted_list(&names.iter().map(String::as_str).collect::<Vec<_>>())
                    ),
                };
                cx.error_spanned_by(
                    dep,
                    format!("no field `{dep_name}` in `{}`; {hint}", cont.ident),
                );
            }
        }
    }
    if let Some(cycle) = find_cycle(&fields) {
        let (field, path) = cycle;
        let depends = field.attrs.depends_on.as_ref().expect("in a cycle");
        cx.error(
            depends.key,
            format!(
                "dependency cycle: {}; a field cannot depend on itself through others",
                path.join(" → ")
            ),
        );
    }
}

/// A field on a dependency cycle and the cycle as names, if there is one.
fn find_cycle<'a, 'f>(fields: &'f [&'f Field<'a>]) -> Option<(&'f Field<'a>, Vec<String>)> {
    let deps = |name: &str| -> Vec<String> {
        fields
            .iter()
            .find(|f| f.rust_name() == name)
            .and_then(|f| f.attrs.depends_on.as_ref())
            .map(|d| {
                d.value
                    .iter()
                    .map(|i| i.to_string().trim_start_matches("r#").to_owned())
                    .filter(|dep| dep != name) // a self-dependency has its own error
                    .collect()
            })
            .unwrap_or_default()
    };
    for start in fields.iter().filter(|f| f.attrs.depends_on.is_some()) {
        let mut stack = vec![(start.rust_name(), vec![start.rust_name()])];
        let mut seen = std::collections::HashSet::new();
        while let Some((name, path)) = stack.pop() {
            for next in deps(&name) {
                if next == start.rust_name() {
                    let mut cycle = path.clone();
                    cycle.push(next);
                    return Some((start, cycle.iter().map(|n| format!("`{n}`")).collect()));
                }
                if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next, longer));
                }
            }
        }
    }
    None
}

/// `SendEmail` → `send_email`.
pub fn snake(ident: &str) -> String {
    let mut out = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ty::classify;
    use syn::parse_quote;

    #[test]
    fn ids_follow_the_platform_pattern() {
        assert!(valid_id("send_email.v2-beta"));
        assert!(!valid_id("send email"));
        assert!(!valid_id(""));
    }

    #[test]
    fn needs_are_judged_syntactically_where_possible() {
        let string = classify(&parse_quote!(Option<String>)).unwrap();
        let other = classify(&parse_quote!(Frequency)).unwrap();
        assert_eq!(Need::Text.satisfied_by(&string), Some(true));
        assert_eq!(Need::Object.satisfied_by(&string), Some(false));
        assert_eq!(Need::Text.satisfied_by(&other), None);
    }

    #[test]
    fn defaults_must_fit_the_type() {
        let u8_class = classify(&parse_quote!(u8)).unwrap();
        assert!(fits(&Literal::Int(3), &u8_class).is_ok());
        assert!(fits(&Literal::Int(300), &u8_class).is_err());
        assert!(fits(&Literal::Str("x".into()), &u8_class).is_err());
    }
}
