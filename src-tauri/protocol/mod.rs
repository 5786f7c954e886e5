//! Wire types only (serde), one module per format. No logic beyond (de)serialisation.

pub mod anthropic;
pub mod openai_chat;
pub mod responses;
