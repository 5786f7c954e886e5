//! One module per route family.

pub(crate) mod auth;
pub(crate) mod chat;
pub(crate) mod count_tokens;
pub(crate) mod health;
pub(crate) mod messages;
pub(crate) mod models;
pub(crate) mod requests;
pub(crate) mod responses;
pub(crate) mod status;
pub(crate) mod usage;
