//! `Action::decode` on untrusted JSON: never panics, names a field in every refusal of an object,
//! never echoes a string value in an error, and whatever it accepts re-serialises
//! (`schema::to_input`) to a value that validates against the input schema and decodes to the
//! same input.
//!
//! The first byte picks the mode: odd, the rest is JSON text (mutated bytes); even, the rest
//! drives a generator that walks the input schema, so most values get past the first keyword and
//! exercise nested objects, enums, arrays, formats and bounds.

#![no_main]

use std::sync::LazyLock;

use actionkit::schema::to_input;
use actionkit::{Action, InputType};
use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// How urgently to deliver.
#[derive(InputType, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Priority {
    Low,
    Normal,
    RightNow,
    #[serde(rename = "later")]
    Deferred,
}

/// Where to deliver.
#[derive(InputType, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Recipient {
    /// The address to write to
    #[field(format = "email", max_length = 254)]
    email: String,
    /// Shown in the greeting
    #[field(min_length = 1, max_length = 40)]
    display_name: Option<String>,
    kind: Option<Priority>,
}

/// When to deliver.
#[derive(InputType, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "kebab-case")]
struct Schedule {
    #[field(format = "date-time")]
    not_before: String,
    #[field(format = "date")]
    day: Option<String>,
    #[field(minimum = -720, maximum = 840)]
    utc_offset_minutes: Option<i16>,
    #[field(max_items = 7)]
    weekdays: Vec<u8>,
    /// Called back when done
    #[field(format = "uri")]
    callback: Option<String>,
    fallback: Option<Recipient>,
}

/// Notify someone, with nested objects, enums, arrays and keywords.
#[derive(Action, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[action(id = "fuzz.notify")]
#[serde(rename_all = "camelCase")]
struct Notify {
    /// Given name
    #[field(min_length = 1, max_length = 40, pattern = "^[A-Za-z][A-Za-z -]*$")]
    first_name: String,
    #[field(max_length = 40)]
    last_name: Option<String>,
    recipient: Recipient,
    cc: Option<Recipient>,
    schedule: Option<Schedule>,
    #[field(min_items = 1, max_items = 3)]
    channels: Vec<String>,
    #[serde(default = "normal")]
    #[field(default = "NORMAL")]
    priority: Priority,
    #[field(minimum = 0, maximum = 10, default = 3)]
    retries: u8,
    quiet: bool,
    #[serde(rename = "ttl_seconds")]
    #[field(minimum = 60)]
    time_to_live: Option<u32>,
    tags: Option<Vec<Priority>>,
    offsets: Vec<i64>,
    sizes: Option<Vec<u64>>,
    #[field(format = "ipv4")]
    relay: Option<String>,
    #[field(format = "hostname")]
    sender_domain: Option<String>,
    #[serde(default)]
    extra: Map<String, Value>,
    #[serde(skip)]
    cached_token: Option<String>,
}

fn normal() -> Priority {
    Priority::Normal
}

static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(Notify::input_schema())
        .expect("the input schema compiles")
});

