//! The public JSON form of a [`Filter`] (MongoDB/Pinecone style).

use plugbay_core::Result;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::{Filter, invalid};

impl Filter {
    /// Parse the public JSON form and [validate](Filter::validate) it.
    ///
    /// The form is the MongoDB/Pinecone one:
    ///
    /// - `{"k": v}` with a scalar `v` is `Eq`;
    /// - `{"k": {"$eq": v}}`, `$ne`, `$in: [..]`, `$nin: [..]`,
    ///   `$gt`/`$gte`/`$lt`/`$lte: number` (several on one key form one
    ///   `Range`), `$exists: true|false` (`false` is `Not(Exists)`);
    ///   several operators on one key are and-ed;
    /// - `{"$and": [..]}`, `{"$or": [..]}`, `{"$not": {..}}`;
    /// - several keys in one object are and-ed.
    ///
    /// ```
    /// use plugbay_memory::Filter;
    /// use serde_json::json;
    ///
    /// let f = Filter::from_json(&json!({
    ///     "user_id": "alice",
    ///     "year": {"$gte": 2020, "$lt": 2025},
    ///     "$or": [{"tag": {"$in": ["a", "b"]}}, {"pinned": {"$exists": true}}]
    /// })).unwrap();
    /// assert_eq!(Filter::from_json(&f.to_json()).unwrap(), f);
    /// ```
    ///
    /// # Errors
    /// `ErrorKind::InvalidInput` for an unknown operator, a wrongly typed
    /// operand, an empty object and anything [`Filter::validate`] rejects.
    pub fn from_json(value: &Value) -> Result<Filter> {
        let filter = parse_object(value)?;
        filter.validate()?;
        Ok(filter)
    }

    /// The canonical JSON form: every leaf uses an explicit operator
    /// (`{"k": {"$eq": v}}`) and combinators use `$and`/`$or`/`$not`.
    /// [`Filter::from_json`] reads it back to an equal filter.
    pub fn to_json(&self) -> Value {
        match self {
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
            } => {
                let mut ops = Map::new();
                for (name, bound) in [("$gt", gt), ("$gte", gte), ("$lt", lt), ("$lte", lte)] {
                    if let Some(b) = bound {
                        ops.insert(name.to_owned(), json!(b));
                    }
                }
                json!({ key.clone(): ops })
            }
            Filter::Exists(key) => leaf(key, "$exists", Value::Bool(true)),
            Filter::And(items) => {
                json!({"$and": items.iter().map(Filter::to_json).collect::<Vec<_>>()})
            }
            Filter::Or(items) => {
                json!({"$or": items.iter().map(Filter::to_json).collect::<Vec<_>>()})
            }
            Filter::Not(inner) => json!({"$not": inner.to_json()}),
        }
    }
}

fn leaf(key: &str, op: &str, operand: Value) -> Value {
    json!({ key: { op: operand } })
}

fn parse_object(value: &Value) -> Result<Filter> {
    let Value::Object(map) = value else {
        return Err(invalid("a filter must be a JSON object".to_owned()));
    };
    if map.is_empty() {
        return Err(invalid("empty filter object".to_owned()));
    }
    let mut parts = Vec::with_capacity(map.len());
    for (key, operand) in map {
        match key.as_str() {
            "$and" => parts.push(Filter::And(parse_list(key, operand)?)),
            "$or" => parts.push(Filter::Or(parse_list(key, operand)?)),
            "$not" => parts.push(Filter::Not(Box::new(parse_object(operand)?))),
            op if op.starts_with('$') => {
                return Err(invalid(format!("unknown top-level filter operator `{op}`")));
            }
            field => parts.extend(parse_field(field, operand)?),
        }
    }
    Ok(collapse(parts))
}

fn parse_list(op: &str, operand: &Value) -> Result<Vec<Filter>> {
    let Value::Array(items) = operand else {
        return Err(invalid(format!("`{op}` takes a list of filters")));
    };
    items.iter().map(parse_object).collect()
}

fn parse_field(key: &str, operand: &Value) -> Result<Vec<Filter>> {
    let ops = match operand {
        Value::Object(ops) => ops,
        scalar => return Ok(vec![Filter::Eq(key.to_owned(), scalar.clone())]),
    };
    if ops.is_empty() {
        return Err(invalid(format!("filter on `{key}` has no operator")));
    }
    let mut parts = Vec::new();
    let (mut gt, mut gte, mut lt, mut lte) = (None, None, None, None);
    for (op, arg) in ops {
        match op.as_str() {
            "$eq" => parts.push(Filter::Eq(key.to_owned(), arg.clone())),
            "$ne" => parts.push(Filter::Ne(key.to_owned(), arg.clone())),
            "$in" => parts.push(Filter::In(key.to_owned(), values(key, op, arg)?)),
            "$nin" => parts.push(Filter::Nin(key.to_owned(), values(key, op, arg)?)),
            "$gt" => gt = Some(number(key, op, arg)?),
            "$gte" => gte = Some(number(key, op, arg)?),
            "$lt" => lt = Some(number(key, op, arg)?),
            "$lte" => lte = Some(number(key, op, arg)?),
            "$exists" => match arg {
                Value::Bool(true) => parts.push(Filter::Exists(key.to_owned())),
                Value::Bool(false) => parts.push(!Filter::Exists(key.to_owned())),
                _ => return Err(invalid(format!("`$exists` on `{key}` takes a boolean"))),
            },
            other => {
                return Err(invalid(format!(
                    "unknown filter operator `{other}` on `{key}`"
                )));
            }
        }
    }
    if gt.is_some() || gte.is_some() || lt.is_some() || lte.is_some() {
        parts.push(Filter::range(key, gt, gte, lt, lte));
    }
    Ok(parts)
}

