//! Key material every scheme shares: HMAC set-up, random bytes and redaction.

use std::fmt;

use hmac::{Hmac, KeyInit as _};
use sha2::Sha256;

use super::SignatureError;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// Holds key material; its `Debug` output is `Secret(***)`, whatever it holds.
#[derive(Clone)]
pub(crate) struct Secret<T>(pub(crate) T);

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An HMAC-SHA256 instance keyed once, cloned for every message.
pub(crate) fn hmac_key(key: &[u8]) -> Secret<HmacSha256> {
    // HMAC accepts keys of any length (long ones are hashed), so this cannot fail.
    Secret(HmacSha256::new_from_slice(key).expect("HMAC-SHA256 accepts keys of any length"))
}

/// Fills `N` bytes from the operating system.
///
/// `getrandom` rather than `rand`: one call to the OS generator is all that is needed, and
/// `rand` would pull in `rand_core`, `rand_chacha` and `getrandom` itself on top.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], SignatureError> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).map_err(|_| SignatureError::Random)?;
    Ok(bytes)
}
