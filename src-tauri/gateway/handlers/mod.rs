//! One module per route family.

pub mod auth;
pub mod health;
pub mod models;
pub mod status;
