//! Published vectors (`core/tests/data/vectors.json`, a verbatim copy of the spec's) and the
//! behaviour around them: tolerance, rotation, unknown versions, header shapes, key formats,
//! redaction.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::Mac as _;
use serde_json::Value;

use super::SignatureError;
use super::keys::hmac_key;
use super::standard_webhooks::{
    ID_HEADER, SIGNATURE_HEADER, SignatureVersion, StandardWebhooksVerifier, TIMESTAMP_HEADER,
    VerifiedWebhook, WebhookKey, WebhookSigningKey,
};
use super::stripe::{self, HEADER, StripeVerifier, VerifiedStripe};

const VECTORS: &str = include_str!("../../tests/data/vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("vectors.json is valid JSON")
}

fn cases<'a>(vectors: &'a Value, group: &str, list: &str) -> &'a [Value] {
    let cases = vectors[group][list]
        .as_array()
        .unwrap_or_else(|| panic!("vectors.json has no `{group}.{list}` list"));
    assert!(!cases.is_empty(), "`{group}.{list}` is empty");
    cases
}

fn text<'a>(case: &'a Value, field: &str) -> &'a str {
    case[field]
        .as_str()
        .unwrap_or_else(|| panic!("vector field `{field}` is not a string: {case}"))
}

fn number(case: &Value, field: &str) -> u64 {
    case[field]
        .as_u64()
        .unwrap_or_else(|| panic!("vector field `{field}` is not a number: {case}"))
}

fn at(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}

fn no_match() -> impl Fn(&SignatureError) -> bool {
    |err| matches!(err, SignatureError::NoMatch { .. })
}

// ---- Stripe vectors ---------------------------------------------------------------------------

#[test]
fn stripe_valid_vectors_verify() {
    let vectors = vectors();
    for case in cases(&vectors, "stripe_signature", "valid") {
        let verifier = StripeVerifier::new([text(case, "secret")]).unwrap();
        let verified = verifier
            .verify(
                text(case, "header"),
                text(case, "payload").as_bytes(),
                at(number(case, "now")),
            )
            .unwrap_or_else(|err| panic!("{}: {err}", text(case, "source")));
        let t: u64 = text(case, "header")
            .split(',')
            .find_map(|entry| entry.strip_prefix("t="))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(verified.timestamp, t);
    }
}

#[test]
fn stripe_invalid_vectors_fail_with_the_reason_given() {
    let vectors = vectors();
    for case in cases(&vectors, "stripe_signature", "invalid") {
        let why = text(case, "why");
        let verifier = StripeVerifier::new([text(case, "secret")]).unwrap();
        let err = verifier
            .verify(
                text(case, "header"),
                text(case, "payload").as_bytes(),
                at(number(case, "now")),
            )
            .expect_err(why);
        let expected = match why {
            "timestamp 301 s older than now" => SignatureError::TimestampTooOld {
                age_secs: 301,
                tolerance_secs: 300,
            },
            "only a v0 signature" => SignatureError::MissingSignature {
                header: HEADER,
                versions: "`v1=`",
            },
            "payload changed by one byte" | "wrong secret" => SignatureError::NoMatch {
                signatures: 1,
                keys: 1,
            },
            "no timestamp" => SignatureError::MissingTimestamp { header: HEADER },
            other => panic!("new invalid Stripe vector `{other}`: add its expected error here"),
        };
        assert_eq!(err, expected, "{why}");
    }
}

#[test]
fn stripe_raw_hmac_vectors_match_the_keyed_mac() {
    let vectors = vectors();
    let raw = &vectors["stripe_signature"]["raw_hmac_sha256_hex"];
    let key = text(raw, "key");
    let cases = raw["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let (message, expected) = (case[0].as_str().unwrap(), case[1].as_str().unwrap());
        let mut mac = hmac_key(key.as_bytes()).0;
        mac.update(message.as_bytes());
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            expected,
            "{message:?}"
        );
    }
}

