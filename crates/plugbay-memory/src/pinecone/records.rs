//! Checking records against Pinecone's rules before anything is sent, and
//! packing them into upsert bodies under the byte and count limits.

use plugbay_core::{Error, Result};
use serde_json::{Value, json};

use super::config::MAX_METADATA_BYTES;
use crate::store::{validate_id, validate_vector};
use crate::types::{Metadata, VectorRecord};

/// Check metadata: flat, each value a string, number, boolean or list of
/// strings (no nulls, no objects), at most 40 KB serialised.
///
/// # Errors
/// `InvalidInput` naming the offending key.
pub fn validate_metadata(metadata: &Metadata) -> Result<()> {
    for (key, value) in metadata {
        let ok = match value {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => true,
            Value::Array(items) => items.iter().all(Value::is_string),
            Value::Null | Value::Object(_) => false,
        };
        if !ok {
            return Err(Error::invalid_input(format!(
                "metadata `{key}`: Pinecone accepts strings, numbers, booleans and lists of strings (no null, no nesting)"
            ))
            .with_context("key", key.clone()));
        }
    }
    let size = serde_json::to_vec(metadata)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_METADATA_BYTES {
        return Err(Error::invalid_input(format!(
            "metadata is {size} bytes; Pinecone allows {MAX_METADATA_BYTES} per record"
        )));
    }
    Ok(())
}

/// Check one record for an index of `dims` dimensions.
pub(crate) fn validate_record(record: &VectorRecord, dims: usize) -> Result<()> {
    validate_id(&record.id)?;
    validate_vector(&record.vector, dims)?;
    if record.vector.iter().all(|x| *x == 0.0) {
        return Err(Error::invalid_input(
            "Pinecone rejects dense vectors whose values are all zero",
        ));
    }
    validate_metadata(&record.metadata)
}

/// Serialise records (already validated) into upsert bodies of at most
/// `max_bytes` bytes and `max_records` records each.
///
/// # Errors
/// `InvalidInput` when one record alone does not fit in `max_bytes`.
pub(crate) fn pack(
    records: &[VectorRecord],
    namespace: &str,
    max_bytes: usize,
    max_records: usize,
) -> Result<Vec<Vec<u8>>> {
    let tail = serde_json::to_vec(&json!({ "namespace": namespace }))?;
    // `{"vectors":[` + items joined by `,` + `],` + `"namespace":".."}`.
    let head = br#"{"vectors":["#;
    let overhead = head.len() + 2 + (tail.len() - 1);
    let mut bodies = Vec::new();
    let mut items: Vec<Vec<u8>> = Vec::new();
    let mut size = overhead;
    let flush = |items: &mut Vec<Vec<u8>>, bodies: &mut Vec<Vec<u8>>| {
        if items.is_empty() {
            return;
        }
        let mut body = head.to_vec();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(item);
        }
        body.extend_from_slice(b"],");
        body.extend_from_slice(&tail[1..]);
        bodies.push(body);
        items.clear();
    };
    for record in records {
        let mut item = json!({"id": record.id, "values": record.vector});
        if !record.metadata.is_empty() {
            item["metadata"] = Value::Object(record.metadata.clone());
        }
        let bytes = serde_json::to_vec(&item)?;
        if overhead + bytes.len() > max_bytes {
            return Err(Error::invalid_input(format!(
                "record `{}` alone is {} bytes, over the {max_bytes}-byte request limit",
                record.id,
                bytes.len()
            )));
        }
        let extra = bytes.len() + usize::from(!items.is_empty());
        if !items.is_empty() && (size + extra > max_bytes || items.len() >= max_records) {
            flush(&mut items, &mut bodies);
            size = overhead;
        }
        size += bytes.len() + usize::from(!items.is_empty());
        items.push(bytes);
    }
    flush(&mut items, &mut bodies);
    Ok(bodies)
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;

    fn meta(v: Value) -> Metadata {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn metadata_rules() {
        assert!(
            validate_metadata(&meta(
                json!({"s": "x", "n": 1.5, "b": true, "l": ["a", "b"]})
            ))
            .is_ok()
        );
        for bad in [
            json!({"k": null}),
            json!({"k": {"nested": 1}}),
            json!({"k": [1, 2]}),
            json!({"k": ["a", null]}),
        ] {
            let err = validate_metadata(&meta(bad.clone())).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
            assert!(err.message().contains("`k`"), "{err}");
        }
        let big = meta(json!({"text": "x".repeat(MAX_METADATA_BYTES)}));
        assert_eq!(
            validate_metadata(&big).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn zero_vectors_are_refused() {
        let err = validate_record(&VectorRecord::new("z", vec![0.0, 0.0]), 2).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn packing_respects_bytes_and_counts_exactly() {
        let records: Vec<VectorRecord> = (0..50)
            .map(|i| VectorRecord::new(format!("r{i}"), vec![0.123_456_79; 40]).with_field("i", i))
            .collect();
        for (max_bytes, max_records) in [(2_000, 1000), (10_000, 7), (1_000_000, 1000)] {
            let bodies = pack(&records, "ns", max_bytes, max_records).unwrap();
            let mut total = 0;
            for body in &bodies {
                assert!(body.len() <= max_bytes, "{} > {max_bytes}", body.len());
                let v: Value = serde_json::from_slice(body).unwrap();
                assert_eq!(v["namespace"], "ns");
                let n = v["vectors"].as_array().unwrap().len();
                assert!(n <= max_records && n > 0);
                total += n;
            }
            assert_eq!(total, 50);
        }
        assert_eq!(pack(&records, "ns", 1_000_000, 1000).unwrap().len(), 1);
        let err = pack(&records, "ns", 100, 1000).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
