//! Stripe's request signature: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…][,v0=…]`.
//!
//! `v1` is HMAC-SHA256 keyed with the signing secret's UTF-8 bytes (its `whsec_` prefix
//! included) over `"<t>.<raw body>"`. Several `v1` entries may be present and any match passes;
//! entries of other schemes (`v0`) are ignored. Several secrets may be configured at once
//! (rotation): any of them may match.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use actionkit_core::signature::stripe::{self, StripeVerifier};
//!
//! let verifier = StripeVerifier::new(["whsec_test"])?;
//! let header = stripe::sign("whsec_test", 1_700_000_000, br#"{"id":"req_1"}"#);
//! let now = UNIX_EPOCH + Duration::from_secs(1_700_000_010);
//! assert_eq!(verifier.verify(&header, br#"{"id":"req_1"}"#, now)?.timestamp, 1_700_000_000);
//! # Ok::<(), actionkit_core::signature::SignatureError>(())
//! ```

use std::time::{Duration, SystemTime};

use hmac::Mac as _;
use subtle::ConstantTimeEq as _;

use super::keys::{HmacSha256, Secret, hmac_key, random_bytes};
use super::{DEFAULT_TOLERANCE, SignatureError, check_timestamp, parse_unix_seconds};

/// Name of the header Stripe signs requests with.
///
/// ```
/// assert_eq!(actionkit_core::signature::stripe::HEADER, "Stripe-Signature");
/// ```
pub const HEADER: &str = "Stripe-Signature";

/// What a successful [`StripeVerifier::verify`] established.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use actionkit_core::signature::stripe::{self, StripeVerifier, VerifiedStripe};
///
/// let verifier = StripeVerifier::new(["whsec_old", "whsec_new"])?;
/// let header = stripe::sign("whsec_new", 1_700_000_000, b"{}");
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// assert_eq!(
///     verifier.verify(&header, b"{}", now)?,
///     VerifiedStripe { timestamp: 1_700_000_000, secret_index: 1 },
/// );
/// # Ok::<(), actionkit_core::signature::SignatureError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedStripe {
    /// The signed `t=` timestamp, in unix seconds.
    pub timestamp: u64,
    /// Position of the matching secret in the list the verifier was built from (tells when a
    /// rotated-out secret is no longer used).
    pub secret_index: usize,
}

/// Checks `Stripe-Signature` headers against a fixed set of signing secrets.
///
/// Built once at start-up. `Debug` output never shows the secrets.
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::signature::stripe::StripeVerifier;
///
/// let verifier = StripeVerifier::new(["whsec_current", "whsec_previous"])?
///     .tolerance(Duration::from_secs(120));
/// assert_eq!(
///     format!("{verifier:?}"),
///     "StripeVerifier { secrets: [Secret(***), Secret(***)], tolerance: 120s }",
/// );
/// # Ok::<(), actionkit_core::signature::SignatureError>(())
/// ```
#[derive(Clone, Debug)]
pub struct StripeVerifier {
    secrets: Vec<Secret<HmacSha256>>,
    tolerance: Duration,
}

