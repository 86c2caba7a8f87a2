//! The provider-independent data types of chat and embeddings.

mod event;
mod message;
mod request;
mod response;

pub use event::{ChatEvent, ChatStream};
pub use message::{Content, ContentPart, ImageUrl, Message, Role, ToolCall, ToolChoice, ToolSpec};
pub use request::{ChatRequest, ResponseFormat};
pub use response::{ChatCapabilities, ChatResponse, Embeddings, FinishReason, Usage};
