//! Test support: the fake remote side and helpers that run the real `codexia` binary.
#![allow(dead_code, unreachable_pub)]

pub mod codexia;
pub mod fake_backend;
pub mod tray;