#[test]
fn stripe_sign_reproduces_the_single_secret_vectors() {
    let vectors = vectors();
    for case in cases(&vectors, "stripe_signature", "valid") {
        let header = stripe::sign(
            text(case, "secret"),
            number(case, "now"),
            text(case, "payload").as_bytes(),
        );
        let v1 = header.split_once(",v1=").unwrap().1;
        assert!(
            text(case, "header").contains(&format!("v1={v1}")),
            "{}: signed {header}",
            text(case, "source")
        );
    }
}

// ---- Standard Webhooks vectors ----------------------------------------------------------------

/// The vector "same, secret without prefix" gives the bare base64; `WebhookKey::parse`
/// refuses to guess what that is, `hmac_secret` says it.
fn v1_key(secret: &str) -> WebhookKey {
    if secret.starts_with("whsec_") {
        WebhookKey::parse(secret).unwrap()
    } else {
        assert!(WebhookKey::parse(secret).is_err());
        WebhookKey::hmac_secret(secret).unwrap()
    }
}

fn verify_case(
    verifier: &StandardWebhooksVerifier,
    case: &Value,
) -> Result<VerifiedWebhook, SignatureError> {
    let timestamp = number(case, "timestamp");
    verifier.verify(
        text(case, "id"),
        &timestamp.to_string(),
        text(case, "signature"),
        text(case, "payload").as_bytes(),
        at(timestamp),
    )
}

#[test]
fn standard_webhooks_v1_valid_vectors_verify_and_sign() {
    let vectors = vectors();
    for case in cases(&vectors, "standard_webhooks", "v1_valid") {
        let source = text(case, "source");
        let verifier = StandardWebhooksVerifier::new([v1_key(text(case, "secret"))]).unwrap();
        let verified = verify_case(&verifier, case).unwrap_or_else(|err| panic!("{source}: {err}"));
        assert_eq!(verified.version, SignatureVersion::V1, "{source}");
        assert_eq!(verified.timestamp, number(case, "timestamp"));

        let signer = WebhookSigningKey::hmac_secret(text(case, "secret")).unwrap();
        let signed = signer.sign(
            text(case, "id"),
            number(case, "timestamp"),
            text(case, "payload").as_bytes(),
        );
        // The valid entry is the last one in every vector.
        assert_eq!(
            Some(signed.as_str()),
            text(case, "signature").split(' ').next_back()
        );
    }
}

#[test]
fn standard_webhooks_v1_invalid_vectors_match_nothing() {
    let vectors = vectors();
    for case in cases(&vectors, "standard_webhooks", "v1_invalid") {
        let why = text(case, "why");
        let verifier = StandardWebhooksVerifier::new([v1_key(text(case, "secret"))]).unwrap();
        let err = verify_case(&verifier, case).expect_err(why);
        assert!(no_match()(&err), "{why}: {err:?}");
    }
}

#[test]
fn standard_webhooks_v1a_valid_vectors_verify_with_whpk_and_pem_and_sign() {
    let vectors = vectors();
    for case in cases(&vectors, "standard_webhooks", "v1a_valid") {
        let source = text(case, "source");
        for key in [text(case, "public_key"), text(case, "public_key_pem")] {
            let verifier =
                StandardWebhooksVerifier::new([WebhookKey::parse(key).unwrap()]).unwrap();
            let verified =
                verify_case(&verifier, case).unwrap_or_else(|err| panic!("{source}: {err}"));
            assert_eq!(verified.version, SignatureVersion::V1a, "{source}");
        }

        let seed: [u8; 32] = base64_decode(text(case, "seed_b64")).try_into().unwrap();
        let signer = WebhookSigningKey::ed25519_from_seed(seed);
        let signed = signer.sign(
            text(case, "id"),
            number(case, "timestamp"),
            text(case, "payload").as_bytes(),
        );
        assert_eq!(signed, text(case, "signature"), "{source}");
        // The seed's public key is the published one.
        let verifier = StandardWebhooksVerifier::new([signer.verifying_key()]).unwrap();
        verify_case(&verifier, case).unwrap();
    }
}