impl StripeVerifier {
    /// A verifier accepting signatures made with any of `secrets`, with the default 300 s
    /// tolerance.
    ///
    /// A secret is used as its UTF-8 bytes, `whsec_` prefix included; surrounding whitespace
    /// (a trailing newline from a secrets file) is ignored. Fails with
    /// [`SignatureError::NoKeys`] for an empty list and [`SignatureError::InvalidKey`] for an
    /// empty secret.
    ///
    /// ```
    /// use actionkit_core::signature::{SignatureError, stripe::StripeVerifier};
    ///
    /// assert!(StripeVerifier::new(["whsec_test"]).is_ok());
    /// assert_eq!(StripeVerifier::new(Vec::<String>::new()).unwrap_err(), SignatureError::NoKeys);
    /// assert!(StripeVerifier::new([" "]).is_err());
    /// ```
    pub fn new<S: Into<String>>(
        secrets: impl IntoIterator<Item = S>,
    ) -> Result<Self, SignatureError> {
        let secrets = secrets
            .into_iter()
            .map(|secret| {
                let secret: String = secret.into();
                let secret = secret.trim();
                if secret.is_empty() {
                    return Err(SignatureError::InvalidKey {
                        problem: "a Stripe signing secret is empty; copy it from the app's \
                                  settings (it starts with `whsec_`)",
                    });
                }
                Ok(hmac_key(secret.as_bytes()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if secrets.is_empty() {
            return Err(SignatureError::NoKeys);
        }
        Ok(Self {
            secrets,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// Sets how far `t=` may lie from the verifier's clock, in either direction (default
    /// [`DEFAULT_TOLERANCE`], 300 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// use actionkit_core::signature::stripe::StripeVerifier;
    ///
    /// let verifier = StripeVerifier::new(["whsec_test"])?.tolerance(Duration::from_secs(60));
    /// # Ok::<(), actionkit_core::signature::SignatureError>(())
    /// ```
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Verifies a `Stripe-Signature` header value against the raw request body, as of `now`.
    ///
    /// Entries are separated by commas, may carry surrounding whitespace and come in any
    /// order. Fails when the header is empty or malformed, has no `t=` or no `v1=`, when no
    /// `v1` signature matches any secret, or when `t` lies further than the tolerance from
    /// `now`. The signature is checked first, so a timestamp error means the request is
    /// authentic but stale (or a clock is off). Tags are compared in constant time.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use actionkit_core::signature::{SignatureError, stripe::{self, StripeVerifier}};
    ///
    /// let verifier = StripeVerifier::new(["whsec_test"])?;
    /// let header = stripe::sign("whsec_test", 1_700_000_000, b"{}");
    /// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// assert!(verifier.verify(&header, b"{}", now).is_ok());
    /// assert!(matches!(
    ///     verifier.verify(&header, b"{ }", now),
    ///     Err(SignatureError::NoMatch { .. }),
    /// ));
    /// # Ok::<(), SignatureError>(())
    /// ```
    pub fn verify(
        &self,
        header: &str,
        body: &[u8],
        now: SystemTime,
    ) -> Result<VerifiedStripe, SignatureError> {
        let parsed = parse_header(header)?;
        for (secret_index, Secret(mac)) in self.secrets.iter().enumerate() {
            let expected = tag(mac, parsed.t, body);
            if parsed.v1().any(|candidate| match candidate {
                V1::Sha256(candidate) => bool::from(expected.ct_eq(&candidate)),
                // Hex of another length is a signature, but never a match.
                V1::OtherLength | V1::NotHex => false,
            }) {
                check_timestamp(parsed.timestamp, now, self.tolerance)?;
                return Ok(VerifiedStripe {
                    timestamp: parsed.timestamp,
                    secret_index,
                });
            }
        }
        Err(SignatureError::NoMatch {
            signatures: parsed.v1().filter(|v1| !matches!(v1, V1::NotHex)).count(),
            keys: self.secrets.len(),
        })
    }
}

/// Builds a `Stripe-Signature` header value `t=<timestamp>,v1=<hex>` for `body`, signed with
/// `secret` (used as the verifier uses it). For tests, the simulator and the `sign` CLI.
///
/// ```
/// use actionkit_core::signature::stripe;
///
/// assert_eq!(
///     stripe::sign("whsec_test_secret", 1700000000, br#"{"id":"evt_test_webhook","object":"event"}"#),
///     "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990",
/// );
/// ```
#[must_use]
pub fn sign(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    let Secret(mac) = hmac_key(secret.trim().as_bytes());
    format!("t={t},v1={}", hex::encode(tag(&mac, &t, body)))
}

/// Generates a random signing secret for development: `whsec_` followed by 64 hex digits
/// (32 bytes from the operating system's generator).
///
/// ```
/// let secret = actionkit_core::signature::stripe::generate_secret()?;
/// assert!(secret.starts_with("whsec_") && secret.len() == 70);
/// # Ok::<(), actionkit_core::signature::SignatureError>(())
/// ```
pub fn generate_secret() -> Result<String, SignatureError> {
    Ok(format!("whsec_{}", hex::encode(random_bytes::<32>()?)))
}

/// HMAC-SHA256 of `"<t>.<body>"`.
fn tag(mac: &HmacSha256, t: &str, body: &[u8]) -> [u8; 32] {
    let mut mac = mac.clone();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// A parsed `Stripe-Signature` value.
struct Parsed<'a> {
    /// `t` as sent, which is what was signed.
    t: &'a str,
    timestamp: u64,
    /// The whole header, whose `v1` entries [`Parsed::v1`] decodes on the fly (no allocation).
    header: &'a str,
}

/// One `v1=` entry.
enum V1 {
    /// A SHA-256 HMAC, as Stripe sends.
    Sha256([u8; 32]),
    /// Hex, but not 32 bytes: counted as a signature, never a match.
    OtherLength,
    /// Not hex.
    NotHex,
}

impl V1 {
    fn decode(value: &str) -> V1 {
        let mut bytes = [0; 32];
        match hex::decode_to_slice(value, &mut bytes) {
            Ok(()) => V1::Sha256(bytes),
            Err(hex::FromHexError::InvalidStringLength | hex::FromHexError::OddLength)
                if value.bytes().all(|b| b.is_ascii_hexdigit())
                    && value.len().is_multiple_of(2) =>
            {
                V1::OtherLength
            }
            Err(_) => V1::NotHex,
        }
    }
}

impl<'a> Parsed<'a> {
    fn entries(header: &'a str) -> impl Iterator<Item = &'a str> {
        header.split(',').map(str::trim).filter(|e| !e.is_empty())
    }

    /// The `v1` signatures, decoded.
    fn v1(&self) -> impl Iterator<Item = V1> + 'a {
        Self::entries(self.header).filter_map(|entry| match entry.split_once('=') {
            Some((key, value)) if key.trim() == "v1" => Some(V1::decode(value.trim())),
            _ => None,
        })
    }
}

fn parse_header(header: &str) -> Result<Parsed<'_>, SignatureError> {
    let malformed = |problem| SignatureError::MalformedHeader {
        header: HEADER,
        problem,
    };
    if header.trim().is_empty() {
        return Err(SignatureError::MissingHeader { header: HEADER });
    }
    let mut t = None;
    let mut signatures = 0;
    let mut undecodable = false;
    for entry in Parsed::entries(header) {
        let (key, value) = entry.split_once('=').ok_or_else(|| {
            malformed("an entry is not `<scheme>=<value>`; expected `t=<unix>,v1=<hex>`")
        })?;
        match key.trim() {
            "t" if t.is_some() => return Err(malformed("`t=` appears more than once")),
            "t" => t = Some(value.trim()),
            "v1" => match V1::decode(value.trim()) {
                V1::Sha256(_) | V1::OtherLength => signatures += 1,
                V1::NotHex => undecodable = true,
            },
            _ => {} // `v0` and any future scheme
        }
    }
    let t = t.ok_or(SignatureError::MissingTimestamp { header: HEADER })?;
    let timestamp =
        parse_unix_seconds(t).ok_or(SignatureError::InvalidTimestamp { header: HEADER })?;
    if signatures == 0 {
        return Err(if undecodable {
            malformed("a `v1=` signature is not hex")
        } else {
            SignatureError::MissingSignature {
                header: HEADER,
                versions: "`v1=`",
            }
        });
    }
    Ok(Parsed {
        t,
        timestamp,
        header,
    })
}
