//! Reading the model's answer into a plan of changes.
//!
//! Parsing is tolerant of what models really send (code fences, prose
//! around the object, `memories`/`facts` instead of `memory`, numeric ids,
//! lower-case events, bare strings) but strict about what reaches the
//! store: UPDATE and DELETE only under
//! [`ReconcilePolicy::AllowUpdateDelete`] and only for ids that were shown.

use plugbay_core::{Error, ErrorKind, Result};
use serde_json::Value;

use super::ReconcilePolicy;

/// One change the model asked for, with shown ids resolved to their index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// Store a new memory.
    Add(String),
    /// Replace the text of the memory shown at this index.
    Update(usize, String),
    /// Remove the memory shown at this index.
    Delete(usize),
}

/// Parse the reply into actions allowed by `policy`, given how many
/// existing memories were shown.
///
/// # Errors
/// `ErrorKind::Protocol` when the reply is not JSON or has no list of
/// memories or facts. Nothing has been written at that point.
pub(crate) fn parse_reply(
    text: &str,
    shown: usize,
    policy: ReconcilePolicy,
) -> Result<Vec<Action>> {
    let root = parse_json(text)?;
    let entries = entries(&root)
        .ok_or_else(|| protocol("the memory extraction reply has no `memory` or `facts` list"))?;
    let mut actions = Vec::new();
    let mut touched = vec![false; shown];
    for entry in entries {
        let Some(action) = read_entry(entry, shown, policy) else {
            continue;
        };
        // The first decision about an existing memory wins.
        if let Action::Update(i, _) | Action::Delete(i) = &action {
            if touched[*i] {
                continue;
            }
            touched[*i] = true;
        }
        actions.push(action);
    }
    Ok(actions)
}

fn protocol(message: &'static str) -> Error {
    Error::new(ErrorKind::Protocol, message).with_operation("memory_extraction")
}

fn parse_json(text: &str) -> Result<Value> {
    let mut body = text.trim();
    if let Some(rest) = body.strip_prefix("```") {
        body = rest.split_once('\n').map_or("", |(_, after)| after);
        body = body.trim_end().strip_suffix("```").unwrap_or(body).trim();
    }
    if let Ok(value) = serde_json::from_str(body) {
        return Ok(value);
    }
    // Models sometimes wrap the object in prose: try the outermost braces.
    if let (Some(start), Some(end)) = (body.find('{'), body.rfind('}'))
        && start < end
        && let Ok(value) = serde_json::from_str(&body[start..=end])
    {
        return Ok(value);
    }
    Err(protocol("the memory extraction reply is not JSON"))
}

fn entries(root: &Value) -> Option<&Vec<Value>> {
    match root {
        Value::Array(items) => Some(items),
        Value::Object(map) => ["memory", "memories", "facts"]
            .iter()
            .find_map(|key| map.get(*key).and_then(Value::as_array)),
        _ => None,
    }
}

fn read_entry(entry: &Value, shown: usize, policy: ReconcilePolicy) -> Option<Action> {
    let (id, text, event) = match entry {
        Value::String(fact) => (None, Some(fact.trim()), "ADD".to_owned()),
        Value::Object(map) => {
            let id = map.get("id").and_then(shown_index(shown));
            let has_id = map.get("id").is_some_and(|v| !matches!(v, Value::Null));
            let text = ["text", "memory", "fact", "data"]
                .iter()
                .find_map(|k| map.get(*k).and_then(Value::as_str))
                .map(str::trim);
            let event = match map.get("event").and_then(Value::as_str) {
                Some(e) => e.trim().to_ascii_uppercase(),
                // An entry naming an existing memory without an event
                // changes nothing; one without an id is a new fact.
                None if has_id && id.is_some() => "NONE".to_owned(),
                None => "ADD".to_owned(),
            };
            (id, text, event)
        }
        _ => return None,
    };
    let text = text.filter(|t| !t.is_empty()).map(str::to_owned);
    let allow_changes = policy == ReconcilePolicy::AllowUpdateDelete;
    match event.as_str() {
        "ADD" => text.map(Action::Add),
        "UPDATE" if allow_changes => Some(Action::Update(id?, text?)),
        "DELETE" if allow_changes => Some(Action::Delete(id?)),
        _ => None,
    }
}

