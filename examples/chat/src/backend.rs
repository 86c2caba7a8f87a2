//! Picking the chat model from the environment.

use std::sync::Arc;

use plugbay_core::{Result, Settings};
use plugbay_llm::{ChatResponse, DynChatModel, MockChatModel, Role, ToolCall};
use serde_json::{Value, json};

/// The model the environment asks for, and a line describing it.
///
/// `LLM=mock|openai|huggingface` picks one; otherwise every configured
/// backend is used in order (OpenAI when `OPENAI_API_KEY` is set, Hugging
/// Face when `HF_TOKEN` or `TGI_URL` is), falling back from one to the
/// next on rate limits and outages; with none configured, the mock.
pub(crate) async fn from_settings(settings: &Settings) -> Result<(DynChatModel, String)> {
    let forced = settings.get("LLM").map(|v| v.trim().to_ascii_lowercase());
    let wants = |name: &str, configured: bool| match forced.as_deref() {
        Some(f) => f == name || (name == "huggingface" && f == "hf"),
        None => configured,
    };
    let mut models: Vec<DynChatModel> = Vec::new();

    #[cfg(feature = "openai")]
    if wants("openai", settings.contains("OPENAI_API_KEY")) {
        let builder = plugbay_llm::openai::OpenAiBuilder::from_settings(settings).await?;
        models.push(Arc::new(builder.build_chat()?));
    }
    #[cfg(feature = "huggingface")]
    if wants(
        "huggingface",
        settings.contains("HF_TOKEN") || settings.contains("TGI_URL"),
    ) {
        let builder = plugbay_llm::HuggingFaceBuilder::from_settings(settings).await?;
        models.push(Arc::new(builder.build_chat()?));
    }

    let describe = |m: &DynChatModel| format!("{} ({})", m.provider(), m.model());
    Ok(match models.len() {
        0 => {
            let mock: DynChatModel = Arc::new(weather_mock());
            let line = format!(
                "{} — set OPENAI_API_KEY or HF_TOKEN to talk to a real model",
                describe(&mock)
            );
            (mock, line)
        }
        1 => {
            let line = describe(&models[0]);
            (models.remove(0), line)
        }
        _ => {
            let names: Vec<String> = models.iter().map(describe).collect();
            let chain: DynChatModel = Arc::new(plugbay_llm::FallbackChain::new(models));
            (
                chain,
                format!("{} (in this order, falling back)", names.join(" → ")),
            )
        }
    })
}

/// A mock that behaves like a tool-using model: it asks for the weather in
/// the city the user named, then reads the tool's answer back.
pub(crate) fn weather_mock() -> MockChatModel {
    MockChatModel::new()
        .with_model("mock-weather")
        .with_responder(|request| {
            let last = request.messages.last();
            if let Some(result) = last.filter(|m| m.role == Role::Tool) {
                let report: Value = serde_json::from_str(&result.text()).unwrap_or_default();
                return Ok(ChatResponse::from_text(format!(
                    "Right now it is {}°C with {} in {}. (The mock read that from the get_weather tool.)",
                    report["temperature_c"],
                    report["conditions"].as_str().unwrap_or("unknown weather"),
                    report["city"].as_str().unwrap_or("the city"),
                )));
            }
            let prompt = request.last_user_text().unwrap_or_default();
            if request.tools.iter().any(|t| t.name == "get_weather") {
                let city = city_in(&prompt).unwrap_or_else(|| "Oslo".to_owned());
                let call = ToolCall::new(
                    "call_weather_1",
                    "get_weather",
                    json!({ "city": city }).to_string(),
                );
                return Ok(ChatResponse::from_tool_calls(vec![call]));
            }
            Ok(ChatResponse::from_text(format!("[mock] {prompt}")))
        })
}

/// The capitalised word after "in" (`"weather in Paris?"` → `Paris`).
fn city_in(prompt: &str) -> Option<String> {
    let words: Vec<&str> = prompt.split_whitespace().collect();
    words.windows(2).find_map(|pair| {
        let word = pair[1].trim_matches(|c: char| !c.is_alphanumeric());
        (pair[0].eq_ignore_ascii_case("in") && word.starts_with(char::is_uppercase))
            .then(|| word.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_city() {
        assert_eq!(
            city_in("What's the weather in Paris?").as_deref(),
            Some("Paris")
        );
        assert_eq!(city_in("weather in the park"), None);
        assert_eq!(city_in("hello"), None);
    }
}
