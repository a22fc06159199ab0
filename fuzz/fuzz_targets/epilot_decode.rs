//! epilot request decoding: arbitrary bytes into `platform::epilot::wire::decode` never panic,
//! and every refusal is a `400 invalid_input`.

#![no_main]

use actionkit::Secret;
use actionkit::platform::epilot::wire::{decode, error_body};
use actionkit::runtime::FailureKind;
use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "ey.token";

fuzz_target!(|body: &[u8]| {
    let token = body
        .first()
        .is_some_and(|b| b & 1 == 1)
        .then(|| Secret::new(TOKEN));
    let with_token = token.is_some();
    match decode(body, token) {
        Ok(decoded) => {
            assert_eq!(decoded.event.token.is_some(), with_token);
            if let Some((token, url)) = &decoded.callback {
                assert!(!token.expose().is_empty() && !url.is_empty());
            }
            // `Debug` never shows the token (unless the body itself holds that text).
            if !body.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()) {
                assert!(!format!("{decoded:?}").contains(TOKEN));
            }
        }
        Err(failure) => {
            assert_eq!(failure.status, 400);
            assert_eq!(failure.kind, FailureKind::InvalidInput);
            assert!(error_body(&failure)["error_output"]["error_reason"].is_string());
        }
    }
});
