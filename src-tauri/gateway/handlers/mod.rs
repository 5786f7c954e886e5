//! One module per route family.

pub mod health;
pub mod models;
