//! The one metadata filter language of plugbay's vector stores.
//!
//! A [`Filter`] is a small boolean AST over flat record metadata
//! (`serde_json::Map`). The in-memory store evaluates it natively with
//! [`Filter::matches`]; remote backends compile it to their own dialect
//! (Pinecone `$` operators, Qdrant `must`/`should`/`must_not`).
//!
//! # Semantics
//!
//! Keys name top-level metadata fields (no dotted paths). Values compared
//! are scalars: strings, numbers and booleans. Numbers compare as `f64`, so
//! `1` equals `1.0` (Pinecone stores every number as a 64-bit float).
//!
//! | operator | matches when |
//! | --- | --- |
//! | `Eq(k, v)` | `k` is present and equals `v`, or `k` is a list with an element equal to `v` |
//! | `Ne(k, v)` | `Eq(k, v)` does not match — **including when `k` is missing** |
//! | `In(k, vs)` | `k` (or an element of list `k`) equals one of `vs` |
//! | `Nin(k, vs)` | `In(k, vs)` does not match — **including when `k` is missing** |
//! | `Range` | `k` is a number (or a list with a number) within every given bound; a missing or non-numeric `k` never matches |
//! | `Exists(k)` | `k` is present and not `null` |
//! | `And` / `Or` / `Not` | all / any / none |
//!
//! So `Ne(k, v)` is exactly `Not(Eq(k, v))` and `Nin` is `Not(In)`: the
//! negations are MongoDB's (on which Pinecone's filter language is based)
//! and what Qdrant's `must_not` gives, so all three backends agree.
//!
//! # Validation
//!
//! [`Filter::validate`] rejects, with `ErrorKind::InvalidInput`: an empty
//! key, a non-scalar comparison value (`null`, object, list), an empty
//! `In`/`Nin` list, a `Range` with no bound or a non-finite bound, an empty
//! `And`/`Or`, and nesting deeper than [`MAX_DEPTH`]. Stores validate every
//! filter they are given.
//!
//! # JSON form
//!
//! The public JSON form (what the example server accepts and what
//! `serde` reads and writes) is the MongoDB/Pinecone-style one; see
//! [`Filter::from_json`].

mod eval;
mod json;

use plugbay_core::{Error, Result};
use serde_json::Value;

/// The deepest nesting of `And`/`Or`/`Not` a filter may have.
pub const MAX_DEPTH: usize = 32;

/// A boolean filter over record metadata. See the [module docs](self) for
/// the exact semantics of each operator.
///
/// ```
/// use plugbay_memory::Filter;
///
/// let f = Filter::eq("user_id", "alice")
///     .and(Filter::gte("year", 2020))
///     .and(Filter::is_in("tag", ["work", "home"]));
/// let meta = serde_json::json!({"user_id": "alice", "year": 2021, "tag": "home"});
/// assert!(f.matches(meta.as_object().unwrap()));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Filter {
    /// The field equals the value (or a list field contains it).
    Eq(String, Value),
    /// The field does not equal the value; matches when the field is missing.
    Ne(String, Value),
    /// The field equals one of the values (or a list field contains one).
    In(String, Vec<Value>),
    /// The field equals none of the values; matches when the field is missing.
    Nin(String, Vec<Value>),
    /// The field is a number within every bound that is set.
    Range {
        /// The metadata key.
        key: String,
        /// Exclusive lower bound.
        gt: Option<f64>,
        /// Inclusive lower bound.
        gte: Option<f64>,
        /// Exclusive upper bound.
        lt: Option<f64>,
        /// Inclusive upper bound.
        lte: Option<f64>,
    },
    /// The field is present and not `null`.
    Exists(String),
    /// Every sub-filter matches.
    And(Vec<Filter>),
    /// At least one sub-filter matches.
    Or(Vec<Filter>),
    /// The sub-filter does not match.
    Not(Box<Filter>),
}

impl Filter {
    /// `key == value`.
    pub fn eq(key: impl Into<String>, value: impl Into<Value>) -> Filter {
        Filter::Eq(key.into(), value.into())
    }

