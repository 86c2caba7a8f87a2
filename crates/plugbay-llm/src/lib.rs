#![doc = include_str!("../README.md")]

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod embedding_cache;
pub mod fallback;
#[cfg(feature = "huggingface")]
pub mod huggingface;
pub mod local_embedder;
pub mod mock;
pub mod model;
#[cfg(feature = "openai")]
pub mod openai;
pub mod sse;
pub mod stream;
pub mod types;

pub use embedding_cache::{CachedEmbeddings, CachedEmbeddingsLayer};
pub use fallback::{Fallback, FallbackChain, FallbackLayer};
#[cfg(feature = "huggingface")]
pub use huggingface::{HuggingFaceBuilder, HuggingFaceChat, HuggingFaceEmbeddings};
pub use local_embedder::HashingEmbedder;
pub use mock::{MockChatModel, MockEmbeddingModel, MockReply};
pub use model::{
    ChatModel, ChatModelExt, DynChatModel, DynEmbeddingModel, EmbeddingModel, EmbeddingModelExt,
    embed_in_batches,
};
#[cfg(feature = "openai")]
pub use openai::{OpenAiBuilder, OpenAiChatModel, OpenAiClient, OpenAiEmbeddingModel};
pub use stream::{ToolCallAccumulator, collect_stream};
pub use types::{
    ChatCapabilities, ChatEvent, ChatRequest, ChatResponse, ChatStream, Content, ContentPart,
    Embeddings, FinishReason, ImageUrl, Message, ResponseFormat, Role, ToolCall, ToolChoice,
    ToolSpec, Usage,
};
