//! An in-process fake of Qdrant's REST API (the subset plugbay uses), with
//! Qdrant's documented bodies, error shapes and filter semantics.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::{body_json, json_response};

#[derive(Debug, Clone)]
struct Point {
    vector: Vec<f32>,
    payload: Map<String, Value>,
}

#[derive(Debug, Default)]
struct Collection {
    size: usize,
    distance: String,
    points: BTreeMap<String, Point>,
    indexes: Vec<String>,
}

/// Shared state of the fake, inspectable from tests.
#[derive(Debug, Default)]
pub struct QdrantState {
    collections: HashMap<String, Collection>,
    /// `(method, path)` of every request, in order.
    pub requests: Vec<(String, String)>,
}

impl QdrantState {
    /// Payload indexes created on a collection.
    pub fn indexes(&self, collection: &str) -> Vec<String> {
        self.collections
            .get(collection)
            .map(|c| c.indexes.clone())
            .unwrap_or_default()
    }

    /// Stored point ids of a collection.
    pub fn point_ids(&self, collection: &str) -> Vec<String> {
        self.collections
            .get(collection)
            .map(|c| c.points.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Create a collection directly (test setup).
    pub fn seed(&mut self, name: &str, size: usize, distance: &str) {
        self.collections.insert(
            name.to_owned(),
            Collection {
                size,
                distance: distance.to_owned(),
                ..Collection::default()
            },
        );
    }
}

/// The fake server's responder. Clones share state.
#[derive(Debug, Clone, Default)]
pub struct QdrantStub {
    /// The state.
    pub state: Arc<Mutex<QdrantState>>,
    /// When set, requests without this `api-key` get 401.
    pub api_key: Option<String>,
}

fn ok(result: Value) -> ResponseTemplate {
    json_response(
        200,
        json!({"result": result, "status": "ok", "time": 0.000_12}),
    )
}

fn error(status: u16, message: String) -> ResponseTemplate {
    json_response(
        status,
        json!({"status": {"error": message}, "time": 0.000_01}),
    )
}

fn not_found(name: &str) -> ResponseTemplate {
    error(
        404,
        format!("Not found: Collection `{name}` doesn't exist!"),
    )
}

fn valid_point_id(id: &Value) -> bool {
    match id {
        Value::Number(n) => n.as_u64().is_some(),
        Value::String(s) => uuid::Uuid::parse_str(s).is_ok(),
        _ => false,
    }
}

fn id_key(id: &Value) -> String {
    match id {
        Value::String(s) => s.to_lowercase(),
        other => other.to_string(),
    }
}

fn floats(v: &Value) -> Option<Vec<f32>> {
    v.as_array()?
        .iter()
        .map(|x| x.as_f64().map(|f| f as f32))
        .collect()
}

fn normalise(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        v.to_vec()
    } else {
        v.iter().map(|x| x / norm).collect()
    }
}

/// Qdrant's filter semantics: arrays match when any element does;
/// `is_empty` is missing, null or `[]`.
fn filter_matches(filter: &Value, payload: &Map<String, Value>) -> bool {
    let list = |k: &str| {
        filter
            .get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let must = list("must");
    let should = list("should");
    let must_not = list("must_not");
    must.iter().all(|c| condition(c, payload))
        && (should.is_empty() || should.iter().any(|c| condition(c, payload)))
        && !must_not.iter().any(|c| condition(c, payload))
}

fn elements(value: Option<&Value>) -> Vec<&Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v) => vec![v],
    }
}

fn condition(cond: &Value, payload: &Map<String, Value>) -> bool {
    if cond.get("must").is_some() || cond.get("should").is_some() || cond.get("must_not").is_some()
    {
        return filter_matches(cond, payload);
    }
    if let Some(inner) = cond.get("is_empty") {
        let key = inner["key"].as_str().unwrap_or_default();
        return match payload.get(key) {
            None | Some(Value::Null) => true,
            Some(Value::Array(items)) => items.is_empty(),
            Some(_) => false,
        };
    }
    if let Some(inner) = cond.get("is_null") {
        let key = inner["key"].as_str().unwrap_or_default();
        return matches!(payload.get(key), Some(Value::Null));
    }
    let key = cond["key"].as_str().unwrap_or_default();
    let values = elements(payload.get(key));
    if let Some(m) = cond.get("match") {
        if let Some(want) = m.get("value") {
            // Qdrant matches keywords, integers and booleans exactly.
            return values.contains(&want);
        }
        if let Some(Value::Array(any)) = m.get("any") {
            return values.iter().any(|v| any.contains(v));
        }
        return false;
    }
    if let Some(r) = cond.get("range") {
        let bound = |k: &str| r.get(k).and_then(Value::as_f64);
        return values.iter().filter_map(|v| v.as_f64()).any(|x| {
            bound("gt").is_none_or(|b| x > b)
                && bound("gte").is_none_or(|b| x >= b)
                && bound("lt").is_none_or(|b| x < b)
                && bound("lte").is_none_or(|b| x <= b)
        });
    }
    false
}

