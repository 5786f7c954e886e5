//! A narrow door for the long-conversation benchmark (benches/conversation.rs): a Claude Code
//! request translated as `/v1/messages` translates it, and the token counts the benchmark
//! compares. The types stay opaque, so the crate's own types stay private to it.

use std::collections::BTreeMap;

use crate::models::ModelMap;
use crate::protocol::anthropic::MessagesRequest;
use crate::protocol::responses::ResponsesRequest;
use crate::translate::count_tokens::{
    CACHE_BUDGET_BYTES, TokenCounter, count_request_tokens, count_request_with,
    estimate_request_tokens,
};
use crate::translate::messages_request::messages_to_responses;

/// A translated `/v1/messages` request, as the backend would receive it.
#[derive(Debug, Clone)]
pub struct BenchRequest(ResponsesRequest);

impl BenchRequest {
    /// Parses a Messages body and translates it for `gpt-5.5`, as the handler does.
    pub fn translate(body: &[u8]) -> Result<Self, String> {
        let request: MessagesRequest =
            serde_json::from_slice(body).map_err(|err| err.to_string())?;
        let models = ModelMap::new(["gpt-5.5".to_owned()], BTreeMap::new(), None);
        messages_to_responses(&request, &models, Some("bench-session"))
            .map(|(upstream, _)| Self(upstream))
            .map_err(|err| err.to_string())
    }

    /// The size of the body written to the backend.
    pub fn write(&self) -> usize {
        serde_json::to_vec(&self.0).map_or(0, |body| body.len())
    }

    /// Its input items.
    pub fn items(&self) -> usize {
        self.0.input.len()
    }

    /// The full o200k count, without a memo.
    pub fn count(&self) -> u64 {
        count_request_tokens(&self.0)
    }

    /// The rough estimate sent before the exact count is ready.
    pub fn estimate(&self) -> u64 {
        estimate_request_tokens(&self.0)
    }

    /// The count with another count of each text (another tokenizer).
    pub fn count_with(&self, count: &mut impl FnMut(&str) -> u64) -> u64 {
        count_request_with(&self.0, count)
    }
}

/// The memoizing counter the gateway uses, with its default budget.
#[derive(Debug)]
pub struct BenchCounter(TokenCounter);

impl Default for BenchCounter {
    fn default() -> Self {
        Self(TokenCounter::new(CACHE_BUDGET_BYTES))
    }
}

impl BenchCounter {
    /// The count of a request, counting only texts it has not seen.
    pub fn count(&self, request: &BenchRequest) -> u64 {
        self.0.count_request(&request.0)
    }
}

/// The o200k count of one text.
pub fn count_text(text: &str) -> u64 {
    crate::translate::count_tokens::count_text(text)
}
