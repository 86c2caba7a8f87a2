//! SigV4 signing of S3 requests and presigned URLs, through the `aws-sigv4`
//! crate (never hand-rolled).

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use http::{HeaderName, HeaderValue, Method};
use plugbay_core::{Error, ExposeSecret, Result};
use url::Url;

use super::config::PayloadSigning;
use super::credentials::S3Credentials;
use super::request::{QUERY_VALUE, S3Request};

/// Signs requests for one region with one payload policy.
#[derive(Debug, Clone)]
pub(crate) struct Signer {
    region: String,
    payload: PayloadSigning,
}

fn signing_error(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::internal("could not sign the S3 request").with_source(e)
}

impl Signer {
    pub(crate) fn new(region: impl Into<String>, payload: PayloadSigning) -> Signer {
        Signer {
            region: region.into(),
            payload,
        }
    }

    fn settings() -> SigningSettings {
        let mut settings = SigningSettings::default();
        // S3 takes the path as sent: no double encoding, no `..` folding.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        // S3 requires x-amz-content-sha256 on every header-signed request.
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings
    }

    /// The headers (`authorization`, `x-amz-date`, `x-amz-content-sha256`,
    /// `x-amz-security-token`) that sign `request` at `time`.
    pub(crate) fn sign_headers(
        &self,
        credentials: &S3Credentials,
        request: &S3Request,
        time: SystemTime,
    ) -> Result<Vec<(HeaderName, HeaderValue)>> {
        let identity = identity(credentials).into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(time)
            .settings(Self::settings())
            .build()
            .map_err(signing_error)?
            .into();
        let headers: Vec<(&str, &str)> = request
            .headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str(), std::str::from_utf8(value.as_bytes()).ok()?))
            })
            .collect();
        // An empty body costs nothing to hash, and some S3-compatibles are
        // stricter about UNSIGNED-PAYLOAD on body-less requests.
        // Hashed here, chunk by chunk, only when payloads are signed.
        let body = match request.body.as_single() {
            Some(bytes) if self.payload == PayloadSigning::Signed || bytes.is_empty() => {
                SignableBody::Bytes(bytes)
            }
            None if self.payload == PayloadSigning::Signed => {
                SignableBody::Precomputed(request.body.sha256_hex())
            }
            _ => SignableBody::UnsignedPayload,
        };
        let signable = SignableRequest::new(
            request.method.as_str(),
            request.url.as_str(),
            headers.into_iter(),
            body,
        )
        .map_err(signing_error)?;
        let (instructions, _signature) =
            sign(signable, &params).map_err(signing_error)?.into_parts();
        let (headers, _params) = instructions.into_parts();
        headers
            .into_iter()
            .map(|header| {
                let name =
                    HeaderName::from_bytes(header.name().as_bytes()).map_err(signing_error)?;
                let mut value = HeaderValue::from_str(header.value()).map_err(signing_error)?;
                value.set_sensitive(header.sensitive() || name == http::header::AUTHORIZATION);
                Ok((name, value))
            })
            .collect()
    }

    /// `url` with the query-string signature for `method`, valid for
    /// `expires` from `time`. The payload is `UNSIGNED-PAYLOAD`.
    pub(crate) fn presign(
        &self,
        credentials: &S3Credentials,
        method: &Method,
        url: &Url,
        expires: Duration,
        time: SystemTime,
    ) -> Result<Url> {
        let identity = identity(credentials).into();
        let mut settings = Self::settings();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires);
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(time)
            .settings(settings)
            .build()
            .map_err(signing_error)?
            .into();
        let signable = SignableRequest::new(
            method.as_str(),
            url.as_str(),
            std::iter::empty(),
            SignableBody::UnsignedPayload,
        )
        .map_err(signing_error)?;
        let (instructions, _signature) =
            sign(signable, &params).map_err(signing_error)?.into_parts();
        let (_headers, params) = instructions.into_parts();
        let mut query = url.query().unwrap_or_default().to_owned();
        for (name, value) in params {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(name);
            query.push('=');
            query.extend(percent_encoding::utf8_percent_encode(&value, QUERY_VALUE));
        }
        let mut signed = url.clone();
        signed.set_query(Some(&query));
        Ok(signed)
    }
}

