//! Standard Webhooks key formats: HMAC secrets (`whsec_…`) and Ed25519 keys (`whpk_…`,
//! `whsk_…`, PEM), parsed once and never printed.

use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_PAD_INDIFFERENT};
use ed25519_dalek::pkcs8::DecodePublicKey as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use hmac::Mac as _;

use super::SignatureError;
use super::keys::{HmacSha256, Secret, hmac_key, random_bytes};
use super::standard_webhooks::{SignatureVersion, signed_content};

const fn invalid(problem: &'static str) -> SignatureError {
    SignatureError::InvalidKey { problem }
}

/// A key that verifies Standard Webhooks signatures: an HMAC secret (`v1`) or an Ed25519
/// public key (`v1a`).
///
/// Parse keys once at start-up with [`WebhookKey::parse`] (or [`str::parse`]). Its `Debug`
/// output never shows the key, and parsing errors say what is wrong without quoting it.
///
/// ```
/// use actionkit_core::signature::standard_webhooks::{SignatureVersion, WebhookKey};
///
/// let secret = WebhookKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// assert_eq!(secret.version(), SignatureVersion::V1);
/// assert_eq!(format!("{secret:?}"), "WebhookKey { kind: Hmac(Secret(***)) }");
///
/// let public: WebhookKey = "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=".parse()?;
/// assert_eq!(public.version(), SignatureVersion::V1a);
/// # Ok::<(), actionkit_core::signature::SignatureError>(())
/// ```
#[derive(Clone, Debug)]
pub struct WebhookKey {
    kind: KeyKind,
}

#[derive(Clone, Debug)]
enum KeyKind {
    Hmac(Secret<HmacSha256>),
    Ed25519(Secret<VerifyingKey>),
}

impl WebhookKey {
    /// Parses a key in one of the formats Standard Webhooks senders publish:
    ///
    /// - `whsec_<base64>`: an HMAC-SHA256 secret for `v1`; the key is the decoded bytes.
    /// - `whpk_<base64>`: a raw 32-byte Ed25519 public key for `v1a`.
    /// - a PEM block `-----BEGIN PUBLIC KEY-----` (SPKI) holding an Ed25519 public key for
    ///   `v1a`, as epilot serves it. Literal `\n` escapes (a PEM copied out of JSON into an
    ///   environment variable) are accepted too.
    ///
    /// Surrounding whitespace is ignored. A bare base64 string is rejected rather than guessed
    /// at: were a public key taken for an HMAC secret, anyone could forge `v1` signatures with
    /// it. Use [`WebhookKey::hmac_secret`] for a secret given without its `whsec_` prefix.
    ///
    /// ```
    /// use actionkit_core::signature::standard_webhooks::WebhookKey;
    ///
    /// let pem = "-----BEGIN PUBLIC KEY-----\n\
    ///            MCowBQYDK2VwAyEAZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=\n\
    ///            -----END PUBLIC KEY-----\n";
    /// assert!(WebhookKey::parse(pem).is_ok());
    /// let err = WebhookKey::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err();
    /// assert!(err.to_string().starts_with("invalid signing key: unrecognised key format"));
    /// ```
    pub fn parse(key: &str) -> Result<Self, SignatureError> {
        let key = key.trim();
        if key.is_empty() {
            Err(invalid("the key is empty"))
        } else if key.starts_with("whsec_") {
            Self::hmac_secret(key)
        } else if let Some(encoded) = key.strip_prefix("whpk_") {
            let bytes = STANDARD_PAD_INDIFFERENT.decode(encoded).map_err(|_| {
                invalid("the `whpk_` public key is not valid base64; copy it exactly as published")
            })?;
            let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
                invalid("the `whpk_` public key must decode to 32 bytes (a raw Ed25519 public key)")
            })?;
            let key = VerifyingKey::from_bytes(&bytes)
                .map_err(|_| invalid("the `whpk_` public key is not a valid Ed25519 point"))?;
            Self::ed25519(key)
        } else if key.starts_with("whsk_") {
            Err(invalid(
                "`whsk_` is an Ed25519 signing (private) key; configure the matching `whpk_` \
                 public key instead",
            ))
        } else if key.starts_with("-----BEGIN") {
            Self::parse_pem(key)
        } else {
            Err(invalid(
                "unrecognised key format; expected `whsec_<base64>` (HMAC secret, `v1`), \
                 `whpk_<base64>` or a `-----BEGIN PUBLIC KEY-----` PEM (Ed25519 public key, \
                 `v1a`); for a secret without its `whsec_` prefix use `WebhookKey::hmac_secret`",
            ))
        }
    }

    /// Parses an HMAC-SHA256 secret for `v1`, with or without its `whsec_` prefix: the key is
    /// the base64-decoded part after the prefix (padding optional, surrounding whitespace
    /// ignored).
    ///
    /// ```
    /// use actionkit_core::signature::standard_webhooks::WebhookKey;
    ///
    /// assert!(WebhookKey::hmac_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
    /// assert!(WebhookKey::hmac_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
    /// assert!(WebhookKey::hmac_secret("whsec_not base64!").is_err());
    /// ```
    pub fn hmac_secret(secret: &str) -> Result<Self, SignatureError> {
        Ok(Self {
            kind: KeyKind::Hmac(decode_hmac_secret(secret)?),
        })
    }

    fn parse_pem(pem: &str) -> Result<Self, SignatureError> {
        if pem.contains("PRIVATE KEY") {
            return Err(invalid(
                "the PEM holds a private key; configure the sender's public key \
                 (`-----BEGIN PUBLIC KEY-----`) instead",
            ));
        }
        let unescaped;
        let pem = if pem.contains("\\n") && !pem.contains('\n') {
            unescaped = pem.replace("\\n", "\n");
            &unescaped
        } else {
            pem
        };
        let key = VerifyingKey::from_public_key_pem(pem).map_err(|_| {
            invalid(
                "the PEM is not an Ed25519 public key in SPKI form (`-----BEGIN PUBLIC KEY-----`, \
                 algorithm ed25519)",
            )
        })?;
        Self::ed25519(key)
    }

    fn ed25519(key: VerifyingKey) -> Result<Self, SignatureError> {
        if key.is_weak() {
            return Err(invalid(
                "the Ed25519 public key is a weak (small-order) point that would accept forged \
                 signatures",
            ));
        }
        Ok(Self {
            kind: KeyKind::Ed25519(Secret(key)),
        })
    }

    /// The signature version this key checks: [`SignatureVersion::V1`] for an HMAC secret,
    /// [`SignatureVersion::V1a`] for an Ed25519 public key.
    ///
    /// ```
    /// use actionkit_core::signature::standard_webhooks::{SignatureVersion, WebhookKey};
    ///
    /// let key = WebhookKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// assert_eq!(key.version(), SignatureVersion::V1);
    /// # Ok::<(), actionkit_core::signature::SignatureError>(())
    /// ```
    #[must_use]
    pub fn version(&self) -> SignatureVersion {
        match self.kind {
            KeyKind::Hmac(_) => SignatureVersion::V1,
            KeyKind::Ed25519(_) => SignatureVersion::V1a,
        }
    }

    /// Whether `signature` (decoded bytes of a `version` entry) signs `content` under this key.
    /// HMAC tags are compared in constant time.
    pub(crate) fn matches(
        &self,
        version: SignatureVersion,
        signature: &[u8],
        content: &[u8],
    ) -> bool {
        match (&self.kind, version) {
            (KeyKind::Hmac(Secret(mac)), SignatureVersion::V1) => {
                let mut mac = mac.clone();
                mac.update(content);
                mac.verify_slice(signature).is_ok()
            }
            (KeyKind::Ed25519(Secret(key)), SignatureVersion::V1a) => {
                Signature::from_slice(signature)
                    .is_ok_and(|signature| key.verify_strict(content, &signature).is_ok())
            }
            _ => false,
        }
    }
}

