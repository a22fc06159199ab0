//! Request-signature verification, and signing for tests and tooling.
//!
//! Two schemes, one module each:
//!
//! - [`stripe`]: `Stripe-Signature: t=<unix>,v1=<hex>`, HMAC-SHA256 over `"<t>.<raw body>"`.
//! - [`standard_webhooks`]: the [Standard Webhooks](https://www.standardwebhooks.com) headers
//!   `webhook-id`, `webhook-timestamp` and `webhook-signature`, with `v1` (HMAC-SHA256) and
//!   `v1a` (Ed25519) signatures over `"<id>.<timestamp>.<raw body>"`. epilot signs this way.
//!
//! Everything here is a pure function over bytes: no HTTP, no platform. Callers hand in the
//! header values, the raw body exactly as received (before any JSON parsing) and the current
//! time, so tests are deterministic. Keys are parsed once, when a verifier is built, and are
//! never printed: their `Debug` output reads `Secret(***)` and no error message quotes them.
//!
//! Both verifiers check the signature first and the timestamp second, so a timestamp error
//! always concerns an authentic request that is stale or comes from a skewed clock.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use actionkit_core::signature::{SignatureError, stripe::{self, StripeVerifier}};
//!
//! let verifier = StripeVerifier::new(["whsec_test"])?;
//! let header = stripe::sign("whsec_test", 1_700_000_000, b"{}");
//! let late = UNIX_EPOCH + Duration::from_secs(1_700_000_301);
//! assert_eq!(
//!     verifier.verify(&header, b"{}", late).unwrap_err().to_string(),
//!     "timestamp is 301 s in the past, beyond the 300 s tolerance; the request was delayed \
//!      or replayed, or this server's clock is off (check NTP)",
//! );
//! # Ok::<(), SignatureError>(())
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[cfg(any(feature = "stripe", feature = "epilot"))]
mod keys;
#[cfg(feature = "epilot")]
mod webhook_keys;

#[cfg(all(feature = "epilot", feature = "cli"))]
pub(crate) use keys::random_bytes;
#[cfg(feature = "epilot")]
pub mod standard_webhooks;
#[cfg(feature = "stripe")]
pub mod stripe;

#[cfg(all(test, feature = "stripe", feature = "epilot"))]
mod tests;

/// How far a signed timestamp may lie from the verifier's clock, in either direction, unless a
/// verifier is configured otherwise: 300 s, as both Stripe and Standard Webhooks recommend.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(actionkit_core::signature::DEFAULT_TOLERANCE, Duration::from_secs(300));
/// ```
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Why a request signature, or a configured key, was rejected.
///
/// Messages are lower-case, say what is wrong and how to fix it, and never contain key
/// material. Match on the variant to decide on a response (every variant of a failed
/// verification maps to 401 at the HTTP layer; [`InvalidKey`](Self::InvalidKey),
/// [`NoKeys`](Self::NoKeys) and [`Random`](Self::Random) are start-up errors).
///
/// ```
/// use actionkit_core::signature::{SignatureError, stripe::StripeVerifier};
///
/// let verifier = StripeVerifier::new(["whsec_test"])?;
/// let err = verifier.verify("v1=00", b"{}", std::time::SystemTime::now()).unwrap_err();
/// assert_eq!(err, SignatureError::MissingTimestamp { header: "Stripe-Signature" });
/// assert_eq!(err.to_string(), "missing `t=` timestamp in `Stripe-Signature`; pass the header \
///     exactly as received");
/// # Ok::<(), SignatureError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// A required header is absent or empty.
    #[error("missing `{header}` header; the request was not signed, or a proxy dropped the header")]
    MissingHeader {
        /// The header's name, e.g. `webhook-id`.
        header: &'static str,
    },
    /// A header is present but does not have the expected shape.
    #[error("malformed `{header}` header: {problem}")]
    MalformedHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it (never quotes the header's value).
        problem: &'static str,
    },
    /// The `Stripe-Signature` header has no `t=` entry.
    #[error("missing `t=` timestamp in `{header}`; pass the header exactly as received")]
    MissingTimestamp {
        /// The header's name.
        header: &'static str,
    },
    /// The timestamp is not a whole number of unix seconds.
    #[error("the timestamp in `{header}` is not unix seconds (expected digits only)")]
    InvalidTimestamp {
        /// The header holding the timestamp.
        header: &'static str,
    },
    /// The header carries no signature of a version the configured keys can check.
    #[error(
        "no {versions} signature in `{header}` (other versions are ignored); configure a key \
         for the scheme the sender uses"
    )]
    MissingSignature {
        /// The header's name.
        header: &'static str,
        /// The versions that would have been checked, e.g. `` `v1` or `v1a` ``.
        versions: &'static str,
    },
    /// Signatures were present, but none matched any configured secret or key.
    #[error(
        "no signature matched any configured secret ({signatures} signature(s) checked against \
         {keys} key(s)); check that the secret is the sender's current one and that the raw \
         body is passed unmodified"
    )]
    NoMatch {
        /// How many signatures of a checked version the header carried.
        signatures: usize,
        /// How many secrets or keys were tried against each.
        keys: usize,
    },
    /// The signature is authentic, but its timestamp is further in the past than allowed.
    #[error(
        "timestamp is {age_secs} s in the past, beyond the {tolerance_secs} s tolerance; the \
         request was delayed or replayed, or this server's clock is off (check NTP)"
    )]
    TimestampTooOld {
        /// How old the timestamp is, in seconds.
        age_secs: u64,
        /// The configured tolerance, in whole seconds.
        tolerance_secs: u64,
    },
    /// The signature is authentic, but its timestamp is further in the future than allowed.
    #[error(
        "timestamp is {ahead_secs} s in the future, beyond the {tolerance_secs} s tolerance; \
         this server's or the sender's clock is off (check NTP)"
    )]
    TimestampInFuture {
        /// How far ahead of the verifier's clock the timestamp is, in seconds.
        ahead_secs: u64,
        /// The configured tolerance, in whole seconds.
        tolerance_secs: u64,
    },
    /// A verifier was built without any secret or key.
    #[error("no signing secret or key configured; pass at least one (several during a rotation)")]
    NoKeys,
    /// A configured secret or key could not be parsed.
    #[error("invalid signing key: {problem}")]
    InvalidKey {
        /// What is wrong with it (never quotes the key).
        problem: &'static str,
    },
    /// The operating system's random number generator failed while generating a key.
    #[error(
        "the operating system's random number generator failed; retry, or create the secret \
         elsewhere"
    )]
    Random,
}

/// Parses a unix timestamp: ASCII digits only (no sign, no spaces), fitting in a `u64`.
#[cfg_attr(not(any(feature = "stripe", feature = "epilot")), allow(dead_code))]
fn parse_unix_seconds(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// Rejects `timestamp` when it lies more than `tolerance` before or after `now`.
#[cfg_attr(not(any(feature = "stripe", feature = "epilot")), allow(dead_code))]
fn check_timestamp(
    timestamp: u64,
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    // A clock before 1970 is broken; treating it as 0 makes every timestamp "in the future".
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let tolerance_secs = tolerance.as_secs();
    if now > timestamp && Duration::from_secs(now - timestamp) > tolerance {
        return Err(SignatureError::TimestampTooOld {
            age_secs: now - timestamp,
            tolerance_secs,
        });
    }
    if timestamp > now && Duration::from_secs(timestamp - now) > tolerance {
        return Err(SignatureError::TimestampInFuture {
            ahead_secs: timestamp - now,
            tolerance_secs,
        });
    }
    Ok(())
}
