//! The canonical hash of an input: the same JSON value hashes the same whatever its key order.

use std::io::Write as _;

use serde_json::{Number, Value};
use sha2::{Digest, Sha256};

use crate::store::InputHash;

/// SHA-256 over the value's canonical form: object keys sorted, no whitespace, `null` members
/// dropped (absent and `null` mean the same to actionkit).
///
/// ```
/// use actionkit_core::runtime::input_hash;
/// let a = serde_json::json!({"a": 1, "b": [true, "x"], "c": null});
/// let b = serde_json::json!({"b": [true, "x"], "a": 1});
/// assert_eq!(input_hash(&a), input_hash(&b));
/// assert_ne!(input_hash(&a), input_hash(&serde_json::json!({"a": 2})));
/// ```
pub fn input_hash(value: &Value) -> InputHash {
    let mut hasher = Sha256::new();
    let mut scratch = Vec::new();
    write(&mut hasher, &mut scratch, value);
    InputHash(hasher.finalize().into())
}

/// [`input_hash`] of the JSON `text`, computed in one pass over the text without building a
/// [`Value`]: the same hash as `input_hash(&serde_json::from_str(text)?)`, byte for byte.
///
/// `None` when `text` is not JSON, or when an object in it repeats a key (where `serde_json`
/// would keep the last value silently, this refuses to guess).
///
/// ```
/// use actionkit_core::runtime::{input_hash, input_hash_json};
/// let text = r#"{"b": [true, "x\u00e9"], "c": null, "a": -1.5}"#;
/// let value: serde_json::Value = serde_json::from_str(text).unwrap();
/// assert_eq!(input_hash_json(text), Some(input_hash(&value)));
/// assert_eq!(input_hash_json(r#"{"a": 1, "a": 2}"#), None);
/// assert_eq!(input_hash_json("{"), None);
/// ```
pub fn input_hash_json(text: &str) -> Option<InputHash> {
    crate::schema::fast::canonical_hash(text)
}

fn write(hasher: &mut Sha256, scratch: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().filter(|(_, v)| !v.is_null()).collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            hasher.update(b"{");
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    hasher.update(b",");
                }
                // Escaped exactly as `Value::String(key).to_string()`, into a reused buffer.
                scratch.clear();
                escape(scratch, key);
                hasher.update(&scratch[..]);
                hasher.update(b":");
                write(hasher, scratch, value);
            }
            hasher.update(b"}");
        }
        Value::Array(items) => {
            hasher.update(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    hasher.update(b",");
                }
                write(hasher, scratch, item);
            }
            hasher.update(b"]");
        }
        scalar => hasher.update(scalar.to_string().as_bytes()),
    }
}

/// Appends `s` as a JSON string, escaped as `serde_json` escapes it (`Value::String` Display).
fn escape(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(out, s).expect("writing to a Vec cannot fail");
}

/// Appends a number as `Value::Number` displays it.
fn number(out: &mut Vec<u8>, n: &Number) {
    write!(out, "{n}").expect("writing to a Vec cannot fail");
}

/// The canonical form of [`input_hash`], written from a stream of JSON events (a parser's
/// visitor) instead of a [`Value`]: the same bytes reach the hasher.
///
/// Object members cannot be hashed as they arrive, because the canonical form sorts them; each
/// open object therefore has one byte buffer (reused from one object to the next at the same
/// nesting depth) that holds, per member, its raw key followed by its canonical encoding
/// (`"key":value`), and a list of those ranges. Closing the object sorts the ranges by raw key,
/// refuses repeated keys, and appends the encodings of the non-`null` members to the enclosing
/// object's buffer, or hands them to the hasher at the outermost level. Arrays and scalars go
/// straight to the innermost open object's buffer (or the hasher). Nothing is allocated per key.
pub(crate) struct Canonical {
    hasher: Sha256,
    scratch: Vec<u8>,
    levels: Vec<Level>,
    depth: usize,
}

#[derive(Default)]
struct Level {
    buf: Vec<u8>,
    members: Vec<Member>,
}

struct Member {
    key: (usize, usize),
    encoding: (usize, usize),
    skip: bool,
}

/// Where a member's key and encoding start, from [`Canonical::key`] to [`Canonical::end_member`].
pub(crate) struct MemberStart {
    key: (usize, usize),
    encoding: usize,
}

/// Buffers of a finished [`Canonical`], kept per thread for the next input: after the first
/// few requests, hashing an input allocates nothing.
type Spare = (Vec<u8>, Vec<Level>);

thread_local! {
    static SPARE: std::cell::Cell<Option<Spare>> = const { std::cell::Cell::new(None) };
}

/// Buffers larger than this are freed rather than kept for the next input.
const KEEP_AT_MOST: usize = 64 * 1024;

