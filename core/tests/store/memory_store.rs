//! The conformance suite against `MemoryStore`.

use std::time::Duration;

use actionkit_core::store::MemoryStore;

conformance_tests!(Some(|retention: Duration| async move {
    MemoryStore::with_retention(retention)
}));