impl FromStr for WebhookKey {
    type Err = SignatureError;

    /// Same as [`WebhookKey::parse`].
    fn from_str(key: &str) -> Result<Self, Self::Err> {
        Self::parse(key)
    }
}

fn decode_hmac_secret(secret: &str) -> Result<Secret<HmacSha256>, SignatureError> {
    let secret = secret.trim();
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    let bytes = STANDARD_PAD_INDIFFERENT.decode(encoded).map_err(|_| {
        invalid("the `whsec_` secret is not valid base64; copy it exactly as the sender shows it")
    })?;
    if bytes.is_empty() {
        return Err(invalid("the `whsec_` secret is empty"));
    }
    Ok(hmac_key(&bytes))
}

/// A key that signs Standard Webhooks requests, for tests, the simulator and tooling: an HMAC
/// secret (`v1`) or an Ed25519 signing key (`v1a`).
///
/// Its `Debug` output never shows the key.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use actionkit_core::signature::standard_webhooks::{StandardWebhooksVerifier, WebhookSigningKey};
///
/// let signer = WebhookSigningKey::ed25519_from_seed([1; 32]);
/// let signature = signer.sign("msg_1", 1_700_000_000, b"{}");
/// assert!(signature.starts_with("v1a,"));
///
/// let verifier = StandardWebhooksVerifier::new([signer.verifying_key()])?;
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// verifier.verify("msg_1", "1700000000", &signature, b"{}", now)?;
/// # Ok::<(), actionkit_core::signature::SignatureError>(())
/// ```
#[derive(Clone, Debug)]
pub struct WebhookSigningKey {
    kind: SigningKind,
}

#[derive(Clone, Debug)]
enum SigningKind {
    Hmac(Secret<HmacSha256>),
    Ed25519(Secret<SigningKey>),
}

