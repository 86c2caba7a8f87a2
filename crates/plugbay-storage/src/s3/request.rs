//! An S3 request before signing, and the URLs of a bucket and its objects
//! (path-style or virtual-host, keys percent-encoded the way SigV4 wants).

use http::{HeaderName, HeaderValue, Method};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use plugbay_core::{Error, Result};
use url::Url;

use super::config::AddressingStyle;
use super::payload::Payload;

/// Characters left as they are in query values: RFC 3986 unreserved.
pub(crate) const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Characters left as they are in an object key path: unreserved and `/`.
pub(crate) const KEY_PATH: &AsciiSet = &QUERY_VALUE.remove(b'/');

/// A request to sign and send: method, URL, the headers to sign and send,
/// and the (possibly empty) body.
#[derive(Debug, Clone)]
pub(crate) struct S3Request {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Payload,
}

impl S3Request {
    pub(crate) fn new(method: Method, url: Url) -> S3Request {
        S3Request {
            method,
            url,
            headers: Vec::new(),
            body: Payload::default(),
        }
    }

    /// Add a header; a name or value HTTP cannot carry is `InvalidInput`.
    pub(crate) fn header_str(&mut self, name: &str, value: &str) -> Result<()> {
        let header_name =
            HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|e| {
                Error::invalid_input("invalid HTTP header name")
                    .with_context("header", name.to_owned())
                    .with_source(e)
            })?;
        let header_value = HeaderValue::from_str(value).map_err(|e| {
            Error::invalid_input("value cannot be sent in an HTTP header")
                .with_context("header", name.to_owned())
                .with_source(e)
        })?;
        self.headers.push((header_name, header_value));
        Ok(())
    }

    pub(crate) fn with_body(mut self, body: impl Into<Payload>) -> S3Request {
        self.body = body.into();
        self
    }
}

/// Where a bucket lives and how its URLs are spelled.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// `scheme://bucket-host[:port][/base-path]` without a trailing slash,
    /// with the bucket already folded in for virtual-host style.
    root: String,
}

impl Endpoint {
    /// `base` is the service endpoint (`https://s3.eu-west-1.amazonaws.com`,
    /// `http://127.0.0.1:9000`).
    pub(crate) fn new(base: &str, bucket: &str, style: AddressingStyle) -> Result<Endpoint> {
        let parsed = Url::parse(base).map_err(|e| {
            Error::config(format!("invalid S3 endpoint URL: {e}"))
                .with_context("endpoint", base.to_owned())
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(
                Error::config("an S3 endpoint must be an http(s) URL with a host")
                    .with_context("endpoint", base.to_owned()),
            );
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(
                Error::config("an S3 endpoint must not have a query or fragment")
                    .with_context("endpoint", base.to_owned()),
            );
        }
        let path = parsed.path().trim_end_matches('/');
        let bucket_path = utf8_percent_encode(bucket, QUERY_VALUE).to_string();
        let host = parsed.host_str().unwrap_or_default();
        let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
        let root = match style {
            AddressingStyle::Path => {
                format!("{}://{host}{port}{path}/{bucket_path}", parsed.scheme())
            }
            AddressingStyle::VirtualHost => {
                format!("{}://{bucket}.{host}{port}{path}", parsed.scheme())
            }
        };
        Ok(Endpoint { root })
    }

    /// The bucket URL (for listings and bucket sub-resources).
    pub(crate) fn bucket_url(&self, query: &[(&str, &str)]) -> Result<Url> {
        parse(format!("{}/{}", self.root, query_string(query)))
    }

    /// The URL of the object `key`.
    pub(crate) fn object_url(&self, key: &str, query: &[(&str, &str)]) -> Result<Url> {
        let path = utf8_percent_encode(key, KEY_PATH);
        parse(format!("{}/{path}{}", self.root, query_string(query)))
    }
}

fn parse(url: String) -> Result<Url> {
    Url::parse(&url).map_err(|e| Error::invalid_input(format!("could not build the S3 URL: {e}")))
}

/// `?a=1&b` with names and values encoded as SigV4 canonicalizes them; an
/// empty value is written as a bare name (`?uploads`).
fn query_string(query: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in query.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.extend(utf8_percent_encode(name, QUERY_VALUE));
        if !value.is_empty() {
            out.push('=');
            out.extend(utf8_percent_encode(value, QUERY_VALUE));
        }
    }
    out
}

/// The `x-amz-copy-source` value for `key` in `bucket`.
pub(crate) fn copy_source(bucket: &str, key: &str) -> String {
    format!("/{bucket}/{}", utf8_percent_encode(key, KEY_PATH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_virtual_host_urls() {
        let path =
            Endpoint::new("http://127.0.0.1:9000/", "bucket", AddressingStyle::Path).unwrap();
        assert_eq!(
            path.object_url("a b/ü+x=%.txt", &[]).unwrap().as_str(),
            "http://127.0.0.1:9000/bucket/a%20b/%C3%BC%2Bx%3D%25.txt"
        );
        assert_eq!(
            path.bucket_url(&[("list-type", "2"), ("prefix", "a b/")])
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9000/bucket/?list-type=2&prefix=a%20b%2F"
        );
        assert_eq!(
            path.object_url("k", &[("uploads", "")]).unwrap().as_str(),
            "http://127.0.0.1:9000/bucket/k?uploads"
        );
        let vhost = Endpoint::new(
            "https://s3.eu-west-1.amazonaws.com",
            "bucket",
            AddressingStyle::VirtualHost,
        )
        .unwrap();
        assert_eq!(
            vhost.object_url("dir/it's", &[]).unwrap().as_str(),
            "https://bucket.s3.eu-west-1.amazonaws.com/dir/it%27s"
        );
        let prefixed =
            Endpoint::new("https://proxy.example/s3", "b", AddressingStyle::Path).unwrap();
        assert_eq!(
            prefixed.object_url("k", &[]).unwrap().as_str(),
            "https://proxy.example/s3/b/k"
        );
        for bad in ["ftp://x", "not a url", "http://h/?q=1"] {
            let err = Endpoint::new(bad, "b", AddressingStyle::Path).unwrap_err();
            assert_eq!(err.kind(), plugbay_core::ErrorKind::Config, "{bad}");
        }
    }

    #[test]
    fn copy_source_and_headers() {
        assert_eq!(copy_source("b", "dir/a b+c"), "/b/dir/a%20b%2Bc");
        let url = Url::parse("http://h/b/k").unwrap();
        let mut request = S3Request::new(Method::PUT, url);
        request.header_str("X-Amz-Meta-Owner", "me").unwrap();
        assert_eq!(request.headers[0].0, "x-amz-meta-owner");
        let err = request
            .header_str("x-amz-meta-bad", "line\nbreak")
            .unwrap_err();
        assert_eq!(err.kind(), plugbay_core::ErrorKind::InvalidInput);
    }
}
