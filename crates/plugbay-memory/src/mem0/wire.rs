//! Mem0's JSON shapes and their translation to plugbay types, read
//! tolerantly (bare lists or `{"results": [..]}` envelopes, `memory` or
//! `data.memory`, ISO 8601 or epoch timestamps).

use plugbay_core::{Error, ErrorKind, Result};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::filter::Filter;
use crate::memory::{MemoryEvent, MemoryEventKind, MemoryItem, Scope, text_hash};

/// A memory as Mem0 returns it.
#[derive(Debug, Deserialize)]
pub(crate) struct WireMemory {
    pub(crate) id: String,
    #[serde(default)]
    memory: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    agent_id: Option<String>,
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default)]
    created_at: Option<Value>,
    #[serde(default)]
    updated_at: Option<Value>,
    #[serde(default)]
    pub(crate) score: Option<f32>,
}

impl WireMemory {
    pub(crate) fn into_item(self) -> MemoryItem {
        let text = self.memory.unwrap_or_default();
        let scope = Scope {
            user_id: self.user_id,
            agent_id: self.agent_id,
            run_id: self.run_id,
        };
        let created = self.created_at.as_ref().and_then(time_millis).unwrap_or(0);
        let updated = self
            .updated_at
            .as_ref()
            .and_then(time_millis)
            .unwrap_or(created);
        let mut item = MemoryItem::new(self.id, text.clone(), scope)
            .with_metadata(self.metadata.unwrap_or_default());
        item.hash = self.hash.unwrap_or_else(|| text_hash(&text));
        item.created_at = created;
        item.updated_at = updated;
        item
    }
}

/// The items of a list answer: a bare list, or the list under `results`
/// or `memories`.
pub(crate) fn items(value: Value) -> Result<Vec<Value>> {
    match value {
        Value::Array(items) => Ok(items),
        Value::Object(mut o) => match o.remove("results").or_else(|| o.remove("memories")) {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(Error::new(
                ErrorKind::Protocol,
                "expected a list of memories",
            )),
        },
        _ => Err(Error::new(
            ErrorKind::Protocol,
            "expected a list of memories",
        )),
    }
}

pub(crate) fn memories(value: Value) -> Result<Vec<WireMemory>> {
    items(value)?
        .into_iter()
        .map(|v| {
            serde_json::from_value(v).map_err(|e| {
                Error::new(ErrorKind::Protocol, "a memory without an id").with_source(e)
            })
        })
        .collect()
}

fn event_kind(name: &str) -> Option<MemoryEventKind> {
    match name.to_ascii_uppercase().as_str() {
        "ADD" => Some(MemoryEventKind::Add),
        "UPDATE" => Some(MemoryEventKind::Update),
        "DELETE" => Some(MemoryEventKind::Delete),
        "NONE" | "NOOP" => Some(MemoryEventKind::None),
        _ => None,
    }
}

fn str_at(v: &Value, pointers: &[&str]) -> Option<String> {
    pointers
        .iter()
        .find_map(|p| v.pointer(p).and_then(Value::as_str))
        .map(str::to_owned)
}

/// The changes listed in an add result or a finished event (`NONE` events
/// and entries without an id are dropped).
pub(crate) fn add_events(results: &[Value]) -> Vec<MemoryEvent> {
    results
        .iter()
        .filter_map(|r| {
            let id = str_at(r, &["/id", "/memory_id"])?;
            let kind = event_kind(&str_at(r, &["/event"]).unwrap_or_else(|| "ADD".to_owned()))?;
            if kind == MemoryEventKind::None {
                return None;
            }
            let new = str_at(r, &["/memory", "/data/memory", "/new_memory"]);
            let old = str_at(r, &["/previous_memory", "/old_memory"]);
            let (old, new) = match kind {
                MemoryEventKind::Delete => (old.or(new), None),
                _ => (old, new),
            };
            Some(MemoryEvent::new(id, kind, old, new))
        })
        .collect()
}

/// One entry of `GET /v1/memories/{id}/history/`.
#[derive(Debug, Deserialize)]
pub(crate) struct WireHistory {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    memory_id: Option<String>,
    #[serde(default)]
    old_memory: Option<String>,
    #[serde(default)]
    new_memory: Option<String>,
    event: String,
    #[serde(default)]
    created_at: Option<Value>,
}

impl WireHistory {
    pub(crate) fn into_event(self, memory_id: &str) -> Option<MemoryEvent> {
        let kind = event_kind(&self.event)?;
        let mut event = MemoryEvent::new(
            self.memory_id.unwrap_or_else(|| memory_id.to_owned()),
            kind,
            self.old_memory,
            self.new_memory,
        );
        if let Some(id) = self.id {
            event.id = id;
        }
        if let Some(at) = self.created_at.as_ref().and_then(time_millis) {
            event.at = at;
        }
        Some(event)
    }
}