/// Every character the input schema holds, plus what error wording may use.
static SPELLABLE: LazyLock<String> = LazyLock::new(|| {
    let mut chars = Notify::input_schema().to_string();
    chars.push_str(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 `'\"/.,;:-_()[]{}",
    );
    chars
});

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let value = if mode & 1 == 1 {
        // The served path reads the input as text: it must answer exactly as the `Value` path.
        if let Ok(text) = std::str::from_utf8(rest) {
            agree(text);
        }
        match serde_json::from_slice::<Value>(rest) {
            Ok(value) => value,
            Err(_) => return,
        }
    } else {
        match generate(Notify::input_schema(), &mut Unstructured::new(rest), 0) {
            Ok(value) => value,
            Err(_) => return,
        }
    };
    if mode & 2 == 2 {
        agree(&value.to_string());
    }
    check(value);
});

/// `Action::decode_json` (the fast, text path the server takes) accepts and refuses exactly
/// what parsing to a `Value` and `Action::decode` do, with the same error and the same hash.
fn agree(text: &str) {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        assert!(
            Notify::decode_json(text).is_err(),
            "{text:?} is not JSON yet decoded"
        );
        return;
    };
    let hash = actionkit::runtime::input_hash(&value);
    match (Notify::decode_json(text), Notify::decode(value)) {
        (Ok((fast, fast_hash)), Ok(slow)) => {
            assert_eq!(fast, slow, "{text}");
            assert_eq!(fast_hash, hash, "{text}");
        }
        (Err(fast), Err(slow)) => assert_eq!(fast, slow, "{text}"),
        (fast, slow) => panic!("{text}: text path {fast:?}, value path {slow:?}"),
    }
}

fn check(value: Value) {
    match Notify::decode(value.clone()) {
        Ok(decoded) => {
            assert_eq!(decoded.cached_token, None);
            let serialised = to_input(&decoded);
            if let Some(err) = VALIDATOR.iter_errors(&serialised).next() {
                panic!(
                    "{value} decoded, but re-serialised to {serialised}, which is invalid: {err}"
                );
            }
            let again = Notify::decode(serialised.clone())
                .unwrap_or_else(|err| panic!("{serialised} does not decode again: {err}"));
            assert_eq!(again, decoded, "{value} → {serialised} decodes differently");
        }
        Err(err) => {
            let field = err.field();
            assert!(
                field.is_empty() || field.starts_with('/'),
                "field {field:?}"
            );
            // Only a non-object input is refused as a whole; otherwise a field is at fault.
            assert!(
                !(field.is_empty() && value.is_object()),
                "{value} refused without a field: {err}"
            );
            assert!(!err.message().is_empty());
            // Keys may be named (`unknown field`), string values never: they may hold secrets.
            // Only strings that the message's own wording and the schema cannot spell out are
            // checked: those with a character found in neither.
            let message = err.to_string();
            let keys = keys(&value);
            for text in strings(&value) {
                let telling = text.chars().count() >= 6
                    && text.chars().any(|c| !SPELLABLE.contains(c))
                    && !keys.iter().any(|key| key.contains(text.as_str()));
                assert!(
                    !(telling && message.contains(text.as_str())),
                    "error {message:?} echoes the value {text:?}"
                );
            }
        }
    }
}

/// Every string value (not key) in `value`.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// Every key in `value`.
fn keys(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().flat_map(keys).collect(),
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| std::iter::once(k.clone()).chain(keys(v)))
            .collect(),
        _ => Vec::new(),
    }
}

/// A value shaped by `schema` most of the time, and now and then anything at all.
fn generate(schema: &Value, u: &mut Unstructured<'_>, depth: usize) -> Result<Value> {
    if u.ratio(1, 24)? {
        return any_value(u, depth);
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        return Ok(u.choose(options)?.clone());
    }
    let count = |key: &str| schema.get(key).and_then(Value::as_u64);
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => string_for(schema, u).map(Value::String),
        Some("integer") => integer_for(schema, u),
        Some("boolean") => Ok(Value::Bool(u.arbitrary()?)),
        Some("array") => {
            let min = count("minItems").unwrap_or(0) as usize;
            let max = count("maxItems").map_or(6, |m| m as usize + 1);
            let len = u.int_in_range(min.saturating_sub(1)..=max)?;
            let items = &schema["items"];
            (0..len)
                .map(|_| generate(items, u, depth + 1))
                .collect::<Result<Vec<_>>>()
                .map(Value::Array)
        }
        Some("object") => match schema.get("properties").and_then(Value::as_object) {
            Some(properties) => {
                let required: Vec<&str> = schema["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut map = Map::new();
                for (name, property) in properties {
                    let include =
                        required.contains(&name.as_str()) && !u.ratio(1, 32)? || u.arbitrary()?;
                    if !include {
                        continue;
                    }
                    let value = if u.ratio(1, 16)? {
                        Value::Null
                    } else {
                        generate(property, u, depth + 1)?
                    };
                    map.insert(name.clone(), value);
                }
                if u.ratio(1, 32)? {
                    map.insert(u.arbitrary()?, any_value(u, depth + 1)?);
                }
                Ok(Value::Object(map))
            }
            None => {
                let len = u.int_in_range(0..=4)?;
                let mut map = Map::new();
                for _ in 0..len {
                    map.insert(u.arbitrary()?, any_value(u, depth + 1)?);
                }
                Ok(Value::Object(map))
            }
        },
        _ => any_value(u, depth),
    }
}

fn string_for(schema: &Value, u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1, 8)? {
        return u.arbitrary();
    }
    let word = |u: &mut Unstructured<'_>, alphabet: &[u8], max: usize| -> Result<String> {
        let len = u.int_in_range(0..=max)?;
        (0..len)
            .map(|_| u.choose(alphabet).map(|&b| b as char))
            .collect()
    };
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const NAME: &[u8] = b"AaBbZz -";
    let pad = |u: &mut Unstructured<'_>, n: u32, width: usize| -> Result<String> {
        Ok(format!("{:0width$}", u.int_in_range(0..=n)?))
    };
    Ok(match schema.get("format").and_then(Value::as_str) {
        Some("email") => format!(
            "{}@{}.{}",
            word(u, ALNUM, 12)?,
            word(u, b"abc.-xyz", 12)?,
            word(u, b"comdenet", 4)?
        ),
        Some("date-time") => format!(
            "{}-{}-{}{}{}:{}:{}{}{}",
            pad(u, 9999, 4)?,
            pad(u, 13, 2)?,
            pad(u, 32, 2)?,
            u.choose(&["T", "t", " "])?,
            pad(u, 24, 2)?,
            pad(u, 60, 2)?,
            pad(u, 61, 2)?,
            u.choose(&["", ".5", ".123456789", "."])?,
            u.choose(&["Z", "z", "+01:00", "-23:59", "+24:00", ""])?,
        ),
        Some("date") => format!("{}-{}-{}", pad(u, 9999, 4)?, pad(u, 13, 2)?, pad(u, 32, 2)?),
        Some("uri") => format!(
            "{}:{}{}",
            u.choose(&["https", "http", "mailto", "urn", "x-1"])?,
            u.choose(&["//", "", "///"])?,
            word(u, b"ab.:/?#[]@%20-_~!$&'()*+,;=", 24)?
        ),
        Some("ipv4") => (0..u.int_in_range(3..=5)?)
            .map(|_| Ok(u.int_in_range(0u16..=300)?.to_string()))
            .collect::<Result<Vec<_>>>()?
            .join("."),
        Some("hostname") => (0..u.int_in_range(1..=4)?)
            .map(|_| word(u, b"ab-1.", 70))
            .collect::<Result<Vec<_>>>()?
            .join("."),
        _ if schema.get("pattern").is_some() => word(u, NAME, 44)?,
        _ => word(u, ALNUM, 44)?,
    })
}

fn integer_for(schema: &Value, u: &mut Unstructured<'_>) -> Result<Value> {
    let min = schema.get("minimum").and_then(Value::as_i64);
    let max = schema.get("maximum").and_then(Value::as_i64);
    Ok(match u.int_in_range(0..=5)? {
        // In range, or just outside it.
        0 | 1 => {
            let lo = min.unwrap_or(i64::MIN).saturating_sub(1);
            let hi = max.unwrap_or(i64::MAX).saturating_add(1);
            Value::from(u.int_in_range(lo..=hi)?)
        }
        2 => Value::from(u.arbitrary::<u64>()?),
        // Integral floats (`1.0`, `1e2`) count as integers in JSON Schema.
        3 => Number::from_f64(f64::from(u.arbitrary::<i32>()?)).map_or(Value::Null, Value::Number),
        4 => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        _ => Value::from(u.arbitrary::<i64>()?),
    })
}

fn any_value(u: &mut Unstructured<'_>, depth: usize) -> Result<Value> {
    let kind = if depth > 4 {
        u.int_in_range(0..=3)?
    } else {
        u.int_in_range(0..=5)?
    };
    Ok(match kind {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => integer_for(&Value::Null, u)?,
        3 => Value::String(u.arbitrary()?),
        4 => {
            let len = u.int_in_range(0..=4)?;
            Value::Array(
                (0..len)
                    .map(|_| any_value(u, depth + 1))
                    .collect::<Result<_>>()?,
            )
        }
        _ => {
            let len = u.int_in_range(0..=4)?;
            let mut map = Map::new();
            for _ in 0..len {
                map.insert(u.arbitrary()?, any_value(u, depth + 1)?);
            }
            Value::Object(map)
        }
    })
}
