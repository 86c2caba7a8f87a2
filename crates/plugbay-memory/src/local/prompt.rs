//! The extraction prompt of [`LocalMemory`](super::LocalMemory).
//!
//! One request carries the conversation and the closest existing memories.
//! Existing memories are shown with their ids remapped to `"0"`, `"1"`, ...
//! so the model never sees (and cannot mangle or invent) real ids: an id
//! that was not shown maps to nothing.

use plugbay_llm::{ChatRequest, Message, ResponseFormat, Role};
use serde_json::{Value, json};

use crate::memory::MemoryItem;

use super::ReconcilePolicy;

const INTRO: &str = "You maintain the long-term memory of an assistant. From the \
conversation, extract short, self-contained facts worth remembering about the user and \
their world: preferences, personal details, plans, relationships, decisions and anything \
they ask to be remembered. Ignore greetings, small talk and questions that reveal nothing.

You are also given the existing memories that look related, each as {\"id\", \"text\"}. \
Compare every new fact with them and answer with ONE JSON object and nothing else:
{\"memory\": [{\"id\": \"<id>\", \"text\": \"<fact>\", \"event\": \"<EVENT>\"}]}";

const EVENTS_ADD_ONLY: &str = "Events:
- ADD: a new fact no existing memory states. Use \"id\": \"new\".
- NONE: an existing memory that is already right. You may leave these out.
Only ADD and NONE are allowed: never change or remove an existing memory. If a fact \
refines or contradicts one, ADD the new fact as its own memory.";

const EVENTS_UPDATE_DELETE: &str = "Events:
- ADD: a new fact no existing memory states. Use \"id\": \"new\".
- UPDATE: an existing memory that the conversation refines or corrects. Keep its id and \
give the complete new text.
- DELETE: an existing memory the conversation shows to be wrong or no longer true. Keep \
its id.
- NONE: an existing memory that is already right. You may leave these out.";

const RULES: &str = "Rules:
- Use only ids from the existing memories for UPDATE, DELETE and NONE; never invent ids.
- Do not ADD a fact an existing memory already states.
- Write each fact as one short sentence in the language of the conversation.
- If nothing is worth remembering, answer {\"memory\": []}.";

/// The system prompt for a policy.
pub(crate) fn system_prompt(policy: ReconcilePolicy) -> String {
    let events = match policy {
        ReconcilePolicy::AddOnly => EVENTS_ADD_ONLY,
        ReconcilePolicy::AllowUpdateDelete => EVENTS_UPDATE_DELETE,
    };
    format!("{INTRO}\n\n{events}\n\n{RULES}")
}

/// The conversation as `(role, text)` pairs, leaving out empty messages and
/// system prompts (instructions to the assistant, not facts about the user).
pub(crate) fn conversation(messages: &[Message]) -> Vec<(&'static str, String)> {
    messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| (m.role.as_str(), m.text().trim().to_owned()))
        .filter(|(_, text)| !text.is_empty())
        .collect()
}

/// The extraction request: JSON mode (a strict schema when the model
/// supports one), temperature 0, existing memories under remapped ids.
pub(crate) fn extraction_request(
    turns: &[(&'static str, String)],
    shown: &[MemoryItem],
    policy: ReconcilePolicy,
    json_schema: bool,
) -> ChatRequest {
    let existing: Vec<Value> = shown
        .iter()
        .enumerate()
        .map(|(i, item)| json!({"id": i.to_string(), "text": item.text}))
        .collect();
    let turns: Vec<Value> = turns
        .iter()
        .map(|(role, text)| json!({"role": role, "content": text}))
        .collect();
    let user = format!(
        "Existing memories (JSON):\n{}\n\nConversation (JSON, oldest first):\n{}",
        Value::Array(existing),
        Value::Array(turns)
    );
    let format = if json_schema {
        ResponseFormat::json_schema("memory_changes", schema(policy))
    } else {
        ResponseFormat::JsonObject
    };
    ChatRequest::new(vec![
        Message::system(system_prompt(policy)),
        Message::user(user),
    ])
    .response_format(format)
    .temperature(0.0)
}

fn schema(policy: ReconcilePolicy) -> Value {
    let events: &[&str] = match policy {
        ReconcilePolicy::AddOnly => &["ADD", "NONE"],
        ReconcilePolicy::AllowUpdateDelete => &["ADD", "UPDATE", "DELETE", "NONE"],
    };
    json!({
        "type": "object",
        "properties": {
            "memory": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "text": {"type": "string"},
                        "event": {"type": "string", "enum": events}
                    },
                    "required": ["id", "text", "event"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["memory"],
        "additionalProperties": false
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Scope;

    #[test]
    fn request_shows_remapped_ids_and_the_conversation() {
        let shown = vec![
            MemoryItem::new("real-id-aaa", "Likes tea", Scope::user("u")),
            MemoryItem::new("real-id-bbb", "Lives in Oslo", Scope::user("u")),
        ];
        let turns = conversation(&[
            Message::system("be nice"),
            Message::user("I moved to Bergen"),
            Message::assistant("  "),
        ]);
        assert_eq!(turns, vec![("user", "I moved to Bergen".to_owned())]);
        let req = extraction_request(&turns, &shown, ReconcilePolicy::AllowUpdateDelete, false);
        assert_eq!(req.response_format, Some(ResponseFormat::JsonObject));
        let user = req.messages[1].text().into_owned();
        assert!(user.contains(r#"{"id":"0","text":"Likes tea"}"#), "{user}");
        assert!(
            user.contains(r#"{"id":"1","text":"Lives in Oslo"}"#),
            "{user}"
        );
        assert!(user.contains("I moved to Bergen"));
        assert!(!user.contains("real-id"));
        assert!(!user.contains("be nice"));
        assert!(req.messages[0].text().contains("UPDATE"));
    }

    #[test]
    fn add_only_prompt_and_schema_forbid_changes() {
        let req = extraction_request(&[], &[], ReconcilePolicy::AddOnly, true);
        let system = req.messages[0].text().into_owned();
        assert!(system.contains("Only ADD and NONE are allowed"));
        let Some(ResponseFormat::JsonSchema { schema, .. }) = req.response_format else {
            panic!("expected a JSON schema format");
        };
        let events = &schema["properties"]["memory"]["items"]["properties"]["event"]["enum"];
        assert_eq!(events, &json!(["ADD", "NONE"]));
    }
}