#[test]
fn standard_webhooks_v1a_invalid_vectors_fail_with_the_reason_given() {
    let vectors = vectors();
    for case in cases(&vectors, "standard_webhooks", "v1a_invalid") {
        let why = text(case, "why");
        let key = WebhookKey::parse(text(case, "public_key")).unwrap();
        let verifier = StandardWebhooksVerifier::new([key]).unwrap();
        let err = verify_case(&verifier, case).expect_err(why);
        match why {
            "signature from the other key" | "payload changed" => {
                assert!(no_match()(&err), "{why}: {err:?}");
            }
            "HMAC v1 signature where only v1a is trusted" => assert_eq!(
                err,
                SignatureError::MissingSignature {
                    header: SIGNATURE_HEADER,
                    versions: "`v1a`"
                }
            ),
            other => panic!("new invalid v1a vector `{other}`: add its expected error here"),
        }
    }
}

fn base64_decode(encoded: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap()
}

// ---- Tolerance --------------------------------------------------------------------------------

const T: u64 = 1_700_000_000;
const BODY: &[u8] = br#"{"id":"req_1","custom_input":{}}"#;

#[test]
fn stripe_tolerance_applies_in_both_directions() {
    let verifier = StripeVerifier::new(["whsec_a"]).unwrap();
    let header = stripe::sign("whsec_a", T, BODY);
    for now in [T - 300, T, T + 300] {
        assert!(
            verifier.verify(&header, BODY, at(now)).is_ok(),
            "now = t{:+}",
            now as i64 - T as i64
        );
    }
    assert_eq!(
        verifier.verify(&header, BODY, at(T + 301)).unwrap_err(),
        SignatureError::TimestampTooOld {
            age_secs: 301,
            tolerance_secs: 300
        }
    );
    assert_eq!(
        verifier.verify(&header, BODY, at(T - 301)).unwrap_err(),
        SignatureError::TimestampInFuture {
            ahead_secs: 301,
            tolerance_secs: 300
        }
    );
}

#[test]
fn stripe_tolerance_is_configurable() {
    let verifier = StripeVerifier::new(["whsec_a"])
        .unwrap()
        .tolerance(Duration::from_secs(10));
    let header = stripe::sign("whsec_a", T, BODY);
    assert!(verifier.verify(&header, BODY, at(T + 10)).is_ok());
    assert!(verifier.verify(&header, BODY, at(T - 10)).is_ok());
    assert_eq!(
        verifier.verify(&header, BODY, at(T + 11)).unwrap_err(),
        SignatureError::TimestampTooOld {
            age_secs: 11,
            tolerance_secs: 10
        }
    );
    assert!(matches!(
        verifier.verify(&header, BODY, at(T - 11)),
        Err(SignatureError::TimestampInFuture { ahead_secs: 11, .. })
    ));
    // Sub-second clock readings count in whole seconds.
    let just_inside = at(T + 10) + Duration::from_millis(999);
    assert!(verifier.verify(&header, BODY, just_inside).is_ok());
}

#[test]
fn standard_webhooks_tolerance_applies_in_both_directions_and_is_configurable() {
    let signer = WebhookSigningKey::ed25519_from_seed([9; 32]);
    let signature = signer.sign("msg_1", T, BODY);
    let default = StandardWebhooksVerifier::new([signer.verifying_key()]).unwrap();
    let strict = default.clone().tolerance(Duration::from_secs(5));
    let ts = T.to_string();
    let verify = |verifier: &StandardWebhooksVerifier, now| {
        verifier.verify("msg_1", &ts, &signature, BODY, at(now))
    };
    assert!(verify(&default, T - 300).is_ok());
    assert!(verify(&default, T + 300).is_ok());
    assert_eq!(
        verify(&default, T + 301).unwrap_err(),
        SignatureError::TimestampTooOld {
            age_secs: 301,
            tolerance_secs: 300
        }
    );
    assert_eq!(
        verify(&default, T - 301).unwrap_err(),
        SignatureError::TimestampInFuture {
            ahead_secs: 301,
            tolerance_secs: 300
        }
    );
    assert!(verify(&strict, T + 5).is_ok());
    assert!(matches!(
        verify(&strict, T + 6),
        Err(SignatureError::TimestampTooOld {
            age_secs: 6,
            tolerance_secs: 5
        })
    ));
    assert!(matches!(
        verify(&strict, T - 6),
        Err(SignatureError::TimestampInFuture {
            ahead_secs: 6,
            tolerance_secs: 5
        })
    ));
}

