//! An in-process fake of Pinecone: the control plane's `GET /indexes/{name}`
//! and the data plane of each index under `/data/{name}`, with Pinecone's
//! limits (2 MiB and 1000 records per upsert, 1000 ids per fetch/delete,
//! topK <= 10000, flat null-free metadata, no `$not`) and error bodies.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use plugbay_memory::Filter;
use serde_json::{Map, Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::{body_json, json_response};

/// Pinecone's upsert body limit.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

#[derive(Debug, Clone)]
struct Record {
    values: Vec<f32>,
    metadata: Map<String, Value>,
}

#[derive(Debug)]
struct Index {
    dimension: usize,
    metric: String,
    namespaces: HashMap<String, BTreeMap<String, Record>>,
}

/// Shared state of the fake, inspectable from tests.
#[derive(Debug, Default)]
pub struct PineconeState {
    indexes: HashMap<String, Index>,
    /// Body sizes and record counts of accepted upserts, in order.
    pub upserts: Vec<(usize, usize)>,
    /// Upserts refused for their size or count.
    pub rejected_upserts: usize,
    /// `X-Pinecone-API-Version` of every request.
    pub versions: Vec<Option<String>>,
    /// Control-plane lookups.
    pub describes: usize,
}

impl PineconeState {
    /// Records in a namespace.
    pub fn len(&self, index: &str, namespace: &str) -> usize {
        self.indexes
            .get(index)
            .and_then(|i| i.namespaces.get(namespace))
            .map_or(0, BTreeMap::len)
    }
}

/// The fake's responder. Clones share state.
#[derive(Debug, Clone)]
pub struct PineconeStub {
    /// The state.
    pub state: Arc<Mutex<PineconeState>>,
    /// The server's base URL, for the `host` of index descriptions.
    base: String,
    key: String,
}

fn data_error(status: u16, message: String) -> ResponseTemplate {
    json_response(
        status,
        json!({"code": 3, "message": message, "details": []}),
    )
}

fn control_error(status: u16, code: &str, message: String) -> ResponseTemplate {
    json_response(
        status,
        json!({"error": {"code": code, "message": message}, "status": status}),
    )
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn has_not(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.iter().any(|(k, v)| k == "$not" || has_not(v)),
        Value::Array(items) => items.iter().any(has_not),
        _ => false,
    }
}

fn metadata_error(meta: &Map<String, Value>) -> Option<String> {
    meta.iter().find_map(|(k, v)| {
        let ok = match v {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => true,
            Value::Array(items) => items.iter().all(Value::is_string),
            _ => false,
        };
        (!ok).then(|| format!("Metadata value must be a string, number, boolean or list of strings, got '{v}' for field '{k}'"))
    })
}

impl PineconeStub {
    /// A fake answering as `base` (the mock server's URI) for `key`.
    pub fn new(base: &str, key: &str) -> PineconeStub {
        PineconeStub {
            state: Arc::new(Mutex::new(PineconeState::default())),
            base: base.to_owned(),
            key: key.to_owned(),
        }
    }

    /// Create an index.
    pub fn with_index(self, name: &str, dimension: usize, metric: &str) -> PineconeStub {
        self.state.lock().unwrap().indexes.insert(
            name.to_owned(),
            Index {
                dimension,
                metric: metric.to_owned(),
                namespaces: HashMap::new(),
            },
        );
        self
    }

    fn filter_of(body: &Value) -> Result<Option<Filter>, Box<ResponseTemplate>> {
        match body.get("filter") {
            None | Some(Value::Null) => Ok(None),
            Some(f) if has_not(f) => Err(Box::new(data_error(
                400,
                "Invalid filter: unsupported operator $not".into(),
            ))),
            Some(f) => Filter::from_json(f)
                .map(Some)
                .map_err(|e| Box::new(data_error(400, format!("Invalid filter: {}", e.message())))),
        }
    }

    fn handle(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap();
        let version = request
            .headers
            .get("x-pinecone-api-version")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        state.versions.push(version);
        let key = request.headers.get("api-key").and_then(|v| v.to_str().ok());
        if key != Some(self.key.as_str()) {
            return control_error(401, "UNAUTHENTICATED", "Invalid API Key".into());
        }
        let path = request.url.path().to_owned();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let method = request.method.as_str().to_owned();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["indexes", name]) => {
                state.describes += 1;
                match state.indexes.get(*name) {
                    None => control_error(404, "NOT_FOUND", format!("Resource {name} not found")),
                    Some(i) => json_response(
                        200,
                        json!({
                            "name": name,
                            "dimension": i.dimension,
                            "metric": i.metric,
                            "host": format!("{}/data/{name}", self.base),
                            "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}},
                            "status": {"ready": true, "state": "Ready"},
                            "vector_type": "dense",
                            "deletion_protection": "disabled"
                        }),
                    ),
                }
            }
            (_, ["data", name, rest @ ..]) => {
                let name = (*name).to_owned();
                let rest: Vec<String> = rest.iter().map(|s| (*s).to_owned()).collect();
                let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
                self.data(&mut state, &name, &method, &rest, request)
            }
            _ => control_error(404, "NOT_FOUND", format!("no route {path}")),
        }
    }

    fn data(
        &self,
        state: &mut PineconeState,
        name: &str,
        method: &str,
        rest: &[&str],
        request: &Request,
    ) -> ResponseTemplate {
        if !state.indexes.contains_key(name) {
            return data_error(404, format!("index {name} not found"));
        }
        if method == "POST" && rest == ["vectors", "upsert"] {
            let size = request.body.len();
            let body = body_json(request);
            let vectors = body["vectors"].as_array().cloned().unwrap_or_default();
            if size > MAX_BODY {
                state.rejected_upserts += 1;
                let mb = size.div_ceil(1024 * 1024);
                return data_error(
                    400,
                    format!("Request size {mb}MB exceeds the maximum supported size of 2MB"),
                );
            }
            if vectors.len() > 1000 {
                state.rejected_upserts += 1;
                return data_error(
                    400,
                    format!(
                        "Request contains {} vectors; the maximum is 1000",
                        vectors.len()
                    ),
                );
            }
            state.upserts.push((size, vectors.len()));
            let index = state.indexes.get_mut(name).unwrap();
            let mut staged = Vec::new();
            for v in &vectors {
                let values: Vec<f32> = v["values"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_f64)
                            .map(|x| x as f32)
                            .collect()
                    })
                    .unwrap_or_default();
                if values.len() != index.dimension {
                    return data_error(
                        400,
                        format!(
                            "Vector dimension {} does not match the dimension of the index {}",
                            values.len(),
                            index.dimension
                        ),
                    );
                }
                let metadata = v["metadata"].as_object().cloned().unwrap_or_default();
                if let Some(message) = metadata_error(&metadata) {
                    return data_error(400, message);
                }
                staged.push((
                    v["id"].as_str().unwrap_or_default().to_owned(),
                    Record { values, metadata },
                ));
            }
            let ns = body["namespace"].as_str().unwrap_or_default().to_owned();
            let n = staged.len();
            index.namespaces.entry(ns).or_default().extend(staged);
            return json_response(200, json!({"upsertedCount": n}));
        }
        let index = state.indexes.get_mut(name).unwrap();
        match (method, rest) {
            ("POST", ["query"]) => {
                let body = body_json(request);
                let top_k = body["topK"].as_u64().unwrap_or(0) as usize;
                if top_k == 0 || top_k > 10_000 {
                    return data_error(
                        400,
                        format!("topK must be between 1 and 10000, got {top_k}"),
                    );
                }
                let filter = match Self::filter_of(&body) {
                    Ok(f) => f,
                    Err(response) => return *response,
                };
                let q: Vec<f32> = body["vector"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_f64)
                            .map(|x| x as f32)
                            .collect()
                    })
                    .unwrap_or_default();
                if q.len() != index.dimension {
                    return data_error(
                        400,
                        format!(
                            "Query vector dimension {} does not match the dimension of the index {}",
                            q.len(),
                            index.dimension
                        ),
                    );
                }
                let ns = body["namespace"].as_str().unwrap_or_default();
                let empty = BTreeMap::new();
                let records = index.namespaces.get(ns).unwrap_or(&empty);
                let mut scored: Vec<(f32, &String, &Record)> = records
                    .iter()
                    .filter(|(_, r)| filter.as_ref().is_none_or(|f| f.matches(&r.metadata)))
                    .map(|(id, r)| {
                        let s = match index.metric.as_str() {
                            "cosine" => {
                                let n = (dot(&q, &q) * dot(&r.values, &r.values)).sqrt();
                                if n == 0.0 {
                                    0.0
                                } else {
                                    dot(&q, &r.values) / n
                                }
                            }
                            "euclidean" => r
                                .values
                                .iter()
                                .zip(&q)
                                .map(|(a, b)| (a - b) * (a - b))
                                .sum(),
                            _ => dot(&q, &r.values),
                        };
                        (s, id, r)
                    })
                    .collect();
                if index.metric == "euclidean" {
                    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
                } else {
                    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
                }
                let include_values = body["includeValues"].as_bool().unwrap_or(false);
                let include_metadata = body["includeMetadata"].as_bool().unwrap_or(false);
                let matches: Vec<Value> = scored
                    .into_iter()
                    .take(top_k)
                    .map(|(s, id, r)| {
                        let mut m = json!({"id": id, "score": s});
                        if include_values {
                            m["values"] = json!(r.values);
                        }
                        if include_metadata && !r.metadata.is_empty() {
                            m["metadata"] = Value::Object(r.metadata.clone());
                        }
                        m
                    })
                    .collect();
                json_response(
                    200,
                    json!({"matches": matches, "namespace": ns, "usage": {"readUnits": 5}}),
                )
            }
            ("GET", ["vectors", "fetch"]) => {
                let mut ids = Vec::new();
                let mut ns = String::new();
                for (k, v) in request.url.query_pairs() {
                    match k.as_ref() {
                        "ids" => ids.push(v.into_owned()),
                        "namespace" => ns = v.into_owned(),
                        _ => {}
                    }
                }
                if ids.is_empty() || ids.len() > 1000 {
                    return data_error(
                        400,
                        format!("fetch takes 1 to 1000 ids, got {}", ids.len()),
                    );
                }
                let empty = BTreeMap::new();
                let records = index.namespaces.get(&ns).unwrap_or(&empty);
                let vectors: Map<String, Value> = ids
                    .iter()
                    .filter_map(|id| {
                        records.get(id).map(|r| {
                            let mut v = json!({"id": id, "values": r.values});
                            if !r.metadata.is_empty() {
                                v["metadata"] = Value::Object(r.metadata.clone());
                            }
                            (id.clone(), v)
                        })
                    })
                    .collect();
                json_response(
                    200,
                    json!({"vectors": vectors, "namespace": ns, "usage": {"readUnits": 1}}),
                )
            }
            ("POST", ["vectors", "delete"]) => {
                let body = body_json(request);
                let ns = body["namespace"].as_str().unwrap_or_default().to_owned();
                let filter = match Self::filter_of(&body) {
                    Ok(f) => f,
                    Err(response) => return *response,
                };
                let records = index.namespaces.entry(ns).or_default();
                if body["deleteAll"].as_bool() == Some(true) {
                    records.clear();
                } else if let Some(ids) = body["ids"].as_array() {
                    if ids.len() > 1000 {
                        return data_error(400, "delete takes at most 1000 ids".into());
                    }
                    for id in ids {
                        records.remove(id.as_str().unwrap_or_default());
                    }
                } else if let Some(f) = filter {
                    records.retain(|_, r| !f.matches(&r.metadata));
                } else {
                    return data_error(400, "delete needs ids, filter or deleteAll".into());
                }
                json_response(200, json!({}))
            }
            ("POST", ["describe_index_stats"]) => {
                let namespaces: Map<String, Value> = index
                    .namespaces
                    .iter()
                    .filter(|(_, r)| !r.is_empty())
                    .map(|(ns, r)| (ns.clone(), json!({"vectorCount": r.len()})))
                    .collect();
                let total: usize = index.namespaces.values().map(BTreeMap::len).sum();
                json_response(
                    200,
                    json!({
                        "namespaces": namespaces,
                        "dimension": index.dimension,
                        "indexFullness": 0.0,
                        "totalVectorCount": total,
                        "metric": index.metric,
                        "vectorType": "dense"
                    }),
                )
            }
            _ => data_error(404, format!("no route {method} {rest:?}")),
        }
    }
}

impl Respond for PineconeStub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.handle(request)
    }
}
