//! [`Filter`]: one small query language that the in-memory store evaluates
//! directly and the PostgreSQL (`jsonb`) and MongoDB backends compile.

use std::cmp::Ordering;

use plugbay_core::{Error, Result};
use serde_json::{Number, Value};

use crate::types::Document;

/// Deepest nesting of `And`/`Or`/`Not` a filter may have.
pub const MAX_FILTER_DEPTH: usize = 32;

/// A condition on documents. Field paths are dotted (`"address.city"`); a
/// numeric segment indexes an array (`"tags.0"`). Paths do not fan out over
/// arrays: `"items.price"` does not look inside an array of objects.
///
/// Semantics every backend follows:
/// - `Eq`/`In` compare JSON values exactly, except that numbers compare by
///   value (`1` equals `1.0`); an array equals only an equal array (no
///   "array contains" matching); `Eq(path, null)` needs the field present
///   and `null`.
/// - `Ne(path, v)` is `Not(Eq(path, v))`: it matches a missing field.
/// - `Range` compares numbers with numbers and strings with strings (by
///   Unicode code point); a field of another type does not match. Bounds
///   must all be numbers or all strings.
/// - `Exists(path)` matches a present field, even one holding `null`.
/// - `And([])` matches everything ([`Filter::all`]); `Or([])` nothing.
///
/// ```
/// use plugbay_data::Filter;
/// use serde_json::json;
///
/// let adults_in_london = Filter::and([
///     Filter::eq("address.city", "London"),
///     Filter::gte("age", 18),
/// ]);
/// let doc = json!({"age": 36, "address": {"city": "London"}});
/// assert!(adults_in_london.matches(doc.as_object().unwrap()));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Filter {
    /// The field equals the value.
    Eq(String, Value),
    /// The field is missing or differs from the value.
    Ne(String, Value),
    /// The field equals one of the values (none: matches nothing).
    In(String, Vec<Value>),
    /// The field lies within the given bounds (at least one is required).
    Range {
        /// The field path.
        path: String,
        /// Exclusive lower bound.
        gt: Option<Value>,
        /// Inclusive lower bound.
        gte: Option<Value>,
        /// Exclusive upper bound.
        lt: Option<Value>,
        /// Inclusive upper bound.
        lte: Option<Value>,
    },
    /// The field is present (possibly `null`).
    Exists(String),
    /// Every filter matches.
    And(Vec<Filter>),
    /// At least one filter matches.
    Or(Vec<Filter>),
    /// The filter does not match.
    Not(Box<Filter>),
}

impl Filter {
    /// Matches every document.
    pub fn all() -> Filter {
        Filter::And(Vec::new())
    }

    /// `path == value`.
    pub fn eq(path: impl Into<String>, value: impl Into<Value>) -> Filter {
        Filter::Eq(path.into(), value.into())
    }

    /// `path != value` (missing fields match).
    pub fn ne(path: impl Into<String>, value: impl Into<Value>) -> Filter {
        Filter::Ne(path.into(), value.into())
    }

    /// `path` equals one of `values`.
    pub fn is_in<V: Into<Value>>(
        path: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Filter {
        Filter::In(path.into(), values.into_iter().map(Into::into).collect())
    }

    fn range(path: impl Into<String>) -> Filter {
        Filter::Range {
            path: path.into(),
            gt: None,
            gte: None,
            lt: None,
            lte: None,
        }
    }

    /// `path > value`.
    pub fn gt(path: impl Into<String>, value: impl Into<Value>) -> Filter {
        let mut f = Filter::range(path);
        if let Filter::Range { gt, .. } = &mut f {
            *gt = Some(value.into());
        }
        f
    }

    /// `path >= value`.
    pub fn gte(path: impl Into<String>, value: impl Into<Value>) -> Filter {
        let mut f = Filter::range(path);
        if let Filter::Range { gte, .. } = &mut f {
            *gte = Some(value.into());
        }
        f
    }

    /// `path < value`.
    pub fn lt(path: impl Into<String>, value: impl Into<Value>) -> Filter {
        let mut f = Filter::range(path);
        if let Filter::Range { lt, .. } = &mut f {
            *lt = Some(value.into());
        }
        f
    }

    /// `path <= value`.
    pub fn lte(path: impl Into<String>, value: impl Into<Value>) -> Filter {
        let mut f = Filter::range(path);
        if let Filter::Range { lte, .. } = &mut f {
            *lte = Some(value.into());
        }
        f
    }

    /// `low <= path < high`.
    pub fn between(
        path: impl Into<String>,
        low: impl Into<Value>,
        high: impl Into<Value>,
    ) -> Filter {
        Filter::Range {
            path: path.into(),
            gt: None,
            gte: Some(low.into()),
            lt: Some(high.into()),
            lte: None,
        }
    }

    /// The field at `path` is present.
    pub fn exists(path: impl Into<String>) -> Filter {
        Filter::Exists(path.into())
    }

    /// All of `filters`.
    pub fn and(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::And(filters.into_iter().collect())
    }

    /// Any of `filters`.
    pub fn or(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::Or(filters.into_iter().collect())
    }

    /// Not `filter`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(filter: Filter) -> Filter {
        Filter::Not(Box::new(filter))
    }

