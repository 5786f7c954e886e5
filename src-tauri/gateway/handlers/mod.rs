//! One module per route family.

pub mod auth;
pub mod chat;
pub mod count_tokens;
pub mod health;
pub mod messages;
pub mod models;
pub mod responses;
pub mod status;
pub mod usage;