impl Canonical {
    pub(crate) fn new() -> Self {
        let (scratch, levels) = SPARE.with(std::cell::Cell::take).unwrap_or_default();
        Canonical {
            hasher: Sha256::new(),
            scratch,
            levels,
            depth: 0,
        }
    }

    /// Bytes of the canonical form, as they are (`[`, `,`, `true`…).
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        match self.depth {
            0 => self.hasher.update(bytes),
            d => self.levels[d - 1].buf.extend_from_slice(bytes),
        }
    }

    /// A string value.
    pub(crate) fn string(&mut self, s: &str) {
        self.encoded(|out| escape(out, s));
    }

    /// A number value.
    pub(crate) fn number(&mut self, n: &Number) {
        self.encoded(|out| number(out, n));
    }

    /// A scalar written by `encode`: straight into the open level, or through the scratch
    /// buffer into the hasher at the top.
    fn encoded(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        match self.depth {
            0 => {
                self.scratch.clear();
                encode(&mut self.scratch);
                self.hasher.update(&self.scratch[..]);
            }
            d => encode(&mut self.levels[d - 1].buf),
        }
    }

    /// Opens an object: its members follow, each as [`key`](Self::key), the value, then
    /// [`end_member`](Self::end_member).
    pub(crate) fn open_object(&mut self) {
        self.depth += 1;
        if self.levels.len() < self.depth {
            self.levels.push(Level::default());
        }
        let level = &mut self.levels[self.depth - 1];
        level.buf.clear();
        level.members.clear();
    }

    /// Starts a member of the innermost open object.
    pub(crate) fn key(&mut self, key: &str) -> MemberStart {
        let buf = &mut self.levels[self.depth - 1].buf;
        let start = buf.len();
        buf.extend_from_slice(key.as_bytes());
        let end = buf.len();
        escape(buf, key);
        buf.push(b':');
        MemberStart {
            key: (start, end),
            encoding: end,
        }
    }

    /// Ends the member started with `start`, whose value has been written; a `null` value
    /// (`skip`) is left out of the canonical form but still counts for repeated keys.
    pub(crate) fn end_member(&mut self, start: MemberStart, skip: bool) {
        let level = &mut self.levels[self.depth - 1];
        level.members.push(Member {
            key: start.key,
            encoding: (start.encoding, level.buf.len()),
            skip,
        });
    }

    /// Closes the innermost open object; `false` when two of its members have the same key.
    pub(crate) fn close_object(&mut self) -> bool {
        let depth = self.depth;
        self.depth -= 1;
        let (outer, inner) = self.levels.split_at_mut(depth - 1);
        let Level { buf, members } = &mut inner[0];
        members.sort_unstable_by(|a, b| buf[a.key.0..a.key.1].cmp(&buf[b.key.0..b.key.1]));
        if members
            .windows(2)
            .any(|w| buf[w[0].key.0..w[0].key.1] == buf[w[1].key.0..w[1].key.1])
        {
            return false;
        }
        let mut emit = |bytes: &[u8]| match outer.last_mut() {
            Some(parent) => parent.buf.extend_from_slice(bytes),
            None => self.hasher.update(bytes),
        };
        emit(b"{");
        let mut first = true;
        for member in members.iter().filter(|m| !m.skip) {
            if !first {
                emit(b",");
            }
            first = false;
            emit(&buf[member.encoding.0..member.encoding.1]);
        }
        emit(b"}");
        true
    }

    /// The hash of everything written (one complete value).
    pub(crate) fn finish(mut self) -> InputHash {
        debug_assert_eq!(self.depth, 0);
        InputHash(std::mem::take(&mut self.hasher).finalize().into())
    }
}

