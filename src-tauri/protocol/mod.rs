//! Wire types (serde), one module per format, and the error model every API answers with
//! ([`error`]). No I/O.

pub mod anthropic;
pub mod error;
pub mod openai_chat;
pub mod responses;