#[test]
fn a_bad_signature_is_reported_as_such_even_when_stale() {
    let verifier = StripeVerifier::new(["whsec_a"]).unwrap();
    let forged = stripe::sign("whsec_b", T, BODY);
    assert!(no_match()(
        &verifier.verify(&forged, BODY, at(T + 10_000)).unwrap_err()
    ));
}

// ---- Rotation ---------------------------------------------------------------------------------

#[test]
fn stripe_accepts_any_configured_secret_and_any_v1_entry() {
    let old = stripe::sign("whsec_old", T, BODY);
    let new = stripe::sign("whsec_new", T, BODY);
    let v1_of = |header: &str| header.split_once(",v1=").unwrap().1.to_owned();
    let both = format!("t={T},v1={},v1={}", v1_of(&old), v1_of(&new));

    let rotating = StripeVerifier::new(["whsec_new", "whsec_old"]).unwrap();
    let verify = |verifier: &StripeVerifier, header: &str| verifier.verify(header, BODY, at(T));
    assert_eq!(
        verify(&rotating, &old),
        Ok(VerifiedStripe {
            timestamp: T,
            secret_index: 1
        })
    );
    assert_eq!(verify(&rotating, &new).unwrap().secret_index, 0);
    assert_eq!(verify(&rotating, &both).unwrap().secret_index, 0);

    let only_new = StripeVerifier::new(vec![String::from("whsec_new")]).unwrap();
    assert_eq!(verify(&only_new, &both).unwrap().secret_index, 0);
    assert_eq!(
        verify(&only_new, &old).unwrap_err(),
        SignatureError::NoMatch {
            signatures: 1,
            keys: 1
        }
    );
    let unrelated = StripeVerifier::new(["whsec_x", "whsec_y"]).unwrap();
    assert_eq!(
        verify(&unrelated, &both).unwrap_err(),
        SignatureError::NoMatch {
            signatures: 2,
            keys: 2
        }
    );
}

#[test]
fn standard_webhooks_accepts_any_configured_key() {
    let hmac = WebhookSigningKey::hmac_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let ed_old = WebhookSigningKey::ed25519_from_seed([1; 32]);
    let ed_new = WebhookSigningKey::ed25519_from_seed([2; 32]);
    let verifier = StandardWebhooksVerifier::new([
        hmac.verifying_key(),
        ed_old.verifying_key(),
        ed_new.verifying_key(),
    ])
    .unwrap();
    let ts = T.to_string();
    for (signer, key_index, version) in [
        (&hmac, 0, SignatureVersion::V1),
        (&ed_old, 1, SignatureVersion::V1a),
        (&ed_new, 2, SignatureVersion::V1a),
    ] {
        let signature = signer.sign("msg_1", T, BODY);
        assert_eq!(
            verifier.verify("msg_1", &ts, &signature, BODY, at(T)),
            Ok(VerifiedWebhook {
                timestamp: T,
                version,
                key_index
            })
        );
    }

    // A sender mid-rotation sends both signatures; a receiver knowing either key accepts.
    let both = format!(
        "{} {}",
        ed_old.sign("msg_1", T, BODY),
        ed_new.sign("msg_1", T, BODY)
    );
    let only_new = StandardWebhooksVerifier::new([ed_new.verifying_key()]).unwrap();
    assert_eq!(
        only_new
            .verify("msg_1", &ts, &both, BODY, at(T))
            .unwrap()
            .key_index,
        0
    );
    let stranger = StandardWebhooksVerifier::new([
        WebhookSigningKey::ed25519_from_seed([3; 32]).verifying_key()
    ])
    .unwrap();
    assert_eq!(
        stranger
            .verify("msg_1", &ts, &both, BODY, at(T))
            .unwrap_err(),
        SignatureError::NoMatch {
            signatures: 2,
            keys: 1
        }
    );
}

// ---- Unknown versions, whitespace, ordering, malformed headers --------------------------------