fn identity(credentials: &S3Credentials) -> Credentials {
    Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key().expose_secret(),
        credentials
            .session_token()
            .map(|t| t.expose_secret().to_owned()),
        credentials.expires_at(),
        "plugbay",
    )
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    // The worked examples of the S3 SigV4 documentation ("Signature
    // calculations for the Authorization header" and "Authenticating
    // requests: using query parameters"), 2013-05-24T00:00:00Z.
    const EXAMPLE_TIME: u64 = 1_369_353_600;

    fn example_credentials() -> S3Credentials {
        S3Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
    }

    #[test]
    fn header_signature_matches_the_documented_example() {
        let url = Url::parse("https://examplebucket.s3.amazonaws.com/test.txt").unwrap();
        let mut request = S3Request::new(Method::GET, url);
        request.header_str("range", "bytes=0-9").unwrap();
        let signer = Signer::new("us-east-1", PayloadSigning::Signed);
        let time = UNIX_EPOCH + Duration::from_secs(EXAMPLE_TIME);
        let headers = signer
            .sign_headers(&example_credentials(), &request, time)
            .unwrap();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.to_str().unwrap().to_owned())
                .unwrap()
        };
        assert_eq!(
            get("authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert_eq!(get("x-amz-date"), "20130524T000000Z");
        assert_eq!(
            get("x-amz-content-sha256"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let auth = headers.iter().find(|(n, _)| n == "authorization").unwrap();
        assert!(auth.1.is_sensitive());
    }

    #[test]
    fn presigned_url_matches_the_documented_example() {
        let url = Url::parse("https://examplebucket.s3.amazonaws.com/test.txt").unwrap();
        let signer = Signer::new("us-east-1", PayloadSigning::Unsigned);
        let time = UNIX_EPOCH + Duration::from_secs(EXAMPLE_TIME);
        let signed = signer
            .presign(
                &example_credentials(),
                &Method::GET,
                &url,
                Duration::from_secs(86_400),
                time,
            )
            .unwrap();
        let pairs: std::collections::BTreeMap<String, String> = signed
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(pairs["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(
            pairs["X-Amz-Credential"],
            "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"
        );
        assert_eq!(pairs["X-Amz-Expires"], "86400");
        assert_eq!(pairs["X-Amz-SignedHeaders"], "host");
        assert_eq!(
            pairs["X-Amz-Signature"],
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
        assert!(
            signed
                .as_str()
                .contains("X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524")
        );
    }

    #[test]
    fn unsigned_payload_and_session_tokens() {
        let url = Url::parse("http://127.0.0.1:9000/bucket/key").unwrap();
        let mut request = S3Request::new(Method::PUT, url);
        request.body = bytes::Bytes::from_static(b"data").into();
        let creds = example_credentials().with_session_token("SESSION-TOKEN");
        let now = SystemTime::now();
        let unsigned = Signer::new("us-east-1", PayloadSigning::Unsigned)
            .sign_headers(&creds, &request, now)
            .unwrap();
        let value = |headers: &[(HeaderName, HeaderValue)], name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.to_str().unwrap().to_owned())
        };
        assert_eq!(
            value(&unsigned, "x-amz-content-sha256").as_deref(),
            Some("UNSIGNED-PAYLOAD")
        );
        assert_eq!(
            value(&unsigned, "x-amz-security-token").as_deref(),
            Some("SESSION-TOKEN")
        );
        let signed = Signer::new("us-east-1", PayloadSigning::Signed)
            .sign_headers(&creds, &request, now)
            .unwrap();
        assert_eq!(
            value(&signed, "x-amz-content-sha256").as_deref(),
            Some("3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7")
        );
    }
}
