//! Compiling a [`Filter`] to Pinecone's metadata filter language
//! (`$eq $ne $gt $gte $lt $lte $in $nin $exists $and $or`).
//!
//! Pinecone has no `$not`, so negations are pushed down to the leaves
//! (De Morgan): `Not(Eq)` is `$ne`, `Not(In)` is `$nin`, `Not(Exists)` is
//! `$exists: false`, `Not(And)` an `$or` of negations, and so on. Both
//! languages give `$ne`/`$nin` MongoDB's meaning (a missing key matches),
//! so these are exact.
//!
//! Known gap: `Not(Range)` becomes "key missing, or outside the range";
//! in memory it also matches a key holding a non-number (a string, a
//! boolean, a list), which Pinecone cannot express. Pinecone only stores
//! lists of strings, so list-valued ranges do not arise.

use serde_json::{Value, json};

use crate::filter::Filter;

/// The Pinecone filter for `filter` (assumed validated).
pub(crate) fn compile(filter: &Filter) -> Value {
    positive(filter)
}

fn leaf(key: &str, op: &str, operand: Value) -> Value {
    json!({ key: { op: operand } })
}

fn all_of(mut parts: Vec<Value>) -> Value {
    if parts.len() == 1 {
        parts.pop().unwrap_or(Value::Null)
    } else {
        json!({ "$and": parts })
    }
}

fn any_of(mut parts: Vec<Value>) -> Value {
    if parts.len() == 1 {
        parts.pop().unwrap_or(Value::Null)
    } else {
        json!({ "$or": parts })
    }
}

fn bounds(
    gt: &Option<f64>,
    gte: &Option<f64>,
    lt: &Option<f64>,
    lte: &Option<f64>,
) -> [(&'static str, &'static str, Option<f64>); 4] {
    // (operator, its complement, bound)
    [
        ("$gt", "$lte", *gt),
        ("$gte", "$lt", *gte),
        ("$lt", "$gte", *lt),
        ("$lte", "$gt", *lte),
    ]
}

fn positive(filter: &Filter) -> Value {
    match filter {
        Filter::Eq(key, value) => leaf(key, "$eq", value.clone()),
        Filter::Ne(key, value) => leaf(key, "$ne", value.clone()),
        Filter::In(key, values) => leaf(key, "$in", Value::Array(values.clone())),
        Filter::Nin(key, values) => leaf(key, "$nin", Value::Array(values.clone())),
        Filter::Range {
            key,
            gt,
            gte,
            lt,
            lte,
        } => all_of(
            bounds(gt, gte, lt, lte)
                .iter()
                .filter_map(|(op, _, b)| b.map(|b| leaf(key, op, json!(b))))
                .collect(),
        ),
        Filter::Exists(key) => leaf(key, "$exists", Value::Bool(true)),
        Filter::And(items) => json!({ "$and": items.iter().map(positive).collect::<Vec<_>>() }),
        Filter::Or(items) => json!({ "$or": items.iter().map(positive).collect::<Vec<_>>() }),
        Filter::Not(inner) => negative(inner),
    }
}

fn negative(filter: &Filter) -> Value {
    match filter {
        Filter::Eq(key, value) => leaf(key, "$ne", value.clone()),
        Filter::Ne(key, value) => leaf(key, "$eq", value.clone()),
        Filter::In(key, values) => leaf(key, "$nin", Value::Array(values.clone())),
        Filter::Nin(key, values) => leaf(key, "$in", Value::Array(values.clone())),
        Filter::Range {
            key,
            gt,
            gte,
            lt,
            lte,
        } => {
            let mut parts = vec![leaf(key, "$exists", Value::Bool(false))];
            parts.extend(
                bounds(gt, gte, lt, lte)
                    .iter()
                    .filter_map(|(_, complement, b)| b.map(|b| leaf(key, complement, json!(b)))),
            );
            any_of(parts)
        }
        Filter::Exists(key) => leaf(key, "$exists", Value::Bool(false)),
        Filter::And(items) => json!({ "$or": items.iter().map(negative).collect::<Vec<_>>() }),
        Filter::Or(items) => json!({ "$and": items.iter().map(negative).collect::<Vec<_>>() }),
        Filter::Not(inner) => positive(inner),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;

    #[test]
    fn leaves_use_dollar_operators() {
        assert_eq!(compile(&Filter::eq("g", "x")), json!({"g": {"$eq": "x"}}));
        assert_eq!(
            compile(&Filter::range("y", None, Some(1.0), Some(5.0), None)),
            json!({"$and": [{"y": {"$gte": 1.0}}, {"y": {"$lt": 5.0}}]})
        );
        assert_eq!(
            compile(&Filter::not_in("t", ["a"])),
            json!({"t": {"$nin": ["a"]}})
        );
    }

    #[test]
    fn negations_are_pushed_to_the_leaves() {
        let f = !(Filter::eq("a", 1).and(Filter::exists("b")));
        assert_eq!(
            compile(&f),
            json!({"$or": [{"a": {"$ne": 1}}, {"b": {"$exists": false}}]})
        );
        let f = !(Filter::is_in("a", ["x"]).or(!Filter::ne("b", 2)));
        assert_eq!(
            compile(&f),
            json!({"$and": [{"a": {"$nin": ["x"]}}, {"b": {"$ne": 2}}]})
        );
        assert_eq!(
            compile(&!Filter::gte("n", 3)),
            json!({"$or": [{"n": {"$exists": false}}, {"n": {"$lt": 3.0}}]})
        );
        assert!(!compile(&f).to_string().contains("$not"));
    }

    #[test]
    fn pushed_down_negations_agree_with_the_evaluator() {
        // The compiled JSON is read back with plugbay's own (Mongo-style)
        // parser and must match exactly what the original filter matches.
        let records: Vec<Map<String, Value>> = [
            json!({"a": 1, "b": "x", "n": 5, "t": ["p", "q"]}),
            json!({"a": 2, "n": 1}),
            json!({"b": "y", "t": ["q"]}),
            json!({}),
        ]
        .into_iter()
        .map(|v| v.as_object().cloned().unwrap())
        .collect();
        let filters = [
            !Filter::eq("a", 1),
            !(Filter::eq("a", 1).and(Filter::eq("b", "x"))),
            !(Filter::is_in("t", ["p"]).or(Filter::exists("a"))),
            !!Filter::not_in("b", ["x"]),
            !Filter::range("n", Some(1.0), None, None, Some(5.0)),
        ];
        for f in &filters {
            let back = Filter::from_json(&compile(f)).unwrap();
            for r in &records {
                assert_eq!(back.matches(r), f.matches(r), "{f:?} on {r:?}");
            }
        }
    }
}
