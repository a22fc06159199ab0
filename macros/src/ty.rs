//! Syntactic classification of field types, so that well-known mistakes get a precise message
//! at macro time. Types the macro cannot see into (a user's own struct or enum, an alias) are
//! `Other`: the compiler checks them through `InputType` and the marker traits instead.

use syn::{GenericArgument, PathArguments, Type};

/// What a field's type is, as far as syntax tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TyClass {
    String,
    Bool,
    Int {
        name: String,
        min: i128,
        max: i128,
    },
    /// A free-form JSON object (`serde_json::Map<String, Value>` and friends).
    Object,
    Vec(Box<TyClass>),
    Option(Box<TyClass>),
    /// A type only the compiler can judge.
    Other,
}

impl TyClass {
    /// The class under any `Option`.
    pub fn inner(&self) -> &TyClass {
        match self {
            TyClass::Option(inner) => inner.inner(),
            other => other,
        }
    }

    /// How a message names this class: "a `String`", "an integer"…
    pub fn describe(&self) -> String {
        match self.inner() {
            TyClass::String => "a `String`".into(),
            TyClass::Bool => "a `bool`".into(),
            TyClass::Int { name, .. } => format!("an integer (`{name}`)"),
            TyClass::Object => "a free-form object".into(),
            TyClass::Vec(_) => "a `Vec`".into(),
            TyClass::Option(_) | TyClass::Other => "another type".into(),
        }
    }
}

/// Classifies `ty`, or explains why it can never be an input field.
pub fn classify(ty: &Type) -> Result<TyClass, String> {
    match ty {
        Type::Reference(_) => Err(format!(
            "references cannot be action input fields; use an owned type such as `String` instead of `{}`",
            type_name(ty)
        )),
        Type::Tuple(t) if t.elems.is_empty() => Err("`()` cannot be an action input field".into()),
        Type::Tuple(_) => Err(format!(
            "tuples cannot be action input fields; use a struct that derives `InputType`, or separate fields, instead of `{}`",
            type_name(ty)
        )),
        Type::Array(_) | Type::Slice(_) => Err(format!(
            "`{}` cannot be an action input field; use a `Vec`",
            type_name(ty)
        )),
        Type::Paren(p) => classify(&p.elem),
        Type::Group(g) => classify(&g.elem),
        Type::Path(p) if p.qself.is_none() => classify_path(ty, &p.path),
        _ => Ok(TyClass::Other),
    }
}

