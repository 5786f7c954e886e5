mod config;
mod fake_backend;
mod serve;
