//! [Standard Webhooks](https://www.standardwebhooks.com) signatures, as epilot sends them.
//!
//! Three headers: `webhook-id` (stable across retries), `webhook-timestamp` (unix seconds) and
//! `webhook-signature`, a space-separated list of `<version>,<base64 signature>` entries. The
//! signed content is `"<id>.<timestamp>.<raw body>"`. Two versions are checked:
//!
//! - `v1`: HMAC-SHA256 keyed with the base64-decoded part of a `whsec_<base64>` secret.
//! - `v1a`: Ed25519, checked against public keys given as `whpk_<base64>` or PEM (SPKI).
//!
//! Entries of other versions are ignored, any entry that matches any configured key passes
//! (rotation), and only configured keys are trusted, never one taken from the request.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use actionkit_core::signature::standard_webhooks::{StandardWebhooksVerifier, WebhookKey};
//!
//! let verifier = StandardWebhooksVerifier::new([WebhookKey::parse(
//!     "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=",
//! )?])?;
//! let verified = verifier.verify(
//!     "msg_p5jXN8AQM9LWM0D4loKWxJek",
//!     "1614265330",
//!     "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==",
//!     br#"{"test": 2432232314}"#,
//!     UNIX_EPOCH + Duration::from_secs(1614265330),
//! )?;
//! assert_eq!(verified.timestamp, 1614265330);
//! # Ok::<(), actionkit_core::signature::SignatureError>(())
//! ```

use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{DEFAULT_TOLERANCE, SignatureError, check_timestamp, parse_unix_seconds};

pub use super::webhook_keys::{WebhookKey, WebhookSigningKey};

/// Name of the header holding the message id, stable across retries (the idempotency key).
///
/// ```
/// assert_eq!(actionkit_core::signature::standard_webhooks::ID_HEADER, "webhook-id");
/// ```
pub const ID_HEADER: &str = "webhook-id";

/// Name of the header holding the signing time in unix seconds.
///
/// ```
/// use actionkit_core::signature::standard_webhooks::TIMESTAMP_HEADER;
/// assert_eq!(TIMESTAMP_HEADER, "webhook-timestamp");
/// ```
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";

/// Name of the header holding the space-separated `<version>,<base64>` signatures.
///
/// ```
/// use actionkit_core::signature::standard_webhooks::SIGNATURE_HEADER;
/// assert_eq!(SIGNATURE_HEADER, "webhook-signature");
/// ```
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// A signature version this module checks.
///
/// ```
/// use actionkit_core::signature::standard_webhooks::SignatureVersion;
///
/// assert_eq!(SignatureVersion::V1a.as_str(), "v1a");
/// assert_eq!(SignatureVersion::V1.to_string(), "v1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureVersion {
    /// `v1`: HMAC-SHA256 with a shared `whsec_` secret.
    V1,
    /// `v1a`: Ed25519 with the sender's public key.
    V1a,
}

impl SignatureVersion {
    /// The version's tag in `webhook-signature`: `"v1"` or `"v1a"`.
    ///
    /// ```
    /// use actionkit_core::signature::standard_webhooks::SignatureVersion;
    /// assert_eq!(SignatureVersion::V1.as_str(), "v1");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V1a => "v1a",
        }
    }

    fn from_tag(tag: &str) -> Option<Self> {
        match tag {
            "v1" => Some(Self::V1),
            "v1a" => Some(Self::V1a),
            _ => None,
        }
    }
}

impl fmt::Display for SignatureVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a successful [`StandardWebhooksVerifier::verify`] established.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use actionkit_core::signature::standard_webhooks::{
///     SignatureVersion, StandardWebhooksVerifier, VerifiedWebhook, WebhookSigningKey,
/// };
///
/// let signer = WebhookSigningKey::hmac_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// let verifier = StandardWebhooksVerifier::new([signer.verifying_key()])?;
/// let signature = signer.sign("msg_1", 1_700_000_000, b"{}");
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// assert_eq!(
///     verifier.verify("msg_1", "1700000000", &signature, b"{}", now)?,
///     VerifiedWebhook { timestamp: 1_700_000_000, version: SignatureVersion::V1, key_index: 0 },
/// );
/// # Ok::<(), actionkit_core::signature::SignatureError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedWebhook {
    /// The signed `webhook-timestamp`, in unix seconds.
    pub timestamp: u64,
    /// The version of the signature that matched.
    pub version: SignatureVersion,
    /// Position of the matching key in the list the verifier was built from (tells when a
    /// rotated-out key is no longer used).
    pub key_index: usize,
}

/// Checks Standard Webhooks signatures against a fixed set of keys.
///
/// Built once at start-up; several keys may be configured at once (rotation, or `v1` and
/// `v1a` senders side by side). `Debug` output never shows the keys.
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::signature::standard_webhooks::{StandardWebhooksVerifier, WebhookKey};
///
/// let keys = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g="]
///     .into_iter()
///     .map(WebhookKey::parse)
///     .collect::<Result<Vec<_>, _>>()?;
/// let verifier = StandardWebhooksVerifier::new(keys)?.tolerance(Duration::from_secs(60));
/// assert!(format!("{verifier:?}").contains("Secret(***)"));
/// # Ok::<(), actionkit_core::signature::SignatureError>(())
/// ```
#[derive(Clone, Debug)]
pub struct StandardWebhooksVerifier {
    keys: Vec<WebhookKey>,
    tolerance: Duration,
}