#[test]
fn stripe_ignores_other_schemes_and_tolerates_whitespace_and_order() {
    let verifier = StripeVerifier::new(["whsec_a"]).unwrap();
    let signed = stripe::sign("whsec_a", T, BODY);
    let v1 = signed.split_once(",v1=").unwrap().1;
    for header in [
        format!("t={T},v0=not-hex,v1={v1},v9=whatever"),
        format!("v1={v1},t={T}"),
        format!(" t = {T} , v1 = {v1} "),
        format!("t={T},,v1={v1},"),
        format!("v0=00,t={T}\t,\tv1=00,v1={v1}"),
    ] {
        assert_eq!(
            verifier.verify(&header, BODY, at(T)).map(|v| v.timestamp),
            Ok(T),
            "{header}"
        );
    }
}

#[test]
fn stripe_rejects_malformed_headers_precisely() {
    let verifier = StripeVerifier::new(["whsec_a"]).unwrap();
    let signed = stripe::sign("whsec_a", T, BODY);
    let v1 = signed.split_once(",v1=").unwrap().1;
    let check = |header: &str| verifier.verify(header, BODY, at(T)).unwrap_err();
    let malformed = |problem| SignatureError::MalformedHeader {
        header: HEADER,
        problem,
    };

    assert_eq!(check(""), SignatureError::MissingHeader { header: HEADER });
    assert_eq!(
        check("  "),
        SignatureError::MissingHeader { header: HEADER }
    );
    assert_eq!(
        check(&format!("t={T},{v1}")),
        malformed("an entry is not `<scheme>=<value>`; expected `t=<unix>,v1=<hex>`")
    );
    assert_eq!(
        check(&format!("t={T},t={T},v1={v1}")),
        malformed("`t=` appears more than once")
    );
    assert_eq!(
        check(&format!("t={T},v1=xyz")),
        malformed("a `v1=` signature is not hex")
    );
    for t in [
        "",
        "abc",
        "-5",
        "+1700000000",
        "1.5",
        "99999999999999999999999",
    ] {
        assert_eq!(
            check(&format!("t={t},v1={v1}")),
            SignatureError::InvalidTimestamp { header: HEADER },
            "t={t}"
        );
    }
    assert_eq!(
        check(&format!("t={T}")),
        SignatureError::MissingSignature {
            header: HEADER,
            versions: "`v1=`"
        }
    );
    assert_eq!(
        check(&format!("v1={v1}")),
        SignatureError::MissingTimestamp { header: HEADER }
    );
    // One good `v1` is enough even next to an undecodable one.
    assert!(
        verifier
            .verify(&format!("t={T},v1=xyz,v1={v1}"), BODY, at(T))
            .is_ok()
    );
}

#[test]
fn standard_webhooks_ignores_unknown_versions_and_tolerates_whitespace_and_order() {
    let hmac = WebhookSigningKey::hmac_secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    let ed = WebhookSigningKey::ed25519_from_seed([5; 32]);
    let only_ed = StandardWebhooksVerifier::new([ed.verifying_key()]).unwrap();
    let good = ed.sign("msg_1", T, BODY);
    let ts = T.to_string();
    for signature in [
        format!("v2,bm90aGluZw== {good}"),
        format!("{good} v2,bm90aGluZw=="),
        format!("  v9,???   {good}\t"),
        // A `v1` entry is skipped (even when not base64) when no HMAC key is configured.
        format!("v1,*** {good}"),
        format!("{} {good}", hmac.sign("msg_1", T, BODY)),
    ] {
        assert!(
            only_ed
                .verify("msg_1", &ts, &signature, BODY, at(T))
                .is_ok(),
            "{signature}"
        );
    }
    assert!(
        only_ed
            .verify(" msg_1 ", &format!(" {ts} "), &good, BODY, at(T))
            .is_ok()
    );
    assert_eq!(
        only_ed
            .verify("msg_1", &ts, "v2,bm90aGluZw== v1b,AAAA", BODY, at(T))
            .unwrap_err(),
        SignatureError::MissingSignature {
            header: SIGNATURE_HEADER,
            versions: "`v1a`"
        }
    );
}