    /// `InvalidInput` for a malformed filter: a bad path (empty, an empty
    /// segment, a segment starting with `$`, a NUL), a range without bounds
    /// or with bounds that are not all numbers or all strings, or nesting
    /// deeper than [`MAX_FILTER_DEPTH`].
    pub fn validate(&self) -> Result<()> {
        self.validate_at(1)
    }

    fn validate_at(&self, depth: usize) -> Result<()> {
        if depth > MAX_FILTER_DEPTH {
            return Err(Error::invalid_input("filter nests too deeply"));
        }
        match self {
            Filter::Eq(path, _)
            | Filter::Ne(path, _)
            | Filter::In(path, _)
            | Filter::Exists(path) => validate_path(path),
            Filter::Range {
                path,
                gt,
                gte,
                lt,
                lte,
            } => {
                validate_path(path)?;
                let bounds: Vec<&Value> = [gt, gte, lt, lte].into_iter().flatten().collect();
                let all_numbers = bounds.iter().all(|v| v.is_number());
                let all_strings = bounds.iter().all(|v| v.is_string());
                if bounds.is_empty() || !(all_numbers || all_strings) {
                    return Err(Error::invalid_input(
                        "a range needs at least one bound, and its bounds must be all numbers or all strings",
                    )
                    .with_context("path", path.clone()));
                }
                Ok(())
            }
            Filter::And(filters) | Filter::Or(filters) => {
                filters.iter().try_for_each(|f| f.validate_at(depth + 1))
            }
            Filter::Not(filter) => filter.validate_at(depth + 1),
        }
    }

    /// Whether `doc` matches, by the semantics above. Assumes the filter is
    /// valid; an invalid range simply matches nothing.
    pub fn matches(&self, doc: &Document) -> bool {
        match self {
            Filter::Eq(path, value) => lookup(doc, path).is_some_and(|v| json_eq(v, value)),
            Filter::Ne(path, value) => !lookup(doc, path).is_some_and(|v| json_eq(v, value)),
            Filter::In(path, values) => {
                lookup(doc, path).is_some_and(|v| values.iter().any(|x| json_eq(v, x)))
            }
            Filter::Range {
                path,
                gt,
                gte,
                lt,
                lte,
            } => {
                let Some(field) = lookup(doc, path) else {
                    return false;
                };
                let holds = |bound: &Option<Value>, ok: fn(Ordering) -> bool| {
                    bound
                        .as_ref()
                        .is_none_or(|b| compare(field, b).is_some_and(ok))
                };
                holds(gt, Ordering::is_gt)
                    && holds(gte, Ordering::is_ge)
                    && holds(lt, Ordering::is_lt)
                    && holds(lte, Ordering::is_le)
            }
            Filter::Exists(path) => lookup(doc, path).is_some(),
            Filter::And(filters) => filters.iter().all(|f| f.matches(doc)),
            Filter::Or(filters) => filters.iter().any(|f| f.matches(doc)),
            Filter::Not(filter) => !filter.matches(doc),
        }
    }
}

fn validate_path(path: &str) -> Result<()> {
    let ok = !path.is_empty()
        && !path.contains('\0')
        && path
            .split('.')
            .all(|seg| !seg.is_empty() && !seg.starts_with('$'));
    if ok {
        return Ok(());
    }
    Err(Error::invalid_input(
        "field paths are dot-separated non-empty segments that do not start with '$'",
    )
    .with_context("path", path.chars().take(80).collect::<String>()))
}