fn values(key: &str, op: &str, arg: &Value) -> Result<Vec<Value>> {
    match arg {
        Value::Array(items) => Ok(items.clone()),
        _ => Err(invalid(format!("`{op}` on `{key}` takes a list"))),
    }
}

fn number(key: &str, op: &str, arg: &Value) -> Result<f64> {
    arg.as_f64()
        .ok_or_else(|| invalid(format!("`{op}` on `{key}` takes a number")))
}

fn collapse(mut parts: Vec<Filter>) -> Filter {
    if parts.len() == 1
        && let Some(only) = parts.pop()
    {
        return only;
    }
    Filter::And(parts)
}

impl Serialize for Filter {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Filter, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Filter::from_json(&value).map_err(|e| D::Error::custom(e.message()))
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;

    fn parse(v: Value) -> Filter {
        Filter::from_json(&v).unwrap()
    }

    #[test]
    fn shorthand_and_explicit_operators() {
        assert_eq!(parse(json!({"a": "x"})), Filter::eq("a", "x"));
        assert_eq!(parse(json!({"a": {"$eq": 1}})), Filter::eq("a", 1));
        assert_eq!(parse(json!({"a": {"$ne": true}})), Filter::ne("a", true));
        assert_eq!(
            parse(json!({"a": {"$in": ["x", "y"]}})),
            Filter::is_in("a", ["x", "y"])
        );
        assert_eq!(parse(json!({"a": {"$nin": [1]}})), Filter::not_in("a", [1]));
        assert_eq!(parse(json!({"a": {"$exists": true}})), Filter::exists("a"));
        assert_eq!(
            parse(json!({"a": {"$exists": false}})),
            !Filter::exists("a")
        );
    }

    #[test]
    fn range_operators_on_one_key_merge() {
        assert_eq!(
            parse(json!({"y": {"$gte": 2020, "$lt": 2025.5}})),
            Filter::range("y", None, Some(2020.0), Some(2025.5), None)
        );
        assert_eq!(parse(json!({"y": {"$gt": 1}})), Filter::gt("y", 1));
        assert_eq!(parse(json!({"y": {"$lte": 1}})), Filter::lte("y", 1));
    }

    #[test]
    fn several_keys_and_combinators() {
        let f = parse(json!({
            "$or": [{"a": 1}, {"$not": {"b": {"$in": [2, 3]}}}],
            "c": "z"
        }));
        let Filter::And(items) = &f else {
            panic!("expected And, got {f:?}");
        };
        assert_eq!(items.len(), 2);
        assert!(items.contains(&Filter::eq("c", "z")));
        assert!(items.contains(&Filter::any([
            Filter::eq("a", 1),
            !Filter::is_in("b", [2, 3])
        ])));
    }

    #[test]
    fn canonical_json_round_trips() {
        let f = Filter::all([
            Filter::eq("a", "x"),
            Filter::ne("b", 2),
            Filter::is_in("c", [true]),
            Filter::not_in("d", ["p", "q"]),
            Filter::range("e", Some(1.0), None, None, Some(5.0)),
            Filter::any([Filter::exists("f"), !Filter::exists("g")]),
        ]);
        let text = serde_json::to_string(&f).unwrap();
        let back: Filter = serde_json::from_str(&text).unwrap();
        assert_eq!(back, f);
        assert_eq!(
            Filter::eq("a", 1).to_json(),
            json!({"a": {"$eq": 1}}),
            "leaves use explicit operators"
        );
    }

    #[test]
    fn rejects_malformed_json() {
        let bad = [
            json!("a"),
            json!({}),
            json!({"a": {}}),
            json!({"a": {"$regex": "x"}}),
            json!({"$nor": []}),
            json!({"$and": []}),
            json!({"$and": {"a": 1}}),
            json!({"a": {"$in": "x"}}),
            json!({"a": {"$in": []}}),
            json!({"a": {"$gt": "2020"}}),
            json!({"a": {"$exists": 1}}),
            json!({"a": null}),
            json!({"a": [1, 2]}),
        ];
        for v in bad {
            let err = Filter::from_json(&v).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{v}");
        }
        assert!(serde_json::from_value::<Filter>(json!({"a": {"$bogus": 1}})).is_err());
    }
}