    /// `key != value` (true when `key` is missing).
    pub fn ne(key: impl Into<String>, value: impl Into<Value>) -> Filter {
        Filter::Ne(key.into(), value.into())
    }

    /// `key` is one of `values`.
    pub fn is_in<V: Into<Value>>(
        key: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Filter {
        Filter::In(key.into(), values.into_iter().map(Into::into).collect())
    }

    /// `key` is none of `values` (true when `key` is missing).
    pub fn not_in<V: Into<Value>>(
        key: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Filter {
        Filter::Nin(key.into(), values.into_iter().map(Into::into).collect())
    }

    /// `key > bound`.
    pub fn gt(key: impl Into<String>, bound: impl Into<f64>) -> Filter {
        Filter::range(key, Some(bound.into()), None, None, None)
    }

    /// `key >= bound`.
    pub fn gte(key: impl Into<String>, bound: impl Into<f64>) -> Filter {
        Filter::range(key, None, Some(bound.into()), None, None)
    }

    /// `key < bound`.
    pub fn lt(key: impl Into<String>, bound: impl Into<f64>) -> Filter {
        Filter::range(key, None, None, Some(bound.into()), None)
    }

    /// `key <= bound`.
    pub fn lte(key: impl Into<String>, bound: impl Into<f64>) -> Filter {
        Filter::range(key, None, None, None, Some(bound.into()))
    }

    /// A range with any combination of bounds (`gt`, `gte`, `lt`, `lte`).
    pub fn range(
        key: impl Into<String>,
        gt: Option<f64>,
        gte: Option<f64>,
        lt: Option<f64>,
        lte: Option<f64>,
    ) -> Filter {
        Filter::Range {
            key: key.into(),
            gt,
            gte,
            lt,
            lte,
        }
    }

    /// `key` is present and not `null`.
    pub fn exists(key: impl Into<String>) -> Filter {
        Filter::Exists(key.into())
    }

    /// Every filter in `filters` matches.
    pub fn all(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::And(filters.into_iter().collect())
    }

    /// At least one filter in `filters` matches.
    pub fn any(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::Or(filters.into_iter().collect())
    }

    /// `self AND other`; flattens into an existing `And`.
    pub fn and(self, other: Filter) -> Filter {
        match self {
            Filter::And(mut items) => {
                items.push(other);
                Filter::And(items)
            }
            first => Filter::And(vec![first, other]),
        }
    }

    /// `self OR other`; flattens into an existing `Or`.
    pub fn or(self, other: Filter) -> Filter {
        match self {
            Filter::Or(mut items) => {
                items.push(other);
                Filter::Or(items)
            }
            first => Filter::Or(vec![first, other]),
        }
    }

    /// `NOT self` (also available as the `!` operator).
    pub fn negate(self) -> Filter {
        Filter::Not(Box::new(self))
    }

    /// Check the filter is well formed (see the [module docs](self)).
    ///
    /// # Errors
    /// `ErrorKind::InvalidInput` naming the first problem found.
    pub fn validate(&self) -> Result<()> {
        self.validate_at(1)
    }

    fn validate_at(&self, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(invalid(format!(
                "filter nests deeper than {MAX_DEPTH} levels"
            )));
        }
        match self {
            Filter::Eq(key, value) | Filter::Ne(key, value) => {
                check_key(key)?;
                check_scalar(key, value)
            }
            Filter::In(key, values) | Filter::Nin(key, values) => {
                check_key(key)?;
                if values.is_empty() {
                    return Err(invalid(format!("filter on `{key}`: empty value list")));
                }
                values.iter().try_for_each(|v| check_scalar(key, v))
            }
            Filter::Range {
                key,
                gt,
                gte,
                lt,
                lte,
            } => {
                check_key(key)?;
                let bounds = [gt, gte, lt, lte];
                if bounds.iter().all(|b| b.is_none()) {
                    return Err(invalid(format!("range on `{key}` has no bound")));
                }
                if bounds.iter().any(|b| b.is_some_and(|x| !x.is_finite())) {
                    return Err(invalid(format!("range on `{key}` has a non-finite bound")));
                }
                Ok(())
            }
            Filter::Exists(key) => check_key(key),
            Filter::And(items) | Filter::Or(items) => {
                if items.is_empty() {
                    return Err(invalid("empty `and`/`or` filter".to_owned()));
                }
                items.iter().try_for_each(|f| f.validate_at(depth + 1))
            }
            Filter::Not(inner) => inner.validate_at(depth + 1),
        }
    }
}

impl std::ops::Not for Filter {
    type Output = Filter;