/// Milliseconds since the epoch from an RFC 3339 / ISO 8601 string (`Z`,
/// an offset or none for UTC, optional fraction) or an epoch number
/// (seconds below 10^11, milliseconds above).
pub(crate) fn time_millis(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => {
            let x = n.as_f64()?;
            if x < 0.0 {
                return None;
            }
            Some(if x < 1e11 {
                (x * 1000.0) as u64
            } else {
                x as u64
            })
        }
        Value::String(s) => parse_iso(s),
        _ => None,
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_iso(s: &str) -> Option<u64> {
    let s = s.trim();
    let num = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if !matches!(s.get(10..11), Some("T" | "t" | " ")) {
        return None;
    }
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = s.get(19..)?;
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.chars().take_while(char::is_ascii_digit).count();
        let ms: String = frac[..digits]
            .chars()
            .chain("000".chars())
            .take(3)
            .collect();
        millis = ms.parse::<i64>().ok()?;
        rest = &frac[digits..];
    }
    let offset_secs = match rest {
        "" | "Z" | "z" => 0,
        tz => {
            let sign = match tz.get(0..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let hh = tz.get(1..3)?.parse::<i64>().ok()?;
            let mm = tz.get(tz.len() - 2..)?.parse::<i64>().ok()?;
            sign * (hh * 3600 + mm * 60)
        }
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_secs;
    u64::try_from(secs * 1000 + millis).ok()
}

/// Mem0 filters for a scope and an optional extra metadata filter:
/// `{"AND": [{"user_id": ..}, .., <metadata filter>]}`.
///
/// # Errors
/// None today; kept fallible for operators Mem0 may not express.
pub(crate) fn filters(scope: &Scope, extra: Option<&Filter>) -> Result<Value> {
    let mut parts: Vec<Value> = scope.pairs().map(|(k, v)| json!({ k: v })).collect();
    if let Some(f) = extra {
        parts.push(metadata_filter(f)?);
    }
    Ok(json!({ "AND": parts }))
}

fn metadata_filter(f: &Filter) -> Result<Value> {
    let meta = |key: &str, cond: Value| json!({"metadata": { key: cond }});
    Ok(match f {
        Filter::Eq(k, v) => meta(k, v.clone()),
        Filter::Ne(k, v) => meta(k, json!({"ne": v})),
        Filter::In(k, vs) => meta(k, json!({"in": vs})),
        Filter::Nin(k, vs) => json!({"NOT": [meta(k, json!({"in": vs}))]}),
        Filter::Range {
            key,
            gt,
            gte,
            lt,
            lte,
        } => {
            let mut ops = Map::new();
            for (name, bound) in [("gt", gt), ("gte", gte), ("lt", lt), ("lte", lte)] {
                if let Some(b) = bound {
                    ops.insert(name.to_owned(), json!(b));
                }
            }
            meta(key, Value::Object(ops))
        }
        Filter::Exists(k) => meta(k, json!("*")),
        Filter::And(items) => {
            json!({"AND": items.iter().map(metadata_filter).collect::<Result<Vec<_>>>()?})
        }
        Filter::Or(items) => {
            json!({"OR": items.iter().map(metadata_filter).collect::<Result<Vec<_>>>()?})
        }
        Filter::Not(inner) => json!({"NOT": [metadata_filter(inner)?]}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(parse_iso("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso("2023-11-07T05:31:56Z"), Some(1_699_335_116_000));
        assert_eq!(parse_iso("2023-11-07T05:31:56.5Z"), Some(1_699_335_116_500));
        assert_eq!(
            parse_iso("2024-07-20T01:03:24.520345-07:00"),
            Some(1_721_462_604_520)
        );
        assert_eq!(parse_iso("2023-11-07"), None);
        assert_eq!(time_millis(&json!(1_699_335_116)), Some(1_699_335_116_000));
        assert_eq!(time_millis(&json!("garbage")), None);
    }

    #[test]
    fn event_results_in_both_shapes() {
        let results = vec![
            json!({"id": "m1", "event": "ADD", "data": {"memory": "Likes tea"}}),
            json!({"id": "m2", "memory": "Lives in Bergen", "event": "UPDATE", "previous_memory": "Lives in Oslo"}),
            json!({"id": "m3", "memory": "Has a cat", "event": "DELETE"}),
            json!({"id": "m4", "memory": "x", "event": "NONE"}),
            json!({"event": "ADD"}),
        ];
        let events = add_events(&results);
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].new_text.as_deref(), Some("Likes tea"));
        assert_eq!(events[1].old_text.as_deref(), Some("Lives in Oslo"));
        assert_eq!(events[2].event, MemoryEventKind::Delete);
        assert_eq!(events[2].old_text.as_deref(), Some("Has a cat"));
        assert_eq!(events[2].new_text, None);
    }

    #[test]
    fn scope_ids_go_inside_filters() {
        let scope = Scope::user("alice").with_run("r1");
        let f = filters(
            &scope,
            Some(&Filter::eq("topic", "food").and(!Filter::exists("x"))),
        )
        .unwrap();
        assert_eq!(
            f,
            json!({"AND": [
                {"user_id": "alice"},
                {"run_id": "r1"},
                {"AND": [{"metadata": {"topic": "food"}}, {"NOT": [{"metadata": {"x": "*"}}]}]}
            ]})
        );
    }

    #[test]
    fn list_envelopes() {
        assert_eq!(items(json!([1])).unwrap().len(), 1);
        assert_eq!(items(json!({"results": [1, 2]})).unwrap().len(), 2);
        assert!(items(json!({"count": 0})).is_err());
        let item = memories(json!([{"id": "m", "memory": "t", "user_id": "u", "created_at": "2023-11-07T05:31:56Z"}]))
            .unwrap()
            .remove(0)
            .into_item();
        assert_eq!(item.text, "t");
        assert_eq!(item.scope, Scope::user("u"));
        assert_eq!(item.created_at, 1_699_335_116_000);
        assert_eq!(item.hash, text_hash("t"));
    }
}
