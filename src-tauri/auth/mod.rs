//! ChatGPT sign-in and credentials: PKCE, the OAuth calls, the loopback callback, JWT claims,
//! the credential stores and the [`AuthManager`] that refreshes one at a time.
//!
//! Nothing here knows about the gateway, the CLI or the tray; they call in.

pub(crate) mod accounts;
pub(crate) mod callback;
pub(crate) mod jwt;
pub(crate) mod manager;
pub(crate) mod oauth;
pub(crate) mod pkce;
pub(crate) mod store;
pub(crate) mod tokens;

pub(crate) use accounts::AuthManager;
pub(crate) use manager::{AuthError, AuthSnapshot};
pub(crate) use tokens::Credentials;