fn classify_path(ty: &Type, path: &syn::Path) -> Result<TyClass, String> {
    let Some(last) = path.segments.last() else {
        return Ok(TyClass::Other);
    };
    let name = last.ident.to_string();
    let args = generic_types(&last.arguments);
    let full = path_string(path);
    Ok(match (name.as_str(), args.as_slice()) {
        ("String", []) => TyClass::String,
        ("bool", []) => TyClass::Bool,
        ("f32" | "f64", []) => {
            return Err(format!(
                "`{name}` cannot be an action input field: the platforms accept no floating-point numbers; use an integer in the smallest unit (e.g. cents) or a `String`"
            ));
        }
        ("char", []) => {
            return Err(
                "`char` cannot be an action input field; use a `String` with `max_length = 1`"
                    .into(),
            );
        }
        ("str", []) => return Err("`str` cannot be an action input field; use `String`".into()),
        ("i8" | "i16" | "i32" | "i64" | "isize" | "u8" | "u16" | "u32" | "u64" | "usize", []) => {
            int(&name)
        }
        ("i128" | "u128", []) => {
            return Err(format!(
                "`{name}` cannot be an action input field: JSON integers are at most 64 bits; use `i64` or `u64`"
            ));
        }
        ("Option", [inner]) => match classify(inner)? {
            TyClass::Option(_) => {
                return Err(format!(
                    "`{}` cannot be an action input field: absent and `null` are the same to the platforms; use a single `Option`",
                    type_name(ty)
                ));
            }
            inner => TyClass::Option(Box::new(inner)),
        },
        ("Vec", [inner]) => match classify(inner) {
            Ok(TyClass::Vec(_)) => {
                return Err(format!(
                    "`{}` cannot be an action input field: array items must be strings, booleans or integers, not arrays",
                    type_name(ty)
                ));
            }
            Ok(TyClass::Option(_)) => {
                return Err(format!(
                    "`{}` cannot be an action input field: array items must be strings, booleans or integers, not `Option`s",
                    type_name(ty)
                ));
            }
            Ok(TyClass::Object) => {
                return Err(format!(
                    "`{}` cannot be an action input field: array items must be strings, booleans or integers, not objects",
                    type_name(ty)
                ));
            }
            Ok(inner) => TyClass::Vec(Box::new(inner)),
            Err(_) => {
                return Err(format!(
                    "`{}` cannot be an action input field: array items must be strings, booleans or integers",
                    type_name(ty)
                ));
            }
        },
        ("HashMap" | "BTreeMap" | "Map", [key, value]) => {
            let key_ok = classify(key) == Ok(TyClass::String);
            let value_ok = matches!(value, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Value"));
            if key_ok && value_ok {
                TyClass::Object
            } else {
                return Err(format!(
                    "`{}` cannot be an action input field: a map is a free-form object; use `serde_json::Map<String, serde_json::Value>`",
                    type_name(ty)
                ));
            }
        }
        ("Value", []) if full == "serde_json::Value" || full == "::serde_json::Value" => {
            return Err("`serde_json::Value` cannot be an action input field: the schema needs a type; use `serde_json::Map<String, serde_json::Value>` for a free-form object".into());
        }
        _ => TyClass::Other,
    })
}

fn int(name: &str) -> TyClass {
    let (min, max): (i128, i128) = match name {
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        "i64" | "isize" => (i64::MIN.into(), i64::MAX.into()),
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        _ => (0, u64::MAX.into()),
    };
    TyClass::Int {
        name: name.to_owned(),
        min,
        max,
    }
}

fn generic_types(args: &PathArguments) -> Vec<&Type> {
    match args {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|arg| match arg {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn path_string(path: &syn::Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let joined = segments.join("::");
    if path.leading_colon.is_some() {
        format!("::{joined}")
    } else {
        joined
    }
}

/// A type as a person writes it: `Vec<Vec<String>>`, not `Vec < Vec < String > >`.
pub fn type_name(ty: &Type) -> String {
    let mut name = quote::quote!(#ty).to_string();
    for (from, to) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        ("& ", "&"),
        ("( ", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
        (" ;", ";"),
    ] {
        name = name.replace(from, to);
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn classifies_supported_types() {
        assert_eq!(classify(&parse_quote!(String)), Ok(TyClass::String));
        assert_eq!(
            classify(&parse_quote!(Option<Vec<u8>>)).unwrap().inner(),
            &TyClass::Vec(Box::new(int("u8")))
        );
        assert_eq!(
            classify(&parse_quote!(serde_json::Map<String, serde_json::Value>)),
            Ok(TyClass::Object)
        );
        assert_eq!(classify(&parse_quote!(Frequency)), Ok(TyClass::Other));
    }

    #[test]
    fn rejects_unsupported_types_with_reasons() {
        for ty in [
            parse_quote!(f64),
            parse_quote!(char),
            parse_quote!(&'static str),
            parse_quote!((String, u8)),
            parse_quote!(Vec<Vec<String>>),
            parse_quote!(HashMap<String, i64>),
            parse_quote!(Option<Option<String>>),
            parse_quote!(serde_json::Value),
        ] {
            let ty: Type = ty;
            assert!(
                classify(&ty).is_err(),
                "{} must be rejected",
                type_name(&ty)
            );
        }
    }

    #[test]
    fn type_names_read_naturally() {
        assert_eq!(
            type_name(&parse_quote!(Vec<Vec<String>>)),
            "Vec<Vec<String>>"
        );
        assert_eq!(
            type_name(&parse_quote!(HashMap<String, i64>)),
            "HashMap<String, i64>"
        );
        assert_eq!(type_name(&parse_quote!(&'static str)), "&'static str");
        assert_eq!(
            type_name(&parse_quote!(serde_json::Value)),
            "serde_json::Value"
        );
        assert_eq!(type_name(&parse_quote!((String, u8))), "(String, u8)");
    }
}