impl WebhookSigningKey {
    /// An HMAC-SHA256 signer for `v1`, from a `whsec_<base64>` secret (prefix optional), as
    /// [`WebhookKey::hmac_secret`] reads it.
    ///
    /// ```
    /// use actionkit_core::signature::standard_webhooks::WebhookSigningKey;
    ///
    /// let signer = WebhookSigningKey::hmac_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// assert_eq!(
    ///     signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#),
    ///     "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    /// );
    /// # Ok::<(), actionkit_core::signature::SignatureError>(())
    /// ```
    pub fn hmac_secret(secret: &str) -> Result<Self, SignatureError> {
        Ok(Self {
            kind: SigningKind::Hmac(decode_hmac_secret(secret)?),
        })
    }

    /// An Ed25519 signer for `v1a`, from the 32-byte secret seed.
    ///
    /// ```
    /// use actionkit_core::signature::standard_webhooks::WebhookSigningKey;
    ///
    /// let signer = WebhookSigningKey::ed25519_from_seed(*b"TESTSIGNINGKEYDONOTUSETHISFORANY");
    /// assert!(signer.sign("msg_1", 1_700_000_000, b"{}").starts_with("v1a,"));
    /// ```
    #[must_use]
    pub fn ed25519_from_seed(seed: [u8; 32]) -> Self {
        Self {
            kind: SigningKind::Ed25519(Secret(SigningKey::from_bytes(&seed))),
        }
    }

    /// A fresh random Ed25519 signer for `v1a`, seeded from the operating system.
    ///
    /// ```
    /// use actionkit_core::signature::standard_webhooks::WebhookSigningKey;
    ///
    /// let signer = WebhookSigningKey::generate_ed25519()?;
    /// assert!(signer.sign("msg_1", 1_700_000_000, b"{}").starts_with("v1a,"));
    /// # Ok::<(), actionkit_core::signature::SignatureError>(())
    /// ```
    pub fn generate_ed25519() -> Result<Self, SignatureError> {
        Ok(Self::ed25519_from_seed(random_bytes()?))
    }

    /// The key that verifies this signer's signatures: the same HMAC secret, or the Ed25519
    /// public key.
    ///
    /// ```
    /// use actionkit_core::signature::standard_webhooks::{SignatureVersion, WebhookSigningKey};
    ///
    /// let signer = WebhookSigningKey::ed25519_from_seed([7; 32]);
    /// assert_eq!(signer.verifying_key().version(), SignatureVersion::V1a);
    /// ```
    #[must_use]
    pub fn verifying_key(&self) -> WebhookKey {
        let kind = match &self.kind {
            SigningKind::Hmac(mac) => KeyKind::Hmac(mac.clone()),
            SigningKind::Ed25519(Secret(key)) => KeyKind::Ed25519(Secret(key.verifying_key())),
        };
        WebhookKey { kind }
    }

    /// The Ed25519 public key as `whpk_<base64>`, the form [`WebhookKey::parse`] and
    /// `EPILOT_PUBLIC_KEY` accept; `None` for an HMAC secret (which must stay secret).
    ///
    /// ```
    /// use actionkit_core::signature::standard_webhooks::{WebhookKey, WebhookSigningKey};
    ///
    /// let signer = WebhookSigningKey::ed25519_from_seed([7; 32]);
    /// let public = signer.public_key().unwrap();
    /// assert!(public.starts_with("whpk_") && WebhookKey::parse(&public).is_ok());
    /// ```
    #[must_use]
    pub fn public_key(&self) -> Option<String> {
        match &self.kind {
            SigningKind::Hmac(_) => None,
            SigningKind::Ed25519(Secret(key)) => Some(format!(
                "whpk_{}",
                STANDARD.encode(key.verifying_key().to_bytes())
            )),
        }
    }

    /// Signs `"<id>.<timestamp>.<body>"` and returns one `webhook-signature` entry,
    /// `v1,<base64>` or `v1a,<base64>`. Send `timestamp` as the `webhook-timestamp` header.
    ///
    /// ```
    /// use actionkit_core::signature::standard_webhooks::WebhookSigningKey;
    ///
    /// let seed = *b"TESTSIGNINGKEYDONOTUSETHISFORANY";
    /// let signer = WebhookSigningKey::ed25519_from_seed(seed);
    /// assert_eq!(
    ///     signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#),
    ///     "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==",
    /// );
    /// ```
    #[must_use]
    pub fn sign(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        let content = signed_content(id, &timestamp.to_string(), body);
        match &self.kind {
            SigningKind::Hmac(Secret(mac)) => {
                let mut mac = mac.clone();
                mac.update(&content);
                format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
            }
            SigningKind::Ed25519(Secret(key)) => {
                format!("v1a,{}", STANDARD.encode(key.sign(&content).to_bytes()))
            }
        }
    }
}