fn point_json(
    id: &str,
    point: &Point,
    with_payload: &Value,
    with_vector: bool,
    score: Option<f32>,
) -> Value {
    let id_value = uuid::Uuid::parse_str(id)
        .map_or_else(|_| json!(id.parse::<u64>().unwrap_or(0)), |_| json!(id));
    let mut out = json!({"id": id_value, "version": 3});
    match with_payload {
        Value::Bool(true) => out["payload"] = Value::Object(point.payload.clone()),
        Value::Object(sel) => {
            let include: Vec<&str> = sel
                .get("include")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let picked: Map<String, Value> = point
                .payload
                .iter()
                .filter(|(k, _)| include.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            out["payload"] = Value::Object(picked);
        }
        _ => {}
    }
    if with_vector {
        out["vector"] = json!(point.vector);
    }
    if let Some(score) = score {
        out["score"] = json!(score);
    }
    out
}

impl QdrantStub {
    /// A fresh, empty fake.
    pub fn new() -> QdrantStub {
        QdrantStub::default()
    }

    fn handle(&self, request: &Request) -> ResponseTemplate {
        let method = request.method.as_str().to_owned();
        let path = request.url.path().to_owned();
        let mut state = self.state.lock().unwrap();
        state.requests.push((method.clone(), path.clone()));
        if let Some(key) = &self.api_key {
            let sent = request.headers.get("api-key").and_then(|v| v.to_str().ok());
            if sent != Some(key.as_str()) {
                return ResponseTemplate::new(401)
                    .set_body_string("Must provide an API key or an Authorization bearer token");
            }
        }
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let body = body_json(request);
        match (method.as_str(), segments.as_slice()) {
            ("PUT", ["collections", name]) => {
                if state.collections.contains_key(*name) {
                    return error(
                        409,
                        format!("Wrong input: Collection `{name}` already exists!"),
                    );
                }
                let (Some(size), Some(distance)) = (
                    body["vectors"]["size"].as_u64(),
                    body["vectors"]["distance"].as_str(),
                ) else {
                    return error(
                        400,
                        "Format error in JSON body: missing field `vectors`".into(),
                    );
                };
                if !["Cosine", "Dot", "Euclid", "Manhattan"].contains(&distance) {
                    return error(
                        400,
                        format!("Format error in JSON body: unknown variant `{distance}`"),
                    );
                }
                state.seed(name, size as usize, distance);
                ok(json!(true))
            }
            ("GET", ["collections", name]) => match state.collections.get(*name) {
                None => not_found(name),
                Some(c) => ok(json!({
                    "status": "green",
                    "optimizer_status": "ok",
                    "points_count": c.points.len(),
                    "segments_count": 1,
                    "config": {"params": {"vectors": {"size": c.size, "distance": c.distance}, "shard_number": 1}},
                    "payload_schema": {}
                })),
            },
            ("DELETE", ["collections", name]) => {
                ok(json!(state.collections.remove(*name).is_some()))
            }
            ("PUT", ["collections", name, "index"]) => match state.collections.get_mut(*name) {
                None => not_found(name),
                Some(c) => {
                    c.indexes
                        .push(body["field_name"].as_str().unwrap_or_default().to_owned());
                    ok(json!({"operation_id": 1, "status": "completed"}))
                }
            },
            (_, ["collections", name, rest @ ..]) => {
                let Some(c) = state.collections.get_mut(*name) else {
                    return not_found(name);
                };
                Self::points(c, &method, rest, &body)
            }
            _ => error(404, format!("Not found: {path}")),
        }
    }

    fn points(c: &mut Collection, method: &str, rest: &[&str], body: &Value) -> ResponseTemplate {
        let empty = json!({});
        let filter = body.get("filter").unwrap_or(&empty);
        match (method, rest) {
            ("PUT", ["points"]) => {
                let Some(points) = body["points"].as_array() else {
                    return error(
                        400,
                        "Format error in JSON body: missing field `points`".into(),
                    );
                };
                let mut staged = Vec::new();
                for p in points {
                    if !valid_point_id(&p["id"]) {
                        return error(
                            400,
                            format!(
                                "Format error in JSON body: value {} is not a valid point ID",
                                p["id"]
                            ),
                        );
                    }
                    let Some(vector) = floats(&p["vector"]) else {
                        return error(
                            400,
                            "Format error in JSON body: missing field `vector`".into(),
                        );
                    };
                    if vector.len() != c.size {
                        return error(
                            400,
                            format!(
                                "Wrong input: Vector dimension error: expected dim: {}, got {}",
                                c.size,
                                vector.len()
                            ),
                        );
                    }
                    let vector = if c.distance == "Cosine" {
                        normalise(&vector)
                    } else {
                        vector
                    };
                    let payload = p["payload"].as_object().cloned().unwrap_or_default();
                    staged.push((id_key(&p["id"]), Point { vector, payload }));
                }
                c.points.extend(staged);
                ok(json!({"operation_id": 7, "status": "completed"}))
            }
            ("POST", ["points", "query"]) => {
                let Some(query) = floats(&body["query"]) else {
                    return error(
                        400,
                        "Format error in JSON body: expected a dense vector query".into(),
                    );
                };
                if query.len() != c.size {
                    return error(
                        400,
                        format!(
                            "Wrong input: Vector dimension error: expected dim: {}, got {}",
                            c.size,
                            query.len()
                        ),
                    );
                }
                let limit = body["limit"].as_u64().unwrap_or(10) as usize;
                let q = if c.distance == "Cosine" {
                    normalise(&query)
                } else {
                    query
                };
                let mut scored: Vec<(f32, &String, &Point)> = c
                    .points
                    .iter()
                    .filter(|(_, p)| filter_matches(filter, &p.payload))
                    .map(|(id, p)| {
                        let score = match c.distance.as_str() {
                            "Euclid" => p
                                .vector
                                .iter()
                                .zip(&q)
                                .map(|(a, b)| (a - b) * (a - b))
                                .sum::<f32>()
                                .sqrt(),
                            _ => p.vector.iter().zip(&q).map(|(a, b)| a * b).sum(),
                        };
                        (score, id, p)
                    })
                    .collect();
                if c.distance == "Euclid" {
                    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
                } else {
                    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
                }
                let with_payload = body.get("with_payload").cloned().unwrap_or(json!(false));
                let with_vector = body["with_vector"].as_bool().unwrap_or(false);
                let points: Vec<Value> = scored
                    .into_iter()
                    .take(limit)
                    .map(|(s, id, p)| point_json(id, p, &with_payload, with_vector, Some(s)))
                    .collect();
                ok(json!({"points": points}))
            }
            ("POST", ["points"]) => {
                let ids = body["ids"].as_array().cloned().unwrap_or_default();
                let with_payload = body.get("with_payload").cloned().unwrap_or(json!(true));
                let with_vector = body["with_vector"].as_bool().unwrap_or(false);
                let found: Vec<Value> = ids
                    .iter()
                    .filter_map(|id| {
                        let key = id_key(id);
                        c.points
                            .get(&key)
                            .map(|p| point_json(&key, p, &with_payload, with_vector, None))
                    })
                    .collect();
                ok(json!(found))
            }
            ("POST", ["points", "delete"]) => {
                if let Some(ids) = body["points"].as_array() {
                    for id in ids {
                        c.points.remove(&id_key(id));
                    }
                } else if body.get("filter").is_some() {
                    c.points.retain(|_, p| !filter_matches(filter, &p.payload));
                } else {
                    return error(
                        400,
                        "Format error in JSON body: expected points or filter".into(),
                    );
                }
                ok(json!({"operation_id": 8, "status": "completed"}))
            }
            ("POST", ["points", "count"]) => {
                let n = c
                    .points
                    .values()
                    .filter(|p| filter_matches(filter, &p.payload))
                    .count();
                ok(json!({"count": n}))
            }
            ("POST", ["points", "scroll"]) => {
                let limit = body["limit"].as_u64().unwrap_or(10) as usize;
                let offset = body.get("offset").map(id_key);
                let with_payload = body.get("with_payload").cloned().unwrap_or(json!(true));
                let with_vector = body["with_vector"].as_bool().unwrap_or(false);
                let mut matching = c
                    .points
                    .iter()
                    .filter(|(id, _)| offset.as_ref().is_none_or(|o| *id >= o))
                    .filter(|(_, p)| filter_matches(filter, &p.payload));
                let page: Vec<Value> = matching
                    .by_ref()
                    .take(limit)
                    .map(|(id, p)| point_json(id, p, &with_payload, with_vector, None))
                    .collect();
                let next = matching.next().map(|(id, _)| json!(id));
                ok(json!({"points": page, "next_page_offset": next}))
            }
            _ => error(404, "Not found".into()),
        }
    }
}

impl Respond for QdrantStub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.handle(request)
    }
}
