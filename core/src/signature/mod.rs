//! Request signature verification (filled in by the signature work).
