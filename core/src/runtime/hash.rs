//! The canonical hash of an input: the same JSON value hashes the same whatever its key order.

use serde_json::Value;
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
    write(&mut hasher, value);
    InputHash(hasher.finalize().into())
}

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