/// The value at a dotted `path`, descending into objects by key and into
/// arrays by numeric index.
pub fn lookup<'a>(doc: &'a Document, path: &str) -> Option<&'a Value> {
    let mut segments = path.split('.');
    let mut current = doc.get(segments.next()?)?;
    for segment in segments {
        current = match current {
            Value::Object(map) => map.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// JSON equality with numbers compared by value.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_cmp(x, y) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Order two values of the same kind (numbers or strings); `None` otherwise.
fn compare(field: &Value, bound: &Value) -> Option<Ordering> {
    match (field, bound) {
        (Value::Number(x), Value::Number(y)) => number_cmp(x, y),
        (Value::String(x), Value::String(y)) => Some(x.as_str().cmp(y.as_str())),
        _ => None,
    }
}

fn number_cmp(x: &Number, y: &Number) -> Option<Ordering> {
    let exact = |n: &Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (exact(x), exact(y)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;
    use serde_json::json;

    fn doc() -> Document {
        json!({
            "name": "ada",
            "age": 36,
            "score": 9.5,
            "nick": null,
            "tags": ["x", "y"],
            "address": {"city": "London", "geo": {"lat": 51.5}},
        })
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn paths_descend_objects_and_arrays() {
        let d = doc();
        assert_eq!(lookup(&d, "address.geo.lat"), Some(&json!(51.5)));
        assert_eq!(lookup(&d, "tags.1"), Some(&json!("y")));
        assert_eq!(lookup(&d, "tags.2"), None);
        assert_eq!(lookup(&d, "name.first"), None);
        assert_eq!(lookup(&d, "nick"), Some(&Value::Null));
    }

    #[test]
    fn each_operator_matches_and_misses() {
        let d = doc();
        let cases = [
            (Filter::eq("age", 36.0), true),
            (Filter::eq("age", "36"), false),
            (Filter::eq("tags", json!(["x", "y"])), true),
            (Filter::eq("tags", "x"), false),
            (
                Filter::eq("address", json!({"geo": {"lat": 51.5}, "city": "London"})),
                true,
            ),
            (Filter::eq("nick", Value::Null), true),
            (Filter::eq("missing", Value::Null), false),
            (Filter::ne("missing", 1), true),
            (Filter::ne("age", 36), false),
            (Filter::is_in("name", ["bob", "ada"]), true),
            (Filter::is_in("name", Vec::<Value>::new()), false),
            (Filter::gt("age", 35.9), true),
            (Filter::gt("age", 36), false),
            (Filter::between("score", 9, 10), true),
            (Filter::lte("name", "ada"), true),
            (Filter::lt("name", "ada"), false),
            (Filter::gt("name", 1), false),
            (Filter::exists("nick"), true),
            (Filter::exists("address.zip"), false),
            (Filter::all(), true),
            (Filter::or([]), false),
            (Filter::not(Filter::exists("address.zip")), true),
            (
                Filter::and([Filter::eq("name", "ada"), Filter::gt("age", 40)]),
                false,
            ),
            (
                Filter::or([Filter::eq("name", "bob"), Filter::eq("tags.0", "x")]),
                true,
            ),
        ];
        for (filter, expected) in cases {
            filter.validate().unwrap();
            assert_eq!(filter.matches(&d), expected, "{filter:?}");
        }
    }

    #[test]
    fn big_integers_compare_exactly() {
        let d = json!({"n": u64::MAX}).as_object().unwrap().clone();
        assert!(Filter::eq("n", u64::MAX).matches(&d));
        assert!(!Filter::eq("n", u64::MAX - 1).matches(&d));
        assert!(Filter::gt("n", i64::MAX).matches(&d));
    }

    #[test]
    fn malformed_filters_are_invalid_input() {
        let mut deep = Filter::all();
        for _ in 0..MAX_FILTER_DEPTH {
            deep = Filter::not(deep);
        }
        let bad = [
            Filter::eq("", 1),
            Filter::eq("a..b", 1),
            Filter::exists("a.$where"),
            Filter::Range {
                path: "a".into(),
                gt: None,
                gte: None,
                lt: None,
                lte: None,
            },
            Filter::gt("a", true),
            Filter::Range {
                path: "a".into(),
                gt: Some(json!(1)),
                gte: None,
                lt: Some(json!("z")),
                lte: None,
            },
            Filter::and([Filter::eq("ok", 1), Filter::eq(".bad", 1)]),
            deep,
        ];
        for filter in bad {
            let err = filter.validate().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{filter:?}");
        }
    }
}
