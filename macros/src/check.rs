//! Validation of the resolved model: cross-field and attribute-versus-type checks. Every user
//! error is found here (or while parsing and resolving), never in code generation; `check`
//! returns nothing.

use std::collections::{HashMap, HashSet};

use crate::ast::{Body, Container, Derive, Field, Need};
use crate::attr::{Literal, Spanned};
use crate::ctxt::{Ctxt, suggestion};
use crate::symbol::*;
use crate::ty::TyClass;

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

    /// `Some(true/false)` when syntax decides, `None` when only the compiler can (then `expand`
    /// asserts it through a marker trait).
    pub fn satisfied_by(self, class: &TyClass) -> Option<bool> {
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

pub fn check(cx: &Ctxt, cont: &Container) {
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
                .map(|v| (v.wire.as_str(), v.ident)),
            "variant",
        );
        if variants.iter().all(|v| v.skip) {
            cx.error_spanned_by(
                cont.ident,
                "an input enum needs at least one unit variant that is not skipped",
            );
        }
        return;
    }
    for field in cont.fields() {
        check_field(cx, cont, field);
    }
    check_unique(
        cx,
        cont.fields().iter().map(|f| (f.wire.as_str(), f.ident)),
        "field",
    );
    if cont.derive == Derive::Action {
        check_form_state(cx, cont);
        check_rows(cx, cont);
        check_conditions(cx, cont.fields());
    }
}

/// `visible_when` / `enabled_when`: on optional fields, naming another field, with values that
/// fit that field's type, and no cycle.
fn check_conditions(cx: &Ctxt, fields: &[Field]) {
    for (index, field) in fields.iter().enumerate() {
        for cond in &field.conditions {
            let key = cond.effect.key();
            if !matches!(field.class, Ok(TyClass::Option(_))) {
                cx.error(
                    cond.key,
                    format!(
                        "`{key}` needs an optional field: a field that may be {} cannot be required; make `{}` an `Option<…>`",
                        if cond.effect == crate::ast::Effect::Visible { "hidden" } else { "disabled" },
                        field.rust_name()
                    ),
                );
            }
            if cond.on == index {
                cx.error_spanned_by(
                    &cond.at,
                    format!(
                        "`{}` cannot be shown or enabled depending on itself; name another field",
                        field.rust_name()
                    ),
                );
                continue;
            }
            let on = &fields[cond.on];
            if let Ok(class) = &on.class {
                for value in &cond.values {
                    if let Err(why) = fits(value, class) {
                        cx.error(
                            cond.values_span,
                            format!(
                                "`{key}` compares `{}` with a value that does not fit it: {why}",
                                on.rust_name()
                            ),
                        );
                        break;
                    }
                }
            }
        }
    }
    let edges = |i: usize| -> Vec<usize> {
        fields[i]
            .conditions
            .iter()
            .map(|c| c.on)
            .filter(|&on| on != i)
            .collect()
    };
    if let Some((index, path)) = find_cycle(fields.len(), edges)
        && let Some(cond) = fields[index].conditions.first()
    {
        let names: Vec<String> = path
            .iter()
            .map(|&i| format!("`{}`", fields[i].rust_name()))
            .collect();
        cx.error(
            cond.key,
            format!(
                "condition cycle: {}; a field cannot be shown or enabled depending on itself through others",
                names.join(" → ")
            ),
        );
    }
}