#[test]
fn standard_webhooks_rejects_malformed_headers_precisely() {
    let ed = WebhookSigningKey::ed25519_from_seed([5; 32]);
    let verifier = StandardWebhooksVerifier::new([ed.verifying_key()]).unwrap();
    let good = ed.sign("msg_1", T, BODY);
    let ts = T.to_string();
    let check = |id: &str, timestamp: &str, signature: &str| {
        verifier
            .verify(id, timestamp, signature, BODY, at(T))
            .unwrap_err()
    };

    assert_eq!(
        check("", &ts, &good),
        SignatureError::MissingHeader { header: ID_HEADER }
    );
    assert_eq!(
        check("msg_1", " ", &good),
        SignatureError::MissingHeader {
            header: TIMESTAMP_HEADER
        }
    );
    assert_eq!(
        check("msg_1", &ts, ""),
        SignatureError::MissingHeader {
            header: SIGNATURE_HEADER
        }
    );
    for timestamp in ["soon", "-1", "1700000000.5", "2023-11-14T22:13:20Z"] {
        assert_eq!(
            check("msg_1", timestamp, &good),
            SignatureError::InvalidTimestamp {
                header: TIMESTAMP_HEADER
            }
        );
    }
    assert!(matches!(
        check("msg_1", &ts, &format!("v1a {good}")),
        SignatureError::MalformedHeader {
            header: SIGNATURE_HEADER,
            ..
        }
    ));
    assert_eq!(
        check("msg_1", &ts, "v1a,not*base64"),
        SignatureError::MalformedHeader {
            header: SIGNATURE_HEADER,
            problem: "a signature is not valid base64"
        }
    );
    // The id and the timestamp are signed: changing either breaks the signature.
    assert!(no_match()(&check("msg_2", &ts, &good)));
    assert!(no_match()(&check("msg_1", &(T + 1).to_string(), &good)));
}

// ---- Round trips ------------------------------------------------------------------------------

#[test]
fn stripe_sign_then_verify_round_trips_with_a_generated_secret() {
    let secret = stripe::generate_secret().unwrap();
    let verifier = StripeVerifier::new([secret.as_str()]).unwrap();
    for body in [&b""[..], BODY, &[0xff, 0x00, 0xfe][..], "😀".as_bytes()] {
        let header = stripe::sign(&secret, T, body);
        assert_eq!(verifier.verify(&header, body, at(T)).unwrap().timestamp, T);
        let mut tampered = body.to_vec();
        tampered.push(b' ');
        assert!(no_match()(
            &verifier.verify(&header, &tampered, at(T)).unwrap_err()
        ));
    }
}

#[test]
fn generated_stripe_secrets_are_fresh_hex() {
    let a = stripe::generate_secret().unwrap();
    let b = stripe::generate_secret().unwrap();
    assert_ne!(a, b);
    let hex_part = a.strip_prefix("whsec_").unwrap();
    assert_eq!(hex::decode(hex_part).unwrap().len(), 32);
}

#[test]
fn standard_webhooks_sign_then_verify_round_trips() {
    let signers = [
        WebhookSigningKey::generate_ed25519().unwrap(),
        WebhookSigningKey::hmac_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
    ];
    for signer in &signers {
        let verifier = StandardWebhooksVerifier::new([signer.verifying_key()]).unwrap();
        let signature = signer.sign("msg_round_trip", T, BODY);
        let verified = verifier
            .verify("msg_round_trip", &T.to_string(), &signature, BODY, at(T))
            .unwrap();
        assert_eq!(verified.version, signer.verifying_key().version());
        assert!(no_match()(
            &verifier
                .verify("msg_round_trip", &T.to_string(), &signature, b"{}", at(T))
                .unwrap_err()
        ));
    }
    let a = WebhookSigningKey::generate_ed25519().unwrap();
    let b = WebhookSigningKey::generate_ed25519().unwrap();
    assert_ne!(a.sign("m", T, BODY), b.sign("m", T, BODY));
}

// ---- Key parsing ------------------------------------------------------------------------------

const WHPK: &str = "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=";
const PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=\n-----END PUBLIC KEY-----\n";
const SEED: [u8; 32] = *b"TESTSIGNINGKEYDONOTUSETHISFORANY";

fn accepts_seed_signature(key: &str) -> bool {
    let signature = WebhookSigningKey::ed25519_from_seed(SEED).sign("msg_1", T, BODY);
    let verifier = StandardWebhooksVerifier::new([WebhookKey::parse(key).unwrap()]).unwrap();
    verifier
        .verify("msg_1", &T.to_string(), &signature, BODY, at(T))
        .is_ok()
}

