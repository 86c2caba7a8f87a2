//! Streams a chat reply with a tool call from whatever backend the
//! environment configures (OpenAI, Hugging Face, or the mock), and runs
//! the whole tool loop: the model asks for `get_weather`, the example runs
//! it locally, sends the result back and streams the final answer.
//!
//! ```text
//! cargo run -p plugbay-example-chat -- "What's the weather in Paris?"
//! OPENAI_API_KEY=sk-... cargo run -p plugbay-example-chat
//! HF_TOKEN=hf_... HF_MODEL=Qwen/Qwen2.5-7B-Instruct cargo run -p plugbay-example-chat
//! ```

mod backend;

use std::io::Write;
use std::process::ExitCode;

use futures::StreamExt;
use plugbay_core::{Result, Settings};
use plugbay_llm::{
    ChatEvent, ChatModel, ChatRequest, Message, ToolCall, ToolSpec, Usage, collect_stream,
};
use serde::Deserialize;
use serde_json::json;

/// More turns than this means the model keeps calling tools: stop.
const MAX_TURNS: usize = 4;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nerror: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    let settings = Settings::from_env()?;
    let (model, description) = backend::from_settings(&settings).await?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let prompt = if args.is_empty() {
        "What's the weather in Oslo right now?".to_owned()
    } else {
        args.join(" ")
    };
    println!("backend: {description}");
    println!("user: {prompt}");

    let mut messages = vec![
        Message::system(
            "You are a concise assistant. Use the get_weather tool for weather questions.",
        ),
        Message::user(prompt),
    ];
    let mut total = Usage::default();
    for _ in 0..MAX_TURNS {
        let request = ChatRequest::new(messages.clone()).tool(weather_tool());
        let reply = stream_turn(model.as_ref(), request, &mut total).await?;
        if reply.tool_calls().is_empty() {
            break;
        }
        messages.push(Message::assistant_tool_calls(reply.tool_calls().to_vec()));
        for call in reply.tool_calls() {
            let result = run_tool(call);
            println!("  ← {} returned {result}", call.name);
            messages.push(Message::tool_result(&call.id, result).with_name(&call.name));
        }
    }
    println!(
        "total usage: {} input + {} output = {} tokens",
        total.input_tokens, total.output_tokens, total.total_tokens
    );
    Ok(())
}

/// Stream one model turn to stdout as it arrives and return it folded.
async fn stream_turn(
    model: &dyn ChatModel,
    request: ChatRequest,
    total: &mut Usage,
) -> Result<plugbay_llm::ChatResponse> {
    let mut stream = model.chat_stream(request).await?;
    let mut events = Vec::new();
    let mut stdout = std::io::stdout();
    // Status lines start on a fresh line even after a partial text line.
    let mut mid_line = false;
    let fresh_line = |mid_line: &mut bool| {
        if std::mem::take(mid_line) {
            println!();
        }
    };
    print!("assistant: ");
    while let Some(event) = stream.next().await {
        let event = event?;
        match &event {
            ChatEvent::TextDelta(delta) => {
                print!("{delta}");
                mid_line = !delta.ends_with('\n');
            }
            ChatEvent::ToolCallDelta {
                index,
                name,
                arguments,
                ..
            } => {
                if let Some(name) = name {
                    println!();
                    print!("  … tool call #{index} {name}: ");
                }
                print!("{arguments}");
                mid_line = true;
            }
            ChatEvent::ToolCall(call) => {
                fresh_line(&mut mid_line);
                println!(
                    "  → tool call {}({}) id={}",
                    call.name, call.arguments, call.id
                );
            }
            ChatEvent::Usage(usage) => {
                fresh_line(&mut mid_line);
                total.add(usage);
                println!(
                    "  [usage] {} in, {} out, {} total",
                    usage.input_tokens, usage.output_tokens, usage.total_tokens
                );
            }
            ChatEvent::Finish { reason, model, .. } => {
                fresh_line(&mut mid_line);
                println!(
                    "  [finish] {reason} (model {})",
                    model.as_deref().unwrap_or("?")
                );
            }
            _ => {}
        }
        // Show each delta the moment it arrives.
        let _ = stdout.flush();
        events.push(Ok(event));
    }
    collect_stream(futures::stream::iter(events).boxed()).await
}

fn weather_tool() -> ToolSpec {
    ToolSpec::new(
        "get_weather",
        "Current weather for a city",
        json!({
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name, e.g. Oslo"}},
            "required": ["city"],
            "additionalProperties": false
        }),
    )
}

#[derive(Deserialize)]
struct WeatherArgs {
    city: String,
}

/// Run a tool call locally; errors go back to the model as the result.
fn run_tool(call: &ToolCall) -> String {
    if call.name != "get_weather" {
        return json!({"error": format!("unknown tool `{}`", call.name)}).to_string();
    }
    match call.parse_arguments::<WeatherArgs>() {
        Ok(args) => weather_for(&args.city).to_string(),
        Err(error) => json!({"error": error.message()}).to_string(),
    }
}

/// Made-up but stable weather, so runs are reproducible.
fn weather_for(city: &str) -> serde_json::Value {
    let seed: u32 = city.to_lowercase().bytes().map(u32::from).sum();
    let conditions = [
        "clear skies",
        "light rain",
        "overcast clouds",
        "snow showers",
    ];
    json!({
        "city": city,
        "temperature_c": i64::from(seed % 30) - 5,
        "conditions": conditions[(seed as usize) % conditions.len()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_llm::FinishReason;

    #[test]
    fn tools_answer_json_even_on_bad_calls() {
        let ok = run_tool(&ToolCall::new("c", "get_weather", r#"{"city":"Oslo"}"#));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&ok).unwrap()["city"],
            "Oslo"
        );
        let bad = run_tool(&ToolCall::new("c", "get_weather", r#"{"town":1}"#));
        assert!(bad.contains("error"));
        assert!(run_tool(&ToolCall::new("c", "nope", "{}")).contains("unknown tool"));
        // Stable per city, whatever the case.
        assert_eq!(
            weather_for("Oslo")["temperature_c"],
            weather_for("oslo")["temperature_c"]
        );
    }

    #[tokio::test]
    async fn the_mock_runs_the_whole_tool_loop() {
        let model = backend::weather_mock();
        let mut total = Usage::default();
        let request = ChatRequest::from_prompt("Weather in Paris?").tool(weather_tool());
        let first = stream_turn(&model, request.clone(), &mut total)
            .await
            .unwrap();
        assert_eq!(first.finish_reason, FinishReason::ToolCalls);
        let call = first.tool_calls()[0].clone();
        assert_eq!(call.arguments, r#"{"city":"Paris"}"#);
        let follow_up = request
            .message(Message::assistant_tool_calls(vec![call.clone()]))
            .message(Message::tool_result(&call.id, run_tool(&call)));
        let answer = stream_turn(&model, follow_up, &mut total).await.unwrap();
        assert!(answer.text().contains("Paris"), "{}", answer.text());
        assert!(total.total_tokens > 0);
    }
}
