//! Compiling a [`Filter`] to Qdrant's filter language
//! (`must`/`should`/`must_not` over `match`, `range` and `is_empty`
//! conditions), with the in-memory evaluator's semantics.
//!
//! - `Eq` on a string or boolean is `match: {value}`; on a number it is a
//!   closed `range` (`gte == lte == v`), because Qdrant's `match` only takes
//!   integers and plugbay compares numbers as floats (`2` equals `2.0`).
//! - `In` is `match: {any}` for strings, plus one condition per number or
//!   boolean, joined by `should`.
//! - `Ne`/`Nin`/`Not` are `must_not`, which (like plugbay) matches a
//!   missing key. Qdrant's `match: {except}` is not used: it does not
//!   match a missing key.
//! - `Exists(k)` is `must_not: [is_empty k]`. Known gap: Qdrant counts an
//!   empty list as empty, plugbay as present, so `Exists` on a key holding
//!   `[]` is false here and true in memory.
//! - Keys are sent as they are: Qdrant reads `a.b` and `a[]` as nested
//!   paths, so flat keys containing `.` or `[` mean something else here.

use serde_json::{Map, Value, json};

use crate::filter::Filter;

/// The top-level Qdrant filter object for `filter` (assumed validated).
pub(crate) fn compile(filter: &Filter) -> Value {
    let cond = condition(filter);
    let is_filter = cond.as_object().is_some_and(|o| {
        o.contains_key("must") || o.contains_key("should") || o.contains_key("must_not")
    });
    if is_filter {
        cond
    } else {
        json!({ "must": [cond] })
    }
}

fn condition(filter: &Filter) -> Value {
    match filter {
        Filter::Eq(key, value) => equals(key, value),
        Filter::Ne(key, value) => json!({ "must_not": [equals(key, value)] }),
        Filter::In(key, values) => one_of(key, values),
        Filter::Nin(key, values) => json!({ "must_not": [one_of(key, values)] }),
        Filter::Range {
            key,
            gt,
            gte,
            lt,
            lte,
        } => {
            let mut range = Map::new();
            for (name, bound) in [("gt", gt), ("gte", gte), ("lt", lt), ("lte", lte)] {
                if let Some(b) = bound {
                    range.insert(name.to_owned(), json!(b));
                }
            }
            json!({ "key": key, "range": range })
        }
        Filter::Exists(key) => json!({ "must_not": [{ "is_empty": { "key": key } }] }),
        Filter::And(items) => json!({ "must": items.iter().map(condition).collect::<Vec<_>>() }),
        Filter::Or(items) => json!({ "should": items.iter().map(condition).collect::<Vec<_>>() }),
        Filter::Not(inner) => json!({ "must_not": [condition(inner)] }),
    }
}

fn equals(key: &str, value: &Value) -> Value {
    match value.as_f64() {
        Some(n) if value.is_number() => json!({ "key": key, "range": { "gte": n, "lte": n } }),
        _ => json!({ "key": key, "match": { "value": value } }),
    }
}

fn one_of(key: &str, values: &[Value]) -> Value {
    let strings: Vec<&Value> = values.iter().filter(|v| v.is_string()).collect();
    let mut conds = Vec::new();
    if !strings.is_empty() {
        conds.push(json!({ "key": key, "match": { "any": strings } }));
    }
    conds.extend(
        values
            .iter()
            .filter(|v| !v.is_string())
            .map(|v| equals(key, v)),
    );
    if conds.len() == 1 {
        conds.pop().unwrap_or(Value::Null)
    } else {
        json!({ "should": conds })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_compile_to_documented_conditions() {
        assert_eq!(
            compile(&Filter::eq("lang", "en")),
            json!({"must": [{"key": "lang", "match": {"value": "en"}}]})
        );
        assert_eq!(
            compile(&Filter::eq("n", 2)),
            json!({"must": [{"key": "n", "range": {"gte": 2.0, "lte": 2.0}}]})
        );
        assert_eq!(
            compile(&Filter::ne("flag", true)),
            json!({"must_not": [{"key": "flag", "match": {"value": true}}]})
        );
        assert_eq!(
            compile(&Filter::is_in("c", ["a", "b"])),
            json!({"must": [{"key": "c", "match": {"any": ["a", "b"]}}]})
        );
        assert_eq!(
            compile(&Filter::exists("k")),
            json!({"must_not": [{"is_empty": {"key": "k"}}]})
        );
        assert_eq!(
            compile(&Filter::range("y", Some(1.0), None, None, Some(3.0))),
            json!({"must": [{"key": "y", "range": {"gt": 1.0, "lte": 3.0}}]})
        );
    }

    #[test]
    fn mixed_in_lists_and_combinators() {
        assert_eq!(
            compile(&Filter::not_in("v", [json!("a"), json!(1), json!(false)])),
            json!({"must_not": [{"should": [
                {"key": "v", "match": {"any": ["a"]}},
                {"key": "v", "range": {"gte": 1.0, "lte": 1.0}},
                {"key": "v", "match": {"value": false}}
            ]}]})
        );
        let f = Filter::eq("a", "x").or(!Filter::eq("b", "y"));
        assert_eq!(
            compile(&f),
            json!({"should": [
                {"key": "a", "match": {"value": "x"}},
                {"must_not": [{"key": "b", "match": {"value": "y"}}]}
            ]})
        );
    }
}