    fn not(self) -> Filter {
        self.negate()
    }
}

fn invalid(message: String) -> Error {
    Error::invalid_input(message).with_operation("filter")
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(invalid("filter key is empty".to_owned()));
    }
    Ok(())
}

fn check_scalar(key: &str, value: &Value) -> Result<()> {
    match value {
        Value::String(_) | Value::Bool(_) => Ok(()),
        Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => Ok(()),
        _ => Err(invalid(format!(
            "filter on `{key}`: values must be strings, finite numbers or booleans"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;
    use serde_json::json;

    use super::*;

    fn kind(f: &Filter) -> ErrorKind {
        f.validate()
            .err()
            .map(|e| e.kind())
            .unwrap_or(ErrorKind::Internal)
    }

    #[test]
    fn builders_produce_the_variants() {
        assert_eq!(Filter::eq("a", 1), Filter::Eq("a".into(), json!(1)));
        assert_eq!(Filter::ne("a", "x"), Filter::Ne("a".into(), json!("x")));
        assert_eq!(
            Filter::is_in("a", [1, 2]),
            Filter::In("a".into(), vec![json!(1), json!(2)])
        );
        assert_eq!(
            Filter::gte("a", 2),
            Filter::range("a", None, Some(2.0), None, None)
        );
        assert_eq!(
            !Filter::exists("a"),
            Filter::Not(Box::new(Filter::Exists("a".into())))
        );
    }

    #[test]
    fn and_or_flatten() {
        let f = Filter::eq("a", 1)
            .and(Filter::eq("b", 2))
            .and(Filter::eq("c", 3));
        assert!(matches!(&f, Filter::And(items) if items.len() == 3));
        let g = Filter::eq("a", 1)
            .or(Filter::eq("b", 2))
            .or(Filter::eq("c", 3));
        assert!(matches!(&g, Filter::Or(items) if items.len() == 3));
    }

    #[test]
    fn validation_accepts_well_formed_filters() {
        let f = Filter::all([
            Filter::eq("a", "x"),
            Filter::ne("b", true),
            Filter::is_in("c", [1.5, 2.0]),
            Filter::not_in("d", ["p"]),
            Filter::range("e", Some(1.0), None, None, Some(9.0)),
            Filter::exists("f"),
            Filter::any([Filter::eq("g", 1), !Filter::eq("h", 2)]),
        ]);
        assert!(f.validate().is_ok());
    }

    #[test]
    fn validation_rejects_malformed_filters() {
        let cases = [
            Filter::And(vec![]),
            Filter::Or(vec![]),
            Filter::eq("", 1),
            Filter::eq("a", Value::Null),
            Filter::eq("a", json!({"x": 1})),
            Filter::ne("a", json!([1])),
            Filter::In("a".into(), vec![]),
            Filter::Nin("a".into(), vec![json!(null)]),
            Filter::range("a", None, None, None, None),
            Filter::range("a", Some(f64::NAN), None, None, None),
            Filter::range("a", None, None, Some(f64::INFINITY), None),
            Filter::exists(""),
            Filter::eq("a", 1).and(Filter::Or(vec![])),
            !Filter::And(vec![]),
        ];
        for case in &cases {
            assert_eq!(kind(case), ErrorKind::InvalidInput, "{case:?}");
        }
    }

    #[test]
    fn validation_limits_depth() {
        let mut f = Filter::eq("a", 1);
        for _ in 0..MAX_DEPTH {
            f = !f;
        }
        assert_eq!(kind(&f), ErrorKind::InvalidInput);
        let mut ok = Filter::eq("a", 1);
        for _ in 0..MAX_DEPTH - 1 {
            ok = !ok;
        }
        assert!(ok.validate().is_ok());
    }
}