impl Drop for Canonical {
    fn drop(&mut self) {
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut levels = std::mem::take(&mut self.levels);
        if scratch.capacity() > KEEP_AT_MOST {
            scratch = Vec::new();
        }
        levels.truncate(8);
        levels.retain(|level| level.buf.capacity() <= KEEP_AT_MOST);
        SPARE.with(|spare| spare.set(Some((scratch, levels))));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashSet;
    use std::fmt;

    use proptest::prelude::*;
    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;
    use sha2::{Digest, Sha256};

    use super::{input_hash, input_hash_json};
    use crate::store::InputHash;

    /// A JSON string's text: generated characters escaped by serde_json, or escapes by hand.
    pub(crate) fn string_text() -> BoxedStrategy<String> {
        prop_oneof![
            4 => "[a-z\"\\\\/\u{0}-\u{1f}\u{7f}é😀\u{2028}]{0,6}"
                .prop_map(|s| serde_json::to_string(&s).unwrap()),
            1 => prop::sample::select(vec![
                r#""\u00e9""#,
                r#""\ud83d\ude00""#,
                r#""\/\b\f\n\r\t""#,
                r#""\u001F\u007f\u0000""#,
                r#""""#,
                r#""\u0061""#,
                r#""\"\\""#,
            ])
            .prop_map(str::to_owned),
        ]
        .boxed()
    }

    /// Object keys from a small alphabet, so that repeated keys (also spelt differently) occur.
    pub(crate) fn key_text() -> BoxedStrategy<String> {
        prop_oneof![
            4 => "[ab\"é]{0,2}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            1 => prop::sample::select(vec![r#""\u0061""#, r#""\"""#, r#""b\u00e9""#])
                .prop_map(str::to_owned),
        ]
        .boxed()
    }

    pub(crate) fn number_text() -> BoxedStrategy<String> {
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| serde_json::to_string(&f).unwrap()),
            prop::sample::select(vec![
                "-0",
                "0.0",
                "1e5",
                "1E-7",
                "-1.5e300",
                "123456789012345678901234567890",
                "2.50",
                "1e-400",
                "-9223372036854775808",
                "18446744073709551616",
            ])
            .prop_map(str::to_owned),
        ]
        .boxed()
    }

    /// Any JSON text (objects with `null` members, repeated keys, spacing), nested a few deep.
    pub(crate) fn json_text() -> BoxedStrategy<String> {
        let leaf = prop_oneof![
            prop::sample::select(vec!["null", "true", "false"]).prop_map(str::to_owned),
            number_text(),
            string_text(),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                prop::collection::vec((key_text(), inner), 0..6).prop_map(|members| {
                    let members: Vec<_> =
                        members.iter().map(|(k, v)| format!("{k} : {v}")).collect();
                    format!("{{ {} }}", members.join(", "))
                }),
            ]
        })
        .boxed()
    }

    /// Parses any JSON, refusing repeated keys: the oracle for `input_hash_json`'s `None`.
    struct NoRepeats;

    impl<'de> Deserialize<'de> for NoRepeats {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(NoRepeats)
        }
    }

    impl<'de> Visitor<'de> for NoRepeats {
        type Value = NoRepeats;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
            Ok(self)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
            Ok(self)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
            Ok(self)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
            Ok(self)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self, E> {
            Ok(self)
        }
        fn visit_unit<E>(self) -> Result<Self, E> {
            Ok(self)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
            while seq.next_element::<NoRepeats>()?.is_some() {}
            Ok(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
            let mut seen = HashSet::new();
            while let Some((key, NoRepeats)) = map.next_entry::<String, NoRepeats>()? {
                if !seen.insert(key) {
                    return Err(de::Error::custom("repeated key"));
                }
            }
            Ok(self)
        }
    }

    /// `input_hash` as it was before keys were escaped into a reused buffer.
    fn reference_hash(value: &Value) -> InputHash {
        fn write(hasher: &mut Sha256, value: &Value) {
            match value {
                Value::Object(map) => {
                    let mut entries: Vec<_> = map.iter().filter(|(_, v)| !v.is_null()).collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    hasher.update(b"{");
                    for (i, (key, value)) in entries.into_iter().enumerate() {
                        if i > 0 {
                            hasher.update(b",");
                        }
                        hasher.update(Value::String(key.clone()).to_string().as_bytes());
                        hasher.update(b":");
                        write(hasher, value);
                    }
                    hasher.update(b"}");
                }
                Value::Array(items) => {
                    hasher.update(b"[");
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            hasher.update(b",");
                        }
                        write(hasher, item);
                    }
                    hasher.update(b"]");
                }
                scalar => hasher.update(scalar.to_string().as_bytes()),
            }
        }
        let mut hasher = Sha256::new();
        write(&mut hasher, value);
        InputHash(hasher.finalize().into())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn input_hash_json_equals_input_hash(text in json_text()) {
            let expected = serde_json::from_str::<NoRepeats>(&text)
                .ok()
                .map(|_| input_hash(&serde_json::from_str::<Value>(&text).unwrap()));
            prop_assert_eq!(input_hash_json(&text), expected);
        }

        #[test]
        fn input_hash_is_unchanged(text in json_text()) {
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                prop_assert_eq!(input_hash(&value), reference_hash(&value));
            }
        }
    }

    #[test]
    fn input_hash_json_edge_cases() {
        for text in [
            "null",
            "1",
            r#""\u00e9""#,
            "[]",
            "{}",
            "[null, {}]",
            r#"{"a": null}"#,
            r#"{"b": {"d": null, "c": [null]}, "a\"": 1, "a#": 2}"#,
            "-0",
            "1e300",
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(input_hash_json(text), Some(input_hash(&value)), "{text}");
        }
        for text in [
            "",
            "{",
            "[1,]",
            r#"{"a":1,"a":1}"#,
            r#"[{"a":1,"\u0061":null}]"#,
            "1 2",
        ] {
            assert_eq!(input_hash_json(text), None, "{text}");
        }
    }
}
