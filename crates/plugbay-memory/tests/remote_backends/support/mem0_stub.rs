//! An in-process fake of the Mem0 platform API: v3 add with asynchronous
//! events, v3 search and list (scoping ids only inside `filters`), per-memory
//! get/update/delete/history and ping, with Mem0's error bodies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use plugbay_memory::memory::text_hash;
use serde_json::{Map, Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::{body_json, json_response};

const ENTITY_KEYS: [&str; 4] = ["user_id", "agent_id", "run_id", "app_id"];

#[derive(Debug, Clone)]
struct Mem {
    id: String,
    memory: String,
    entities: Map<String, Value>,
    metadata: Map<String, Value>,
    hash: String,
    created_at: String,
    updated_at: String,
}

impl Mem {
    fn to_json(&self, score: Option<f64>) -> Value {
        let mut v = json!({
            "id": self.id,
            "memory": self.memory,
            "hash": self.hash,
            "metadata": self.metadata,
            "categories": [],
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        });
        for key in ENTITY_KEYS {
            v[key] = self.entities.get(key).cloned().unwrap_or(Value::Null);
        }
        if let Some(s) = score {
            v["score"] = json!(s);
        }
        v
    }
}

#[derive(Debug)]
struct Event {
    polls_left: u32,
    results: Vec<Value>,
}

/// Shared state of the fake.
#[derive(Debug, Default)]
pub struct Mem0State {
    memories: Vec<Mem>,
    history: HashMap<String, Vec<Value>>,
    events: HashMap<String, Event>,
    /// PENDING answers an event gives before it finishes.
    pub pending_polls: u32,
    /// Events finish as FAILED.
    pub fail_events: bool,
    /// Events never finish.
    pub stuck_events: bool,
    /// Bodies of add requests.
    pub adds: Vec<Value>,
    /// Bodies of search requests.
    pub searches: Vec<Value>,
    /// Event polls answered.
    pub polls: usize,
    clock: u64,
}

/// The fake's responder. Clones share state.
#[derive(Debug, Clone, Default)]
pub struct Mem0Stub {
    /// The state.
    pub state: Arc<Mutex<Mem0State>>,
}

fn bad_request(message: &str) -> ResponseTemplate {
    json_response(
        400,
        json!({"error": "400 Bad Request", "details": {"message": message}}),
    )
}

fn not_found() -> ResponseTemplate {
    json_response(404, json!({"detail": "Not found."}))
}

fn matches_entity(want: &Value, have: Option<&Value>) -> bool {
    match (want, have) {
        (Value::String(s), Some(h)) if s == "*" => !h.is_null(),
        (w, Some(h)) => w == h,
        _ => false,
    }
}

fn metadata_cond(cond: &Value, have: Option<&Value>) -> bool {
    let elements: Vec<&Value> = match have {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v) => vec![v],
    };
    let num_eq = |a: &Value, b: &Value| match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    };
    match cond {
        Value::String(s) if s == "*" => !elements.is_empty(),
        Value::Object(ops) => ops.iter().all(|(op, arg)| match op.as_str() {
            "in" => elements.iter().any(|e| {
                arg.as_array()
                    .is_some_and(|a| a.iter().any(|x| num_eq(e, x)))
            }),
            "ne" => !elements.iter().any(|e| num_eq(e, arg)),
            "gt" | "gte" | "lt" | "lte" => elements.iter().filter_map(|e| e.as_f64()).any(|x| {
                let b = arg.as_f64().unwrap_or(f64::NAN);
                match op.as_str() {
                    "gt" => x > b,
                    "gte" => x >= b,
                    "lt" => x < b,
                    _ => x <= b,
                }
            }),
            _ => false,
        }),
        scalar => elements.iter().any(|e| num_eq(e, scalar)),
    }
}

fn filter_matches(f: &Value, m: &Mem) -> bool {
    let Some(obj) = f.as_object() else {
        return false;
    };
    obj.iter().all(|(key, arg)| match key.as_str() {
        "AND" => arg
            .as_array()
            .is_some_and(|a| a.iter().all(|x| filter_matches(x, m))),
        "OR" => arg
            .as_array()
            .is_some_and(|a| a.iter().any(|x| filter_matches(x, m))),
        "NOT" => arg
            .as_array()
            .is_some_and(|a| !a.iter().any(|x| filter_matches(x, m))),
        "metadata" => arg.as_object().is_some_and(|conds| {
            conds
                .iter()
                .all(|(k, c)| metadata_cond(c, m.metadata.get(k)))
        }),
        k if ENTITY_KEYS.contains(&k) => matches_entity(arg, m.entities.get(k)),
        _ => false,
    })
}

