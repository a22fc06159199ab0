//! `Stripe-Signature` parsing and verification: arbitrary headers, bodies, secrets and clocks
//! never panic, and a header made by `stripe::sign` always verifies.

#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actionkit::signature::SignatureError;
use actionkit::signature::stripe::{self, StripeVerifier};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    header: &'a str,
    body: &'a [u8],
    secrets: Vec<&'a str>,
    /// The verifier's clock, in unix seconds.
    now: u64,
    tolerance: u16,
    /// What the round trip signs.
    timestamp: u64,
    /// Appended to the signed header as extra entries (`v0=…`, unknown schemes, blanks).
    extra: Vec<Extra<'a>>,
}

#[derive(Arbitrary, Debug)]
enum Extra<'a> {
    V0(&'a str),
    Unknown(&'a str),
    Blank,
    /// Another `v1` that does not match: any one match passes.
    WrongV1([u8; 32]),
}

fn at(secs: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

fuzz_target!(|input: Input<'_>| {
    let verifier = match StripeVerifier::new(input.secrets.iter().copied()) {
        Ok(verifier) => verifier.tolerance(Duration::from_secs(input.tolerance.into())),
        Err(SignatureError::NoKeys) => {
            assert!(input.secrets.is_empty());
            return;
        }
        Err(err) => {
            assert!(matches!(err, SignatureError::InvalidKey { .. }));
            assert!(input.secrets.iter().any(|s| s.trim().is_empty()));
            return;
        }
    };
    let Some(now) = at(input.now) else { return };

    // Arbitrary header: any answer but a panic, and an accepted timestamp is within tolerance.
    if let Ok(verified) = verifier.verify(input.header, input.body, now) {
        assert!(verified.timestamp.abs_diff(input.now) <= u64::from(input.tolerance));
        assert!(verified.secret_index < input.secrets.len());
    }

    // Round trip: a header signed with any configured secret verifies, extra entries or not.
    let Some(signed_at) = at(input.timestamp) else {
        return;
    };
    for (index, secret) in input.secrets.iter().enumerate() {
        let mut header = stripe::sign(secret, input.timestamp, input.body);
        for extra in &input.extra {
            match extra {
                Extra::V0(value) | Extra::Unknown(value)
                    if value.contains([',', '=']) || value.trim().is_empty() =>
                {
                    continue;
                }
                Extra::V0(value) => header.push_str(&format!(",v0={value}")),
                Extra::Unknown(value) => header.push_str(&format!(", v9 = {value}")),
                Extra::Blank => header.push_str(", "),
                Extra::WrongV1(tag) => {
                    header.push_str(",v1=");
                    header.push_str(&hex(tag));
                }
            }
        }
        let verified = verifier
            .verify(&header, input.body, signed_at)
            .unwrap_or_else(|err| panic!("signed header {header:?} refused: {err}"));
        assert_eq!(verified.timestamp, input.timestamp);
        // The first secret that matches wins: this one, or an earlier one that signs the same
        // (an equal secret, or one equal as an HMAC key: short keys are padded with zeros).
        assert!(verified.secret_index <= index);
        let matched = input.secrets[verified.secret_index];
        assert_eq!(
            stripe::sign(matched, input.timestamp, input.body),
            stripe::sign(secret, input.timestamp, input.body),
            "matched a different secret"
        );

        // The same header as of `now`: the tolerance alone decides.
        let result = verifier.verify(&header, input.body, now);
        let within = input.timestamp.abs_diff(input.now) <= u64::from(input.tolerance);
        match result {
            Ok(_) => assert!(within),
            Err(
                SignatureError::TimestampTooOld { .. } | SignatureError::TimestampInFuture { .. },
            ) => {
                assert!(!within);
            }
            Err(err) => panic!("signed header {header:?} refused as of now: {err}"),
        }
    }
});

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
