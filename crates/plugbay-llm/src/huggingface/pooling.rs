//! Reading feature-extraction output: one vector per input, token-level
//! output mean-pooled, optional L2 normalisation.

use plugbay_core::{Error, Result};
use serde::Deserialize;

/// The shapes a feature-extraction pipeline answers with: sentence
/// vectors `[[f32]]` (sentence-transformers models), token vectors
/// `[[[f32]]]` (plain transformer models), or one flat `[f32]` for a
/// single input.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum FeatureOutput {
    /// One vector per input.
    Sentences(Vec<Vec<f32>>),
    /// One vector per token, per input.
    Tokens(Vec<Vec<Vec<f32>>>),
    /// One vector, for a single input.
    Flat(Vec<f32>),
}

fn protocol(message: String) -> Error {
    Error::protocol(message)
        .with_provider("huggingface")
        .with_operation("embed")
}

/// The vectors for `expected` inputs, pooling token-level output by mean
/// and normalising pooled vectors to unit length when `normalize` is set.
///
/// A two-level answer to a single input whose row count is not 1 is read
/// as that input's token vectors (some pipelines drop the batch level).
pub(crate) fn into_vectors(
    output: FeatureOutput,
    expected: usize,
    normalize: bool,
) -> Result<Vec<Vec<f32>>> {
    let vectors = match output {
        FeatureOutput::Sentences(rows) if rows.len() == expected => rows,
        FeatureOutput::Sentences(rows) if expected == 1 && !rows.is_empty() => {
            vec![pooled(&rows, normalize)?]
        }
        FeatureOutput::Sentences(rows) => {
            return Err(protocol(format!(
                "asked for {expected} embeddings, got {}",
                rows.len()
            )));
        }
        FeatureOutput::Tokens(inputs) if inputs.len() == expected => inputs
            .iter()
            .map(|tokens| pooled(tokens, normalize))
            .collect::<Result<_>>()?,
        FeatureOutput::Tokens(inputs) => {
            return Err(protocol(format!(
                "asked for {expected} embeddings, got token vectors for {}",
                inputs.len()
            )));
        }
        FeatureOutput::Flat(vector) if expected == 1 => vec![vector],
        FeatureOutput::Flat(_) => {
            return Err(protocol(format!(
                "asked for {expected} embeddings, got a single vector"
            )));
        }
    };
    if let Some(first) = vectors.first() {
        let dims = first.len();
        if dims == 0 || vectors.iter().any(|v| v.len() != dims) {
            return Err(protocol(
                "the embedding vectors are empty or differ in length".to_owned(),
            ));
        }
    }
    Ok(vectors)
}

/// Mean of the token vectors, then (optionally) unit length.
pub(crate) fn pooled(tokens: &[Vec<f32>], normalize: bool) -> Result<Vec<f32>> {
    let dims = tokens.first().map_or(0, Vec::len);
    if dims == 0 || tokens.iter().any(|t| t.len() != dims) {
        return Err(protocol(
            "token vectors are empty or differ in length; cannot pool them".to_owned(),
        ));
    }
    let mut sum = vec![0.0f64; dims];
    for token in tokens {
        for (acc, value) in sum.iter_mut().zip(token) {
            *acc += f64::from(*value);
        }
    }
    let count = tokens.len() as f64;
    #[allow(clippy::cast_possible_truncation)] // back to the f32 the model produced
    let mut mean: Vec<f32> = sum.into_iter().map(|s| (s / count) as f32).collect();
    if normalize {
        normalize_in_place(&mut mean);
    }
    Ok(mean)
}

/// Scale `vector` to unit L2 length (a zero vector stays zero).
pub(crate) fn normalize_in_place(vector: &mut [f32]) {
    let norm = vector
        .iter()
        .map(|x| f64::from(*x).powi(2))
        .sum::<f64>()
        .sqrt();
    if norm > 0.0 {
        for x in vector.iter_mut() {
            #[allow(clippy::cast_possible_truncation)]
            {
                *x = (f64::from(*x) / norm) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;

    fn parse(json: &str) -> FeatureOutput {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn sentence_vectors_pass_through() {
        let out = into_vectors(parse("[[1,2],[3,4]]"), 2, true).unwrap();
        assert_eq!(out, vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
        let out = into_vectors(parse("[0.5,0.25]"), 1, false).unwrap();
        assert_eq!(out, vec![vec![0.5, 0.25]]);
    }

    #[test]
    fn token_vectors_are_mean_pooled_and_normalised() {
        let json = "[[[1,0],[3,0]],[[0,2],[0,4],[0,6]]]";
        let out = into_vectors(parse(json), 2, false).unwrap();
        assert_eq!(out, vec![vec![2.0, 0.0], vec![0.0, 4.0]]);
        let out = into_vectors(parse(json), 2, true).unwrap();
        assert_eq!(out, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
        // A single input whose batch level was dropped.
        let out = into_vectors(parse("[[3,4],[3,4]]"), 1, true).unwrap();
        assert_eq!(out, vec![vec![0.6, 0.8]]);
    }

    #[test]
    fn wrong_counts_and_ragged_vectors_are_protocol_errors() {
        for (json, n) in [
            ("[[1,2],[3,4]]", 3),
            ("[[[1]],[[2]]]", 1),
            ("[1,2]", 2),
            ("[[1,2],[3]]", 2),
            ("[[[1,2],[3]]]", 1),
            ("[[]]", 1),
        ] {
            let err = into_vectors(parse(json), n, false).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protocol, "{json}");
        }
        assert!(serde_json::from_str::<FeatureOutput>(r#"{"a":1}"#).is_err());
    }
}