#[test]
fn pem_and_whpk_forms_of_one_key_are_the_same_key() {
    assert!(accepts_seed_signature(WHPK));
    assert!(accepts_seed_signature(PEM));
    assert!(accepts_seed_signature(&format!("  {PEM}\n\n")));
    assert!(accepts_seed_signature(&PEM.replace('\n', "\r\n")));
    assert!(accepts_seed_signature(&PEM.replace('\n', "\\n")));
    assert!(accepts_seed_signature(WHPK.trim_end_matches('=')));
    assert!(!accepts_seed_signature(
        "whpk_iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w="
    ));
    assert_eq!(
        WebhookKey::parse(PEM).unwrap().version(),
        SignatureVersion::V1a
    );
    assert_eq!(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
            .parse::<WebhookKey>()
            .unwrap()
            .version(),
        SignatureVersion::V1
    );
}

#[test]
fn bad_keys_are_rejected_with_the_reason_and_without_echoing_them() {
    let cases: &[(&str, &str)] = &[
        ("", "the key is empty"),
        ("   ", "the key is empty"),
        ("whsec_", "the `whsec_` secret is empty"),
        (
            "whsec_%%%%secretvalue",
            "the `whsec_` secret is not valid base64",
        ),
        (
            "whpk_%%%%secretvalue",
            "the `whpk_` public key is not valid base64",
        ),
        // 31 bytes
        (
            "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248cw==",
            "the `whpk_` public key must decode to 32 bytes",
        ),
        // The identity point: small order.
        (
            "whpk_AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "weak (small-order) point",
        ),
        (
            "whsk_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
            "`whsk_` is an Ed25519 signing (private) key",
        ),
        (
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFRFU1RTSUdOSU5HS0VZRE9OT1RVU0VUSElTRk9SQU5Z\n-----END PRIVATE KEY-----\n",
            "the PEM holds a private key",
        ),
        (
            // A P-256 public key.
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQMcto7cQx9LYpfEGK8L0o9FoKdPU\nmaqJY5E8l+OmHQUotVVZMdBejMybFxjKJhHqs1/aX9+mXzx/52okHtAKCQ==\n-----END PUBLIC KEY-----\n",
            "the PEM is not an Ed25519 public key in SPKI form",
        ),
        (
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "unrecognised key format",
        ),
    ];
    for &(key, expected) in cases {
        let err = WebhookKey::parse(key).expect_err(key);
        let SignatureError::InvalidKey { problem } = err else {
            panic!("{key:?}: expected InvalidKey, got {err:?}");
        };
        assert!(problem.contains(expected), "{key:?}: {problem}");
        let message = err.to_string();
        assert!(message.starts_with("invalid signing key: "), "{message}");
        for secret_part in [
            "secretvalue",
            "c2VjcmV0",
            "MfKQ9r8G",
            "ZlN4eg7d",
            "MC4CAQAw",
            "MFkwEwYH",
        ] {
            assert!(!message.contains(secret_part), "{message}");
            assert!(!format!("{err:?}").contains(secret_part));
        }
    }
    assert!(WebhookSigningKey::hmac_secret("whsec_%%%%").is_err());
}

#[test]
fn empty_configurations_are_start_up_errors() {
    assert_eq!(
        StripeVerifier::new(Vec::<&str>::new()).unwrap_err(),
        SignatureError::NoKeys
    );
    assert!(matches!(
        StripeVerifier::new(["whsec_a", " \n"]).unwrap_err(),
        SignatureError::InvalidKey { .. }
    ));
    assert_eq!(
        StandardWebhooksVerifier::new([]).unwrap_err(),
        SignatureError::NoKeys
    );
}

#[test]
fn stripe_secrets_ignore_surrounding_whitespace_only() {
    let header = stripe::sign("whsec_a", T, BODY);
    let padded = StripeVerifier::new(["whsec_a\n"]).unwrap();
    assert!(padded.verify(&header, BODY, at(T)).is_ok());
    let different = StripeVerifier::new(["whsec_A"]).unwrap();
    assert!(no_match()(
        &different.verify(&header, BODY, at(T)).unwrap_err()
    ));
}

