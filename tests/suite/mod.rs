mod auth;
mod claude;
mod config;
mod daemon;
mod fake_backend;
mod serve;
mod status;
