//! ChatGPT sign-in and credentials: PKCE, the OAuth calls, the loopback callback, JWT claims,
//! the credential stores and the [`AuthManager`] that refreshes one at a time.
//!
//! Nothing here knows about the gateway, the CLI or the tray; they call in.

pub mod callback;
pub mod jwt;
pub mod manager;
pub mod oauth;
pub mod pkce;
pub mod store;
pub mod tokens;

pub use manager::{AuthError, AuthManager, AuthSnapshot};
pub use tokens::Credentials;
