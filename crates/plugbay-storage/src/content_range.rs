//! `Content-Range` of a partial download, shared by the S3 and GCS readers.

use std::ops::Range;

/// `bytes 10-19/100` → `(10..20, 100)`: the bytes served and the whole
/// object's size. `None` for anything else (`*` sizes, inverted or
/// out-of-size spans, other units).
#[cfg_attr(not(any(feature = "s3", feature = "gcs")), allow(dead_code))]
pub(crate) fn parse_content_range(value: &str) -> Option<(Range<u64>, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let first: u64 = first.trim().parse().ok()?;
    let last: u64 = last.trim().parse().ok()?;
    let total: u64 = total.trim().parse().ok()?;
    (first <= last && last < total).then_some((first..last + 1, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(parse_content_range("bytes 10-19/100"), Some((10..20, 100)));
        assert_eq!(parse_content_range("bytes 0-0/1"), Some((0..1, 1)));
        for bad in [
            "bytes */100",
            "bytes 5-2/10",
            "bytes 0-10/10",
            "items 0-1/2",
            "",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }
}