impl StandardWebhooksVerifier {
    /// A verifier trusting exactly `keys`, with the default 300 s tolerance.
    ///
    /// Fails with [`SignatureError::NoKeys`] when `keys` is empty.
    ///
    /// ```
    /// use actionkit_core::signature::{SignatureError, standard_webhooks::{StandardWebhooksVerifier, WebhookKey}};
    ///
    /// assert_eq!(
    ///     StandardWebhooksVerifier::new(Vec::<WebhookKey>::new()).unwrap_err(),
    ///     SignatureError::NoKeys,
    /// );
    /// ```
    pub fn new(keys: impl IntoIterator<Item = WebhookKey>) -> Result<Self, SignatureError> {
        let keys: Vec<WebhookKey> = keys.into_iter().collect();
        if keys.is_empty() {
            return Err(SignatureError::NoKeys);
        }
        Ok(Self {
            keys,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// Sets how far the signed timestamp may lie from the verifier's clock, in either
    /// direction (default [`DEFAULT_TOLERANCE`], 300 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// use actionkit_core::signature::standard_webhooks::{StandardWebhooksVerifier, WebhookSigningKey};
    ///
    /// let key = WebhookSigningKey::ed25519_from_seed([1; 32]).verifying_key();
    /// let verifier = StandardWebhooksVerifier::new([key])?.tolerance(Duration::from_secs(30));
    /// # Ok::<(), actionkit_core::signature::SignatureError>(())
    /// ```
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Verifies a request from its three header values and raw body, as of `now`.
    ///
    /// Entries in `signature` may be separated by any ASCII whitespace and come in any order;
    /// entries of unknown versions, or of a version no configured key checks, are skipped.
    /// The signature is checked before the timestamp, so a timestamp error means the request
    /// is authentic but stale (or a clock is off).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use actionkit_core::signature::{SignatureError, standard_webhooks::*};
    ///
    /// let verifier = StandardWebhooksVerifier::new([WebhookKey::parse(
    ///     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    /// )?])?;
    /// let (id, body) = ("msg_p5jXN8AQM9LWM0D4loKWxJek", br#"{"test": 2432232314}"#);
    /// let signature = "v2,ignored v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    /// let now = UNIX_EPOCH + Duration::from_secs(1614265330);
    /// assert!(verifier.verify(id, "1614265330", signature, body, now).is_ok());
    ///
    /// let later = now + Duration::from_secs(301);
    /// assert_eq!(
    ///     verifier.verify(id, "1614265330", signature, body, later).unwrap_err(),
    ///     SignatureError::TimestampTooOld { age_secs: 301, tolerance_secs: 300 },
    /// );
    /// # Ok::<(), SignatureError>(())
    /// ```
    pub fn verify(
        &self,
        id: &str,
        timestamp: &str,
        signature: &str,
        body: &[u8],
        now: SystemTime,
    ) -> Result<VerifiedWebhook, SignatureError> {
        let id = required(id, ID_HEADER)?;
        let timestamp = required(timestamp, TIMESTAMP_HEADER)?;
        let signature = required(signature, SIGNATURE_HEADER)?;
        let unix = parse_unix_seconds(timestamp).ok_or(SignatureError::InvalidTimestamp {
            header: TIMESTAMP_HEADER,
        })?;
        let content = signed_content(id, timestamp, body);

        let mut checked = 0;
        let mut undecodable = false;
        for entry in signature.split_ascii_whitespace() {
            let (tag, encoded) = entry
                .split_once(',')
                .ok_or(SignatureError::MalformedHeader {
                    header: SIGNATURE_HEADER,
                    problem: "an entry is not `<version>,<base64 signature>`; separate \
                                  entries with spaces",
                })?;
            let Some(version) = SignatureVersion::from_tag(tag) else {
                continue;
            };
            if !self.keys.iter().any(|key| key.version() == version) {
                continue;
            }
            let Ok(bytes) = STANDARD.decode(encoded) else {
                undecodable = true;
                continue;
            };
            checked += 1;
            for (key_index, key) in self.keys.iter().enumerate() {
                if key.matches(version, &bytes, &content) {
                    check_timestamp(unix, now, self.tolerance)?;
                    return Ok(VerifiedWebhook {
                        timestamp: unix,
                        version,
                        key_index,
                    });
                }
            }
        }

        Err(if checked > 0 {
            SignatureError::NoMatch {
                signatures: checked,
                keys: self.keys.len(),
            }
        } else if undecodable {
            SignatureError::MalformedHeader {
                header: SIGNATURE_HEADER,
                problem: "a signature is not valid base64",
            }
        } else {
            SignatureError::MissingSignature {
                header: SIGNATURE_HEADER,
                versions: self.versions(),
            }
        })
    }

    /// The versions the configured keys check, for error messages.
    fn versions(&self) -> &'static str {
        let has = |version| self.keys.iter().any(|key| key.version() == version);
        match (has(SignatureVersion::V1), has(SignatureVersion::V1a)) {
            (true, true) => "`v1` or `v1a`",
            (true, false) => "`v1`",
            _ => "`v1a`",
        }
    }
}

/// A header value with surrounding whitespace removed, or [`SignatureError::MissingHeader`].
fn required<'a>(value: &'a str, header: &'static str) -> Result<&'a str, SignatureError> {
    let value = value.trim();
    if value.is_empty() {
        Err(SignatureError::MissingHeader { header })
    } else {
        Ok(value)
    }
}

/// `"<id>.<timestamp>.<body>"`, the bytes every version signs.
pub(crate) fn signed_content(id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(id.len() + timestamp.len() + body.len() + 2);
    content.extend_from_slice(id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(timestamp.as_bytes());
    content.push(b'.');
    content.extend_from_slice(body);
    content
}