/// Resolve a shown id (`"0"`, `0`, `" 1 "`) to its index; anything else,
/// including ids that were never shown, resolves to nothing.
fn shown_index(shown: usize) -> impl Fn(&Value) -> Option<usize> {
    move |value| {
        let index = match value {
            Value::String(s) => s.trim().parse::<usize>().ok()?,
            Value::Number(n) => usize::try_from(n.as_u64()?).ok()?,
            _ => return None,
        };
        (index < shown).then_some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOW: ReconcilePolicy = ReconcilePolicy::AllowUpdateDelete;
    const ADD_ONLY: ReconcilePolicy = ReconcilePolicy::AddOnly;

    fn add(text: &str) -> Action {
        Action::Add(text.to_owned())
    }

    #[test]
    fn reads_the_documented_form() {
        let reply = r#"{"memory": [
            {"id": "new", "text": "Likes tea", "event": "ADD"},
            {"id": "0", "text": "Lives in Bergen", "event": "UPDATE"},
            {"id": "1", "text": "Has a cat", "event": "DELETE"},
            {"id": "2", "text": "Is vegan", "event": "NONE"}
        ]}"#;
        let actions = parse_reply(reply, 3, ALLOW).unwrap();
        assert_eq!(
            actions,
            vec![
                add("Likes tea"),
                Action::Update(0, "Lives in Bergen".into()),
                Action::Delete(1)
            ]
        );
    }

    #[test]
    fn add_only_drops_updates_and_deletes() {
        let reply = r#"{"memory": [
            {"id": "0", "text": "Lives in Bergen", "event": "UPDATE"},
            {"id": "1", "text": "", "event": "DELETE"},
            {"id": "new", "text": "Likes tea", "event": "ADD"}
        ]}"#;
        assert_eq!(
            parse_reply(reply, 2, ADD_ONLY).unwrap(),
            vec![add("Likes tea")]
        );
    }

    #[test]
    fn hallucinated_ids_do_nothing() {
        let reply = r#"{"memory": [
            {"id": "7", "text": "x", "event": "UPDATE"},
            {"id": "0d7f-real-looking-uuid", "event": "DELETE"},
            {"id": -1, "event": "DELETE"},
            {"id": 1, "event": "delete"}
        ]}"#;
        assert_eq!(
            parse_reply(reply, 2, ALLOW).unwrap(),
            vec![Action::Delete(1)]
        );
    }

    #[test]
    fn tolerates_fences_prose_aliases_and_strings() {
        let fenced = "```json\n{\"facts\": [\"Likes tea\", \"  \"]}\n```";
        assert_eq!(
            parse_reply(fenced, 0, ADD_ONLY).unwrap(),
            vec![add("Likes tea")]
        );
        let prose =
            "Sure! Here you go: {\"memories\": [{\"memory\": \"Plays chess\"}]} Hope it helps.";
        assert_eq!(
            parse_reply(prose, 0, ADD_ONLY).unwrap(),
            vec![add("Plays chess")]
        );
        let array = r#"[{"text": "Runs", "event": "add"}, 42, null]"#;
        assert_eq!(parse_reply(array, 0, ADD_ONLY).unwrap(), vec![add("Runs")]);
        assert!(
            parse_reply(r#"{"memory": []}"#, 3, ALLOW)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn first_decision_per_memory_wins() {
        let reply = r#"{"memory": [
            {"id": "0", "text": "a", "event": "UPDATE"},
            {"id": "0", "event": "DELETE"},
            {"id": "0", "text": "b", "event": "UPDATE"}
        ]}"#;
        assert_eq!(
            parse_reply(reply, 1, ALLOW).unwrap(),
            vec![Action::Update(0, "a".into())]
        );
    }

    #[test]
    fn an_existing_id_without_event_is_left_alone() {
        let reply = r#"{"memory": [{"id": "0", "text": "Likes tea"}, {"text": "New"}]}"#;
        assert_eq!(parse_reply(reply, 1, ALLOW).unwrap(), vec![add("New")]);
    }

    #[test]
    fn unusable_replies_are_protocol_errors() {
        for bad in [
            "",
            "not json",
            "{\"memory\": \"oops\"}",
            "{\"other\": []}",
            "42",
            "{\"memory\": [}",
        ] {
            let err = parse_reply(bad, 1, ALLOW).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protocol, "{bad:?}");
        }
    }
}