fn has_entity(f: &Value) -> bool {
    match f {
        Value::Object(o) => o
            .iter()
            .any(|(k, v)| ENTITY_KEYS.contains(&k.as_str()) || has_entity(v)),
        Value::Array(items) => items.iter().any(has_entity),
        _ => false,
    }
}

fn words(text: &str) -> std::collections::HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
        .map(str::to_lowercase)
        .collect()
}

impl Mem0Stub {
    /// A fresh fake whose events finish on the first poll.
    pub fn new() -> Mem0Stub {
        Mem0Stub::default()
    }

    fn handle(&self, request: &Request) -> ResponseTemplate {
        let auth = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if auth != Some("Token m0-test") {
            return json_response(401, json!({"detail": "Invalid API key"}));
        }
        let mut st = self.state.lock().unwrap();
        st.clock += 1;
        let now = format!(
            "2025-01-01T00:00:{:02}.{:03}Z",
            (st.clock / 1000) % 60,
            st.clock % 1000
        );
        let path = request.url.path().to_owned();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let body = body_json(request);
        match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["v1", "ping"]) => json_response(
                200,
                json!({"status": "ok", "message": "pong", "user_email": "t@example.com"}),
            ),
            ("POST", ["v3", "memories", "add"]) => {
                st.adds.push(body.clone());
                let Some(messages) = body["messages"].as_array().filter(|m| !m.is_empty()) else {
                    return bad_request("messages is required");
                };
                let entities: Map<String, Value> = ENTITY_KEYS
                    .iter()
                    .filter_map(|k| {
                        body.get(*k)
                            .filter(|v| v.is_string())
                            .map(|v| ((*k).to_owned(), v.clone()))
                    })
                    .collect();
                if entities.is_empty() {
                    return bad_request(
                        "At least one of user_id, agent_id, app_id or run_id is required",
                    );
                }
                let metadata = body["metadata"].as_object().cloned().unwrap_or_default();
                let mut results = Vec::new();
                for m in messages.iter().filter(|m| m["role"] == "user") {
                    let text = m["content"].as_str().unwrap_or_default().trim().to_owned();
                    let hash = text_hash(&text);
                    if st
                        .memories
                        .iter()
                        .any(|x| x.hash == hash && x.entities == entities)
                    {
                        continue;
                    }
                    let id = uuid::Uuid::new_v4().to_string();
                    st.memories.push(Mem {
                        id: id.clone(),
                        memory: text.clone(),
                        entities: entities.clone(),
                        metadata: metadata.clone(),
                        hash,
                        created_at: now.clone(),
                        updated_at: now.clone(),
                    });
                    st.history.entry(id.clone()).or_default().push(json!({
                        "id": uuid::Uuid::new_v4().to_string(), "memory_id": id, "input": messages,
                        "old_memory": null, "new_memory": text, "user_id": entities.get("user_id"),
                        "event": "ADD", "metadata": {}, "created_at": now, "updated_at": now
                    }));
                    results.push(json!({"id": id, "event": "ADD", "data": {"memory": text}}));
                }
                let event_id = uuid::Uuid::new_v4().to_string();
                let polls_left = st.pending_polls;
                st.events.insert(
                    event_id.clone(),
                    Event {
                        polls_left,
                        results,
                    },
                );
                json_response(
                    200,
                    json!({
                        "message": "Memory processing has been queued for background execution",
                        "status": "PENDING",
                        "event_id": event_id
                    }),
                )
            }
            ("GET", ["v1", "event", id]) => {
                st.polls += 1;
                let (fail, stuck) = (st.fail_events, st.stuck_events);
                let Some(event) = st.events.get_mut(*id) else {
                    return not_found();
                };
                let status = if stuck || event.polls_left > 0 {
                    event.polls_left = event.polls_left.saturating_sub(1);
                    "PENDING"
                } else if fail {
                    "FAILED"
                } else {
                    "SUCCEEDED"
                };
                let results = if status == "SUCCEEDED" {
                    json!(event.results)
                } else {
                    json!([])
                };
                json_response(
                    200,
                    json!({
                        "id": id, "event_type": "ADD", "status": status, "payload": {}, "metadata": {},
                        "results": results, "created_at": now, "updated_at": now, "latency": 12.5
                    }),
                )
            }
            ("POST", ["v3", "memories", "search"]) => {
                st.searches.push(body.clone());
                if ENTITY_KEYS.iter().any(|k| body.get(*k).is_some()) {
                    return bad_request(
                        "Entity IDs (user_id, agent_id, app_id, run_id) must be passed inside filters",
                    );
                }
                let filters = body.get("filters").cloned().unwrap_or(Value::Null);
                if !has_entity(&filters) {
                    return bad_request(
                        "filters must include at least one of user_id, agent_id, app_id, run_id",
                    );
                }
                let query = body["query"].as_str().unwrap_or_default();
                let top_k = body["top_k"].as_u64().unwrap_or(10) as usize;
                if !(1..=1000).contains(&top_k) {
                    return bad_request("top_k must be between 1 and 1000");
                }
                let threshold = body["threshold"].as_f64().unwrap_or(0.1);
                let q = words(query);
                let mut hits: Vec<(f64, &Mem)> = st
                    .memories
                    .iter()
                    .filter(|m| filter_matches(&filters, m))
                    .map(|m| {
                        let d = words(&m.memory);
                        let common = q.intersection(&d).count() as f64;
                        let score = if q.is_empty() || d.is_empty() {
                            0.0
                        } else {
                            common / ((q.len() * d.len()) as f64).sqrt()
                        };
                        (score, m)
                    })
                    .filter(|(s, _)| *s >= threshold)
                    .collect();
                hits.sort_by(|a, b| b.0.total_cmp(&a.0));
                let results: Vec<Value> = hits
                    .into_iter()
                    .take(top_k)
                    .map(|(s, m)| m.to_json(Some(s)))
                    .collect();
                json_response(200, json!({"results": results}))
            }
            ("POST", ["v3", "memories"]) => {
                let q: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
                let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let size: usize = q
                    .get("page_size")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(100);
                if page < 1 || !(1..=200).contains(&size) {
                    return bad_request("page must be >= 1 and page_size between 1 and 200");
                }
                if ENTITY_KEYS.iter().any(|k| body.get(*k).is_some()) {
                    return bad_request("Entity IDs must be passed inside filters");
                }
                let filters = body.get("filters").cloned().unwrap_or(Value::Null);
                if !has_entity(&filters) {
                    return bad_request("filters must include at least one entity ID");
                }
                let all: Vec<&Mem> = st
                    .memories
                    .iter()
                    .filter(|m| filter_matches(&filters, m))
                    .collect();
                let results: Vec<Value> = all
                    .iter()
                    .skip((page - 1) * size)
                    .take(size)
                    .map(|m| m.to_json(None))
                    .collect();
                let url = |p: usize| {
                    format!("https://api.mem0.ai/v3/memories/?page={p}&page_size={size}")
                };
                let next = (page * size < all.len()).then(|| url(page + 1));
                let previous = (page > 1).then(|| url(page - 1));
                json_response(
                    200,
                    json!({"count": all.len(), "next": next, "previous": previous, "results": results}),
                )
            }
            (verb, ["v1", "memories", id]) => {
                let Some(pos) = st.memories.iter().position(|m| m.id == *id) else {
                    return not_found();
                };
                match verb {
                    "GET" => json_response(200, st.memories[pos].to_json(None)),
                    "PUT" => {
                        let Some(text) = body["text"].as_str() else {
                            return bad_request("text is required");
                        };
                        let old = st.memories[pos].memory.clone();
                        let m = &mut st.memories[pos];
                        m.memory = text.to_owned();
                        m.hash = text_hash(text);
                        m.updated_at = now.clone();
                        let user = m.entities.get("user_id").cloned();
                        st.history.entry((*id).to_owned()).or_default().push(json!({
                            "id": uuid::Uuid::new_v4().to_string(), "memory_id": id, "input": [],
                            "old_memory": old, "new_memory": text, "user_id": user,
                            "event": "UPDATE", "metadata": {}, "created_at": now, "updated_at": now
                        }));
                        json_response(200, json!({"message": "Memory updated successfully!"}))
                    }
                    "DELETE" => {
                        let m = st.memories.remove(pos);
                        st.history.entry((*id).to_owned()).or_default().push(json!({
                            "id": uuid::Uuid::new_v4().to_string(), "memory_id": id, "input": [],
                            "old_memory": m.memory, "new_memory": null, "user_id": m.entities.get("user_id"),
                            "event": "DELETE", "metadata": {}, "created_at": now, "updated_at": now
                        }));
                        json_response(200, json!({"message": "Memory deleted successfully!"}))
                    }
                    _ => json_response(405, json!({"detail": "Method not allowed."})),
                }
            }
            ("GET", ["v1", "memories", id, "history"]) => {
                json_response(200, json!(st.history.get(*id).cloned().unwrap_or_default()))
            }
            _ => not_found(),
        }
    }
}

impl Respond for Mem0Stub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.handle(request)
    }
}
