//! Standard Webhooks verification and key parsing: arbitrary header values, bodies and key
//! strings never panic, and signatures made by `WebhookSigningKey::sign` (HMAC `v1` and Ed25519
//! `v1a`) always verify.

#![no_main]

use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actionkit::signature::SignatureError;
use actionkit::signature::standard_webhooks::{
    SignatureVersion, StandardWebhooksVerifier, WebhookKey, WebhookSigningKey,
};
use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    id: &'a str,
    timestamp: &'a str,
    signature: &'a str,
    body: &'a [u8],
    /// Parsed with `WebhookKey::parse`, and trusted too when it parses.
    key: Key<'a>,
    hmac_secret: Vec<u8>,
    /// The round trip signs with Ed25519 too when this is a multiple of 8 (slow: only some runs
    /// do).
    sign_ed25519: u8,
    /// The verifier's clock, in unix seconds.
    now: u64,
    tolerance: u16,
    /// What the round trip signs.
    signed_at: u64,
}

/// Key text: fully arbitrary, or arbitrary bytes in one of the recognised shapes so that the
/// decoders behind the prefixes are reached.
#[derive(Arbitrary, Debug)]
enum Key<'a> {
    Text(&'a str),
    Whsec(&'a [u8]),
    Whpk(&'a [u8]),
    Pem(&'a [u8]),
    PemEscaped(&'a [u8]),
    Prefixed(Prefix, &'a str),
}

#[derive(Arbitrary, Debug)]
enum Prefix {
    Whsec,
    Whpk,
    Whsk,
    Pem,
}

impl Key<'_> {
    fn text(&self) -> String {
        match self {
            Key::Text(text) => (*text).to_owned(),
            Key::Whsec(bytes) => format!("whsec_{}", STANDARD.encode(bytes)),
            Key::Whpk(bytes) => format!("whpk_{}", STANDARD.encode(bytes)),
            Key::Pem(bytes) => format!(
                "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
                STANDARD.encode(bytes)
            ),
            Key::PemEscaped(bytes) => format!(
                "-----BEGIN PUBLIC KEY-----\\n{}\\n-----END PUBLIC KEY-----\\n",
                STANDARD.encode(bytes)
            ),
            Key::Prefixed(prefix, rest) => {
                let prefix = match prefix {
                    Prefix::Whsec => "whsec_",
                    Prefix::Whpk => "whpk_",
                    Prefix::Whsk => "whsk_",
                    Prefix::Pem => "-----BEGIN PUBLIC KEY-----\n",
                };
                format!("{prefix}{rest}")
            }
        }
    }
}

/// One Ed25519 key for every run: deriving a key per run would spend the time on curve
/// arithmetic rather than on the code under test.
static ED25519: LazyLock<WebhookSigningKey> =
    LazyLock::new(|| WebhookSigningKey::ed25519_from_seed(*b"actionkit-fuzz-ed25519-seed-0001"));

fn at(secs: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Whether `value` can be sent as an HTTP header value unchanged: visible ASCII and inner
/// spaces or tabs only, nothing to trim at either end.
fn is_header_value(value: &str) -> bool {
    !value.is_empty()
        && value.trim() == value
        && value
            .bytes()
            .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
}

fuzz_target!(|input: Input<'_>| {
    let parsed = WebhookKey::parse(&input.key.text());
    if let Err(err) = &parsed {
        assert!(matches!(err, SignatureError::InvalidKey { .. }));
    }

    let mut signers = vec![ED25519.clone()];
    let hmac_secret = format!("whsec_{}", STANDARD.encode(&input.hmac_secret));
    match WebhookSigningKey::hmac_secret(&hmac_secret) {
        Ok(signer) => signers.push(signer),
        Err(_) => assert!(input.hmac_secret.is_empty()),
    }
    let mut keys: Vec<WebhookKey> = signers
        .iter()
        .map(WebhookSigningKey::verifying_key)
        .collect();
    keys.extend(parsed);
    let verifier = StandardWebhooksVerifier::new(keys)
        .expect("keys are configured")
        .tolerance(Duration::from_secs(input.tolerance.into()));
    let Some(now) = at(input.now) else { return };

    // Arbitrary headers: any answer but a panic; an accepted timestamp is within tolerance.
    if let Ok(verified) =
        verifier.verify(input.id, input.timestamp, input.signature, input.body, now)
    {
        assert!(verified.timestamp.abs_diff(input.now) <= u64::from(input.tolerance));
    }

    // Round trip: what a signer signs verifies, alone or among other entries.
    let Some(signed_at) = at(input.signed_at) else {
        return;
    };
    if !is_header_value(input.id) {
        return;
    }
    let timestamp = input.signed_at.to_string();
    let first = usize::from(!input.sign_ed25519.is_multiple_of(8) && signers.len() > 1);
    let signatures: Vec<(usize, String)> = signers
        .iter()
        .enumerate()
        .skip(first)
        .map(|(index, signer)| (index, signer.sign(input.id, input.signed_at, input.body)))
        .collect();
    for (index, signature) in &signatures {
        let index = *index;
        let verified = verifier
            .verify(input.id, &timestamp, signature, input.body, signed_at)
            .unwrap_or_else(|err| panic!("signature {signature:?} refused: {err}"));
        assert_eq!(verified.timestamp, input.signed_at);
        assert_eq!(verified.key_index, index);
        let expected = if index == 0 {
            SignatureVersion::V1a
        } else {
            SignatureVersion::V1
        };
        assert_eq!(verified.version, expected);
    }
    let entries: Vec<&str> = signatures
        .iter()
        .map(|(_, signature)| signature.as_str())
        .collect();
    let all = format!("v2,ignored {}", entries.join("  "));
    let result = verifier.verify(input.id, &timestamp, &all, input.body, now);
    let within = input.signed_at.abs_diff(input.now) <= u64::from(input.tolerance);
    match result {
        Ok(verified) => {
            assert!(within);
            assert_eq!(verified.key_index, first);
        }
        Err(SignatureError::TimestampTooOld { .. } | SignatureError::TimestampInFuture { .. }) => {
            assert!(!within);
        }
        Err(err) => panic!("signatures {all:?} refused as of now: {err}"),
    }

    // A different body never verifies.
    let mut other = input.body.to_vec();
    other.push(b' ');
    assert!(matches!(
        verifier.verify(input.id, &timestamp, &all, &other, signed_at),
        Err(SignatureError::NoMatch { .. })
    ));
});
