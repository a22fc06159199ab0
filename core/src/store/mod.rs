//! Idempotency stores (filled in by the store work).
