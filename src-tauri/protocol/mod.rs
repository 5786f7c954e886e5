//! Wire types (serde), one module per format, and the error model every API answers with
//! ([`error`]). No I/O.

pub(crate) mod anthropic;
pub(crate) mod error;
pub(crate) mod json_text;
pub(crate) mod openai_chat;
pub(crate) mod responses;
