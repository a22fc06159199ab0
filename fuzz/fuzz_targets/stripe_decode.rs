//! Stripe request decoding: arbitrary bytes into the `execute` and `get_form_state` decoders
//! never panic, and every refusal is a `400 invalid_input`.

#![no_main]

use actionkit::platform::stripe::StripeContext;
use actionkit::platform::stripe::wire::{
    decode_execute, decode_execute_raw, decode_form_state, error_body,
};
use actionkit::runtime::{Failure, FailureKind};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn refused(failure: &Failure) {
    assert_eq!(failure.status, 400);
    assert_eq!(failure.kind, FailureKind::InvalidInput);
    assert!(error_body(failure)["error"]["message"].is_string());
}

fuzz_target!(|body: &[u8]| {
    // The one-pass reader the server tries first only accepts what `decode_execute` accepts,
    // with the same id, input and context.
    if let Some(raw) = decode_execute_raw(body) {
        let full = decode_execute(body).expect("the fast reader accepted it");
        assert_eq!(raw.id, full.id);
        let input: Value = serde_json::from_str(raw.custom_input.get()).expect("raw JSON");
        assert_eq!(input, full.custom_input);
        let context: Value = raw
            .context
            .map(|c| serde_json::from_str(c.get()).expect("raw JSON"))
            .unwrap_or(Value::Null);
        assert_eq!(context, full.context);
    }
    match decode_execute(body) {
        Ok(execute) => {
            assert!(!execute.id.is_empty());
            assert!(execute.custom_input.is_object());
            // An accepted body is a JSON object with the same `id`.
            let value: Value = serde_json::from_slice(body).expect("accepted body is JSON");
            assert_eq!(value["id"], Value::String(execute.id));
            // Whatever the context holds, reading it typed never panics, and a typed field is
            // the context's own string (under either spelling).
            let context = StripeContext::from_value(&execute.context);
            if let Some(account) = context.account() {
                let sent = [
                    &execute.context["stripe_context"],
                    &execute.context["stripeContext"],
                ];
                assert!(sent.iter().any(|v| v.as_str() == Some(account)));
            }
            let _ = (
                context.livemode(),
                context.kind(),
                context.invocation_id(),
                context.clock_time(),
            );
            assert_eq!(context.to_value(), execute.context);
        }
        Err(failure) => refused(&failure),
    }
    match decode_form_state(body) {
        Ok(request) => {
            // What decodes re-encodes to something that decodes the same.
            let again = serde_json::to_vec(&request).expect("form-state request serialises");
            assert_eq!(
                decode_form_state(&again).expect("round trip decodes"),
                request
            );
        }
        Err(failure) => refused(&failure),
    }
});
