#![doc = include_str!("../README.md")]

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod local_embedder;
pub mod mock;
pub mod model;
pub mod stream;
pub mod types;

pub use local_embedder::HashingEmbedder;
pub use mock::{MockChatModel, MockEmbeddingModel, MockReply};
pub use model::{
    ChatModel, ChatModelExt, DynChatModel, DynEmbeddingModel, EmbeddingModel, EmbeddingModelExt,
    embed_in_batches,
};
pub use stream::{ToolCallAccumulator, collect_stream};
pub use types::{
    ChatCapabilities, ChatEvent, ChatRequest, ChatResponse, ChatStream, Content, ContentPart,
    Embeddings, FinishReason, ImageUrl, Message, ResponseFormat, Role, ToolCall, ToolChoice,
    ToolSpec, Usage,
};