// ---- Redaction and messages -------------------------------------------------------------------

#[test]
fn debug_output_never_shows_key_material() {
    let stripe = StripeVerifier::new(["whsec_supersecret"]).unwrap();
    let hmac_key = WebhookKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let ed_key = WebhookKey::parse(WHPK).unwrap();
    let hmac_signer =
        WebhookSigningKey::hmac_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let ed_signer = WebhookSigningKey::ed25519_from_seed(SEED);
    let verifier = StandardWebhooksVerifier::new([hmac_key.clone(), ed_key.clone()]).unwrap();

    assert_eq!(
        format!("{stripe:?}"),
        "StripeVerifier { secrets: [Secret(***)], tolerance: 300s }"
    );
    assert_eq!(
        format!("{hmac_key:?}"),
        "WebhookKey { kind: Hmac(Secret(***)) }"
    );
    assert_eq!(
        format!("{ed_key:?}"),
        "WebhookKey { kind: Ed25519(Secret(***)) }"
    );
    assert_eq!(
        format!("{ed_signer:?}"),
        "WebhookSigningKey { kind: Ed25519(Secret(***)) }"
    );
    assert_eq!(
        format!("{hmac_signer:?}"),
        "WebhookSigningKey { kind: Hmac(Secret(***)) }"
    );
    assert_eq!(
        format!("{verifier:?}"),
        "StandardWebhooksVerifier { keys: [WebhookKey { kind: Hmac(Secret(***)) }, \
         WebhookKey { kind: Ed25519(Secret(***)) }], tolerance: 300s }"
    );
    let all =
        format!("{stripe:#?}{hmac_key:#?}{ed_key:#?}{hmac_signer:#?}{ed_signer:#?}{verifier:#?}");
    for secret in [
        "supersecret",
        "MfKQ9r8G",
        "ZlN4eg7d",
        "TESTSIGNING",
        "102, 83",
    ] {
        assert!(!all.contains(secret), "{secret} in {all}");
    }
}

#[test]
fn messages_are_lower_case_without_a_trailing_period_and_name_the_problem() {
    let errors = [
        SignatureError::MissingHeader { header: ID_HEADER },
        SignatureError::MalformedHeader {
            header: HEADER,
            problem: "`t=` appears more than once",
        },
        SignatureError::MissingTimestamp { header: HEADER },
        SignatureError::InvalidTimestamp {
            header: TIMESTAMP_HEADER,
        },
        SignatureError::MissingSignature {
            header: HEADER,
            versions: "`v1=`",
        },
        SignatureError::NoMatch {
            signatures: 2,
            keys: 1,
        },
        SignatureError::TimestampTooOld {
            age_secs: 301,
            tolerance_secs: 300,
        },
        SignatureError::TimestampInFuture {
            ahead_secs: 400,
            tolerance_secs: 300,
        },
        SignatureError::NoKeys,
        SignatureError::InvalidKey {
            problem: "the key is empty",
        },
        SignatureError::Random,
    ];
    for err in &errors {
        let message = err.to_string();
        let first = message.chars().next().unwrap();
        assert!(!first.is_uppercase(), "{message}");
        assert!(!message.ends_with('.'), "{message}");
    }
    let text = |err: &SignatureError| err.to_string();
    assert!(text(&errors[2]).starts_with("missing `t=` timestamp in `Stripe-Signature`"));
    assert!(text(&errors[5]).starts_with("no signature matched any configured secret"));
    assert!(
        text(&errors[6]).starts_with("timestamp is 301 s in the past, beyond the 300 s tolerance")
    );
    assert!(
        text(&errors[7])
            .starts_with("timestamp is 400 s in the future, beyond the 300 s tolerance")
    );
    assert!(text(&errors[0]).starts_with("missing `webhook-id` header"));
    assert!(text(&errors[4]).starts_with("no `v1=` signature in `Stripe-Signature`"));
    let boxed: Box<dyn std::error::Error> = Box::new(SignatureError::NoKeys);
    assert!(
        boxed
            .to_string()
            .starts_with("no signing secret or key configured")
    );
}
