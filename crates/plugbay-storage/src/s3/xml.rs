//! S3's XML documents (ListObjectsV2, multipart bookkeeping, CopyObject,
//! STS) and its ISO 8601 timestamps.
//!
//! Parsing is tolerant: unknown elements are ignored and optional ones
//! default, so a server adding a field never breaks us. A document we
//! cannot read at all is a `Protocol` error.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plugbay_core::{Error, Result};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Decode an XML body; failures are `Protocol` errors naming the document.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T> {
    let text = std::str::from_utf8(body)
        .map_err(|e| Error::protocol(format!("{what} is not UTF-8")).with_source(e))?;
    quick_xml::de::from_str(text).map_err(|e| {
        Error::protocol(format!("malformed {what} XML"))
            .with_context("body_bytes", body.len().to_string())
            .with_source(e)
    })
}

/// `ListBucketResult` of ListObjectsV2.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ListBucketResult {
    pub(crate) contents: Vec<ListedObject>,
    pub(crate) common_prefixes: Vec<CommonPrefix>,
    pub(crate) is_truncated: bool,
    pub(crate) next_continuation_token: Option<String>,
}

/// One `<Contents>` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ListedObject {
    pub(crate) key: String,
    pub(crate) size: u64,
    #[serde(rename = "ETag")]
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
}

/// One `<CommonPrefixes>` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CommonPrefix {
    pub(crate) prefix: String,
}

/// `InitiateMultipartUploadResult`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InitiateMultipartUploadResult {
    pub(crate) upload_id: String,
}

/// `CompleteMultipartUploadResult`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CompleteMultipartUploadResult {
    #[serde(rename = "ETag")]
    pub(crate) etag: Option<String>,
}

/// `CopyObjectResult`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CopyObjectResult {
    #[serde(rename = "ETag")]
    pub(crate) etag: Option<String>,
}

/// `ListMultipartUploadsResult`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ListMultipartUploadsResult {
    #[serde(rename = "Upload")]
    pub(crate) uploads: Vec<ListedUpload>,
}

/// One `<Upload>` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ListedUpload {
    pub(crate) key: String,
    pub(crate) upload_id: String,
}

/// `AssumeRoleWithWebIdentityResponse` from STS.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AssumeRoleWithWebIdentityResponse {
    pub(crate) assume_role_with_web_identity_result: AssumeRoleResult,
}

/// Its `AssumeRoleWithWebIdentityResult`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AssumeRoleResult {
    pub(crate) credentials: StsCredentials,
}

/// Temporary credentials issued by STS.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StsCredentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: Option<String>,
    pub(crate) expiration: Option<String>,
}

