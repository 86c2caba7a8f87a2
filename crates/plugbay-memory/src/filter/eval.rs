//! Native evaluation of a [`Filter`] against record metadata.

use serde_json::{Map, Value};

use super::Filter;

impl Filter {
    /// Whether `metadata` satisfies the filter, with the semantics in the
    /// [module docs](super). A filter that does not [`validate`](Filter::validate)
    /// is evaluated as written (a bad leaf simply never matches), so stores
    /// validate first.
    pub fn matches(&self, metadata: &Map<String, Value>) -> bool {
        match self {
            Filter::Eq(key, value) => any_element(metadata.get(key), |v| scalar_eq(v, value)),
            Filter::Ne(key, value) => !any_element(metadata.get(key), |v| scalar_eq(v, value)),
            Filter::In(key, values) => any_element(metadata.get(key), |v| {
                values.iter().any(|want| scalar_eq(v, want))
            }),
            Filter::Nin(key, values) => !any_element(metadata.get(key), |v| {
                values.iter().any(|want| scalar_eq(v, want))
            }),
            Filter::Range {
                key,
                gt,
                gte,
                lt,
                lte,
            } => any_element(metadata.get(key), |v| {
                v.as_f64().is_some_and(|x| {
                    gt.is_none_or(|b| x > b)
                        && gte.is_none_or(|b| x >= b)
                        && lt.is_none_or(|b| x < b)
                        && lte.is_none_or(|b| x <= b)
                })
            }),
            Filter::Exists(key) => metadata.get(key).is_some_and(|v| !v.is_null()),
            Filter::And(items) => items.iter().all(|f| f.matches(metadata)),
            Filter::Or(items) => items.iter().any(|f| f.matches(metadata)),
            Filter::Not(inner) => !inner.matches(metadata),
        }
    }
}

/// Apply `test` to a scalar field, or to each element of a list field
/// (Pinecone list-of-strings and Qdrant array payloads match if any element
/// does). A missing field never satisfies `test`.
fn any_element(field: Option<&Value>, test: impl Fn(&Value) -> bool) -> bool {
    match field {
        None => false,
        Some(Value::Array(items)) => items.iter().any(test),
        Some(value) => test(value),
    }
}

fn scalar_eq(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn meta(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn record() -> Map<String, Value> {
        meta(json!({
            "user": "alice",
            "year": 2021,
            "score": 0.5,
            "public": true,
            "tags": ["work", "urgent"],
            "nothing": null,
        }))
    }

    #[test]
    fn eq_compares_scalars_by_type_and_numbers_as_floats() {
        let m = record();
        assert!(Filter::eq("user", "alice").matches(&m));
        assert!(!Filter::eq("user", "bob").matches(&m));
        assert!(Filter::eq("year", 2021.0).matches(&m));
        assert!(!Filter::eq("year", "2021").matches(&m));
        assert!(Filter::eq("public", true).matches(&m));
        assert!(!Filter::eq("public", 1).matches(&m));
        assert!(!Filter::eq("missing", "x").matches(&m));
        assert!(!Filter::eq("nothing", "x").matches(&m));
    }

    #[test]
    fn eq_on_a_list_matches_any_element() {
        let m = record();
        assert!(Filter::eq("tags", "urgent").matches(&m));
        assert!(!Filter::eq("tags", "home").matches(&m));
    }

    #[test]
    fn ne_matches_missing_keys_and_differs_from_eq() {
        let m = record();
        assert!(Filter::ne("user", "bob").matches(&m));
        assert!(!Filter::ne("user", "alice").matches(&m));
        assert!(Filter::ne("missing", "x").matches(&m));
        assert!(!Filter::ne("tags", "work").matches(&m));
        assert!(Filter::ne("tags", "home").matches(&m));
    }

    #[test]
    fn in_and_nin() {
        let m = record();
        assert!(Filter::is_in("user", ["bob", "alice"]).matches(&m));
        assert!(!Filter::is_in("user", ["bob", "carol"]).matches(&m));
        assert!(Filter::is_in("year", [2020, 2021]).matches(&m));
        assert!(Filter::is_in("tags", ["home", "urgent"]).matches(&m));
        assert!(!Filter::is_in("missing", ["x"]).matches(&m));
        assert!(Filter::not_in("user", ["bob"]).matches(&m));
        assert!(!Filter::not_in("user", ["alice"]).matches(&m));
        assert!(!Filter::not_in("tags", ["urgent"]).matches(&m));
        assert!(Filter::not_in("missing", ["x"]).matches(&m));
    }

    #[test]
    fn range_bounds_are_exclusive_or_inclusive_as_named() {
        let m = record();
        assert!(Filter::gt("year", 2020).matches(&m));
        assert!(!Filter::gt("year", 2021).matches(&m));
        assert!(Filter::gte("year", 2021).matches(&m));
        assert!(Filter::lt("year", 2022).matches(&m));
        assert!(!Filter::lt("year", 2021).matches(&m));
        assert!(Filter::lte("year", 2021).matches(&m));
        assert!(Filter::range("score", Some(0.0), None, Some(1.0), None).matches(&m));
        assert!(!Filter::range("score", Some(0.5), None, Some(1.0), None).matches(&m));
    }

    #[test]
    fn range_never_matches_missing_or_non_numeric() {
        let m = record();
        assert!(!Filter::gt("missing", 0).matches(&m));
        assert!(!Filter::gt("user", 0).matches(&m));
        assert!(!Filter::gt("public", 0).matches(&m));
        assert!(!Filter::gt("nothing", 0).matches(&m));
    }

    #[test]
    fn exists_requires_a_non_null_value() {
        let m = record();
        assert!(Filter::exists("user").matches(&m));
        assert!(Filter::exists("tags").matches(&m));
        assert!(!Filter::exists("missing").matches(&m));
        assert!(!Filter::exists("nothing").matches(&m));
    }

    #[test]
    fn boolean_combinators_and_nesting() {
        let m = record();
        let alice_recent = Filter::eq("user", "alice").and(Filter::gte("year", 2021));
        assert!(alice_recent.matches(&m));
        assert!(
            !Filter::eq("user", "alice")
                .and(Filter::eq("public", false))
                .matches(&m)
        );
        assert!(
            Filter::eq("user", "bob")
                .or(Filter::eq("public", true))
                .matches(&m)
        );
        assert!(
            !Filter::eq("user", "bob")
                .or(Filter::eq("public", false))
                .matches(&m)
        );
        assert!(!(!alice_recent.clone()).matches(&m));
        let nested = Filter::any([
            Filter::all([Filter::eq("user", "bob"), Filter::exists("year")]),
            !Filter::any([Filter::eq("tags", "spam"), Filter::lt("score", 0.1)]),
        ]);
        assert!(nested.matches(&m));
        let nested_false = Filter::all([alice_recent, !Filter::exists("tags")]);
        assert!(!nested_false.matches(&m));
    }

    #[test]
    fn negations_agree_with_not_of_the_positive_form() {
        let records = [
            record(),
            Map::new(),
            meta(json!({"user": "bob", "tags": []})),
        ];
        for m in &records {
            for (neg, pos) in [
                (Filter::ne("user", "alice"), Filter::eq("user", "alice")),
                (
                    Filter::not_in("tags", ["work"]),
                    Filter::is_in("tags", ["work"]),
                ),
            ] {
                assert_eq!(neg.matches(m), !pos.matches(m), "{neg:?} on {m:?}");
            }
        }
    }
}
