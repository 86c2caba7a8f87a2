//! V4 signed URLs (`GOOG4-RSA-SHA256`), signed locally with the service
//! account's RSA key: canonical request → string to sign → RSA-SHA256 →
//! hex `X-Goog-Signature`. Without a key there is nothing to sign with
//! (tokens cannot sign), so presigning is `Unsupported`.

use std::time::{Duration, SystemTime};

use plugbay_core::{Error, Result};
use sha2::{Digest, Sha256};
use url::Url;

use super::auth::TokenSource;
use super::client::enc;
use super::time::compact_stamps;
use crate::key::Key;
use crate::types::PresignMethod;

/// The longest validity GCS accepts: 7 days.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);
/// Host signed URLs point at.
const SIGNING_HOST: &str = "storage.googleapis.com";

/// Build the signed URL for `method` on `bucket/key`, valid `expires` from `now`.
pub(crate) fn signed_url(
    source: &TokenSource,
    client_email: &str,
    bucket: &str,
    key: &Key,
    method: PresignMethod,
    expires: Duration,
    now: SystemTime,
) -> Result<Url> {
    if expires > MAX_PRESIGN_EXPIRY || expires.is_zero() {
        return Err(
            Error::invalid_input("GCS signed URLs last between 1 second and 7 days")
                .with_context("expires_secs", expires.as_secs().to_string()),
        );
    }
    let verb = match method {
        PresignMethod::Get => "GET",
        PresignMethod::Put => "PUT",
    };
    let (date, stamp) = compact_stamps(now);
    let scope = format!("{date}/auto/storage/goog4_request");
    let path = format!(
        "/{}/{}",
        enc(bucket),
        key.as_str()
            .split('/')
            .map(enc)
            .collect::<Vec<_>>()
            .join("/")
    );
    // Already in sorted order, as the canonical form requires.
    let query = [
        ("X-Goog-Algorithm", "GOOG4-RSA-SHA256".to_owned()),
        ("X-Goog-Credential", format!("{client_email}/{scope}")),
        ("X-Goog-Date", stamp.clone()),
        ("X-Goog-Expires", expires.as_secs().to_string()),
        ("X-Goog-SignedHeaders", "host".to_owned()),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", enc(v)))
    .collect::<Vec<_>>()
    .join("&");
    let canonical =
        format!("{verb}\n{path}\n{query}\nhost:{SIGNING_HOST}\n\nhost\nUNSIGNED-PAYLOAD");
    let to_sign = format!(
        "GOOG4-RSA-SHA256\n{stamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let signature = hex::encode(source.sign(to_sign.as_bytes())?);
    let url = format!("https://{SIGNING_HOST}{path}?{query}&X-Goog-Signature={signature}");
    Url::parse(&url).map_err(|e| Error::internal(format!("signed URL did not parse: {e}")))
}