fn check_action(cx: &Ctxt, cont: &Container) {
    let attrs = &cont.attrs;
    match &attrs.id {
        Some(id) if !valid_id(&id.value) => {
            let fixed: String = id
                .value
                .chars()
                .map(|c| if valid_id_char(c) { c } else { '_' })
                .collect();
            let fixed = fixed.trim_matches('_').to_owned();
            let hint = if fixed.is_empty() {
                "send_email".to_owned()
            } else {
                fixed
            };
            cx.error(
                id.span,
                format!("invalid action id `{}`: an id may contain only ASCII letters, digits, `_`, `-` and `.`; try `id = \"{hint}\"`", id.value),
            );
        }
        _ => {}
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

fn not_empty(cx: &Ctxt, attr: Option<&Spanned<String>>, key: &str) {
    if let Some(attr) = attr.filter(|a| a.value.trim().is_empty()) {
        cx.error(
            attr.span,
            format!("`{key}` must not be empty; remove it to use the default"),
        );
    }
}

fn check_unique<'a>(cx: &Ctxt, names: impl Iterator<Item = (&'a str, &'a syn::Ident)>, what: &str) {
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

fn check_field(cx: &Ctxt, cont: &Container, field: &Field) {
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
    for need in &field.needs {
        if need.need.satisfied_by(class) == Some(false) {
            cx.error(
                need.span,
                format!(
                    "`{}` needs {}; `{}` is {}",
                    need.key,
                    need.need.describe(),
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
    let select = a.dynamic_select.is_some() || a.options.is_some();
    if let (true, Some(schema_key)) = (select, schema_key) {
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
            let outside =
                |x: &&Spanned<i64>| i128::from(x.value) < *min || i128::from(x.value) > *max;
            if let Some(attr) = attr.as_ref().filter(outside) {
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
    let required = !matches!(class, TyClass::Option(_)) && !field.serde.default;
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
    cx: &Ctxt,
    min: Option<&Spanned<T>>,
    max: Option<&Spanned<T>>,
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
            if i128::from(*n) < *min || i128::from(*n) > *max {
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

/// A row lies within one group: every field of a row shares the group of its first field.
fn check_rows(cx: &Ctxt, cont: &Container) {
    let mut first_of_row: HashMap<usize, &Field> = HashMap::new();
    for field in cont.fields() {
        let Some(row) = field.row else { continue };
        match first_of_row.get(&row) {
            Some(first) if first.group != field.group => cx.error_spanned_by(
                field.ident,
                format!(
                    "field `{}` shares a row with `{}` but not its group; put the whole row in one group",
                    field.rust_name(),
                    first.rust_name()
                ),
            ),
            Some(_) => {}
            None => {
                first_of_row.insert(row, field);
            }
        }
    }
}

/// The most arguments a provider takes besides its `Context`: `State<T>` and the dependencies
/// (the `Provider` impls of the core crate go this far).
const MAX_PROVIDER_ARGS: usize = 12;

/// Providers, dependencies and the whole-form handler.
fn check_form_state(cx: &Ctxt, cont: &Container) {
    let fields = cont.fields();
    let any_provider = fields
        .iter()
        .any(|f| f.dynamic.as_ref().is_some_and(|d| d.provider.is_some()));
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
    for (index, field) in fields.iter().enumerate() {
        if let Some(first) = variants.insert(field.variant.to_string(), field.ident) {
            cx.error_spanned_by(
                field.ident,
                format!(
                    "fields `{first}` and `{}` would both be `{}` in the generated field enum; rename one",
                    field.ident, field.variant
                ),
            );
        }
        let a = &field.attrs;
        let provider = field.dynamic.as_ref().and_then(|d| d.provider.as_ref());
        if let (Some(depends), None) = (&a.depends_on, provider) {
            cx.error(depends.key, "`depends_on` needs a provider on the same field: `options = my_fn` or `schema = my_fn`");
        }
        if cont.attrs.form_state.is_none() && field.dynamic.is_some() && provider.is_none() {
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
        for dep in field.deps.iter().filter(|d| d.index == index) {
            cx.error_spanned_by(
                &dep.at,
                format!("`{}` cannot depend on itself", field.rust_name()),
            );
        }
    }
    let edges = |i: usize| -> Vec<usize> {
        fields[i]
            .deps
            .iter()
            .map(|d| d.index)
            .filter(|&d| d != i)
            .collect()
    };
    if let Some((index, path)) = find_cycle(fields.len(), edges)
        && let Some(depends) = &fields[index].attrs.depends_on
    {
        let names: Vec<String> = path
            .iter()
            .map(|&i| format!("`{}`", fields[i].rust_name()))
            .collect();
        cx.error(
            depends.key,
            format!(
                "dependency cycle: {}; a field cannot depend on itself through others",
                names.join(" → ")
            ),
        );
    }
}

/// A field on a dependency cycle and the cycle (as field indices, the field at both ends), if
/// there is one. A field depending on itself directly has its own error and is not a cycle here.
fn find_cycle(count: usize, edges: impl Fn(usize) -> Vec<usize>) -> Option<(usize, Vec<usize>)> {
    let deps = &edges;
    for start in (0..count).filter(|&i| !edges(i).is_empty()) {
        let mut stack = vec![(start, vec![start])];
        let mut seen = HashSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in deps(at) {
                if next == start {
                    let mut cycle = path.clone();
                    cycle.push(next);
                    return Some((start, cycle));
                }
                if seen.insert(next) {
                    let mut longer = path.clone();
                    longer.push(next);
                    stack.push((next, longer));
                }
            }
        }
    }
    None
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