impl std::fmt::Debug for StsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// The `CompleteMultipartUpload` request body for `(part number, etag)`
/// pairs in ascending part order.
pub(crate) fn complete_multipart_body(parts: &[(u32, String)]) -> String {
    let mut xml = String::with_capacity(64 + parts.len() * 80);
    xml.push_str("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (number, etag) in parts {
        xml.push_str("<Part><PartNumber>");
        xml.push_str(&number.to_string());
        xml.push_str("</PartNumber><ETag>");
        xml.push_str(&escape(etag));
        xml.push_str("</ETag></Part>");
    }
    xml.push_str("</CompleteMultipartUpload>");
    xml
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Parse an ISO 8601 UTC timestamp as S3 and STS write them
/// (`2024-05-01T12:30:45.123Z`, fraction optional, `Z` or `+00:00`).
pub(crate) fn parse_timestamp(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    let time = time
        .strip_suffix('Z')
        .or_else(|| time.strip_suffix("+00:00"))?;
    let (clock, fraction) = match time.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (time, None),
    };
    let mut clock_parts = clock.splitn(3, ':');
    let hour: u64 = clock_parts.next()?.parse().ok()?;
    let minute: u64 = clock_parts.next()?.parse().ok()?;
    let second: u64 = clock_parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = u64::try_from(days).ok()? * 86_400 + hour * 3600 + minute * 60 + second;
    let nanos = match fraction {
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            let digits: String = f.chars().take(9).collect();
            let scale = 10u32.pow(9 - u32::try_from(digits.len()).ok()?);
            digits.parse::<u32>().ok()? * scale
        }
        Some(_) => return None,
        None => 0,
    };
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let at = parse_timestamp("2009-10-12T17:50:30.000Z").unwrap();
        assert_eq!(at, UNIX_EPOCH + Duration::from_secs(1_255_369_830));
        let frac = parse_timestamp("1970-01-02T00:00:01.5Z").unwrap();
        assert_eq!(frac, UNIX_EPOCH + Duration::from_millis(86_401_500));
        assert_eq!(
            parse_timestamp("2024-02-29T00:00:00+00:00").unwrap(),
            UNIX_EPOCH + Duration::from_secs(1_709_164_800)
        );
        for bad in [
            "",
            "2009-10-12",
            "2009-13-12T00:00:00Z",
            "2009-10-12T17:50:30",
            "x-y-zT1:2:3Z",
            "2009-10-12T17:50:30.abcZ",
        ] {
            assert!(parse_timestamp(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn list_result_tolerates_unknown_and_missing_fields() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>p/a &amp; b.txt</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>
    <StorageClass>STANDARD</StorageClass><Future>x</Future></Contents>
  <Contents><Key>p/c</Key><Size>0</Size></Contents>
  <CommonPrefixes><Prefix>p/d/</Prefix></CommonPrefixes>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>"#;
        let page: ListBucketResult = decode(xml.as_bytes(), "ListBucketResult").unwrap();
        assert!(page.is_truncated);
        assert_eq!(page.contents.len(), 2);
        assert_eq!(page.contents[0].key, "p/a & b.txt");
        assert_eq!(
            page.contents[0].etag.as_deref(),
            Some("\"fba9dede5f27731c9771645a39863328\"")
        );
        assert_eq!(page.contents[0].size, 434_234);
        assert_eq!(page.contents[1].etag, None);
        assert_eq!(page.common_prefixes[0].prefix, "p/d/");
        assert_eq!(
            page.next_continuation_token.as_deref(),
            Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        );
        let empty: ListBucketResult =
            decode(b"<ListBucketResult><Name>b</Name></ListBucketResult>", "x").unwrap();
        assert!(empty.contents.is_empty() && !empty.is_truncated);
    }

    #[test]
    fn malformed_documents_are_protocol_errors() {
        for bad in [
            &b"<ListBucketResult><Contents><Key>a"[..],
            b"{\"json\": true}",
            b"\xff\xfe",
        ] {
            let err = decode::<ListBucketResult>(bad, "ListBucketResult").unwrap_err();
            assert_eq!(err.kind(), plugbay_core::ErrorKind::Protocol, "{err}");
        }
        let missing = decode::<InitiateMultipartUploadResult>(
            b"<InitiateMultipartUploadResult><Bucket>b</Bucket></InitiateMultipartUploadResult>",
            "InitiateMultipartUploadResult",
        );
        assert_eq!(
            missing.unwrap_err().kind(),
            plugbay_core::ErrorKind::Protocol
        );
    }

    #[test]
    fn complete_body_escapes_etags() {
        let body = complete_multipart_body(&[(1, "\"a\"".into()), (2, "\"b&c\"".into())]);
        assert!(body.contains("<Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part>"));
        assert!(body.contains("<ETag>&quot;b&amp;c&quot;</ETag>"));
        assert!(body.starts_with("<CompleteMultipartUpload"));
    }

    #[test]
    fn sts_and_multipart_documents() {
        let sts = r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>amzn1.account</SubjectFromWebIdentityToken>
    <Credentials>
      <SessionToken>TOKEN</SessionToken><SecretAccessKey>SECRET</SecretAccessKey>
      <Expiration>2014-10-24T23:00:23Z</Expiration><AccessKeyId>ASIA</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>ad4156e9</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>"#;
        let parsed: AssumeRoleWithWebIdentityResponse = decode(sts.as_bytes(), "sts").unwrap();
        let creds = parsed.assume_role_with_web_identity_result.credentials;
        assert_eq!(creds.access_key_id, "ASIA");
        assert_eq!(creds.session_token.as_deref(), Some("TOKEN"));
        assert!(!format!("{creds:?}").contains("SECRET"));
        let uploads: ListMultipartUploadsResult = decode(
            b"<ListMultipartUploadsResult><Bucket>b</Bucket><Upload><Key>k</Key><UploadId>u1</UploadId></Upload><Upload><Key>k2</Key><UploadId>u2</UploadId></Upload></ListMultipartUploadsResult>",
            "uploads",
        )
        .unwrap();
        assert_eq!(uploads.uploads.len(), 2);
        assert_eq!(uploads.uploads[1].upload_id, "u2");
    }
}
