//! The one error model of every API codexia answers: what went wrong ([`ErrorKind`]), who
//! caused it ([`Cause`]), the status each kind gets, and the typed Anthropic and OpenAI error
//! envelopes it is written in. Below the translators and the gateway, so both use the same
//! values; the gateway only renders them (`gateway/error.rs`), and every mapping from a backend
//! failure to an [`ApiError`] lives in `upstream/failure.rs`.
//!
//! Sentences that several places need (the stream ended early, the backend cannot be reached)
//! are kinds of their own with their message here, not copies.

use serde::Serialize;

/// The API format a caller speaks, which decides the error envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Anthropic,
    OpenAi,
}

/// Who caused an error, which decides whether its status is a 4xx or a 5xx and how loudly it
/// is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The caller's request (or its key): 4xx, the caller can fix it.
    Client,
    /// The ChatGPT backend: its limits, failures and silence (429, 502, 503/529, 504).
    Backend,
    /// The ChatGPT sign-in: nobody signed in, or the account must sign in again (401).
    SignIn,
    /// codexia itself: a bug or a local failure (500, 502, 503).
    Codexia,
}

/// What went wrong. Each kind has one status per dialect and one error `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    // -- the client's request --------------------------------------------------------------
    /// The request is malformed or asks for something impossible (400).
    InvalidRequest,
    /// The conversation is longer than the model's context window (400, "prompt is too long").
    PromptTooLong,
    /// Missing or wrong local API key (401).
    Authentication,
    /// Refused by a guard: Host or Origin (403).
    PermissionDenied,
    /// No such route or model (404).
    NotFound,
    /// Wrong method for the route (405).
    MethodNotAllowed,
    /// Body over the limit (413).
    RequestTooLarge,

    // -- the sign-in -----------------------------------------------------------------------
    /// Nobody is signed in, or the backend refused the sign-in: run `codexia login` (401).
    SignIn,

    // -- the backend -----------------------------------------------------------------------
    /// Usage or rate limit (429).
    RateLimited,
    /// The plan does not include this use, or credits ran out (Anthropic 402, OpenAI 429).
    QuotaExhausted,
    /// The backend is overloaded (529 for Anthropic callers, 503 for OpenAI callers).
    Overloaded,
    /// The backend refused the request with this 4xx status, for a reason of the request's
    /// own (the status is passed through).
    BackendRefused(u16),
    /// The backend failed or answered something unusable (502).
    Upstream,
    /// The backend cannot be reached (502).
    BackendUnreachable,
    /// The backend's stream ended before its terminal event (502).
    StreamEndedEarly,
    /// The backend did not answer in time (504).
    Timeout,

    // -- codexia itself --------------------------------------------------------------------
    /// The backend refused a request codexia translated: codexia's bug, not the caller's (502).
    TranslationRejected,
    /// The credential store (keychain or file) failed (503).
    CredentialStore,
    /// codexia is already reading or holding as many request bodies as its memory budget
    /// allows (503 with `retry-after`): load, not a fault, so it is logged as a warning.
    Busy,
    /// A bug or local failure (500).
    Internal,
}

/// The sentence of a stream that ended before its terminal event.
pub const STREAM_ENDED_EARLY: &str =
    "The ChatGPT backend ended the stream before the response was complete.";

/// The sentence of a backend that cannot be reached.
pub const BACKEND_UNREACHABLE: &str =
    "The ChatGPT backend cannot be reached; check the network connection.";

impl ErrorKind {
    /// Who caused errors of this kind.
    pub fn cause(self) -> Cause {
        match self {
            Self::InvalidRequest
            | Self::PromptTooLong
            | Self::Authentication
            | Self::PermissionDenied
            | Self::NotFound
            | Self::MethodNotAllowed
            | Self::RequestTooLarge => Cause::Client,
            Self::SignIn => Cause::SignIn,
            Self::RateLimited
            | Self::QuotaExhausted
            | Self::Overloaded
            | Self::BackendRefused(_)
            | Self::Upstream
            | Self::BackendUnreachable
            | Self::StreamEndedEarly
            | Self::Timeout => Cause::Backend,
            Self::TranslationRejected | Self::CredentialStore | Self::Busy | Self::Internal => {
                Cause::Codexia
            }
        }
    }

    /// The HTTP status in a dialect.
    pub fn status(self, dialect: Dialect) -> u16 {
        match self {
            Self::InvalidRequest | Self::PromptTooLong => 400,
            Self::Authentication | Self::SignIn => 401,
            Self::PermissionDenied => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::RequestTooLarge => 413,
            Self::RateLimited => 429,
            Self::QuotaExhausted => match dialect {
                Dialect::Anthropic => 402,
                Dialect::OpenAi => 429,
            },
            // 529 is Anthropic's own overload status; Claude Code retries it.
            Self::Overloaded => match dialect {
                Dialect::Anthropic => 529,
                Dialect::OpenAi => 503,
            },
            Self::BackendRefused(status) => status,
            Self::Upstream
            | Self::BackendUnreachable
            | Self::StreamEndedEarly
            | Self::TranslationRejected => 502,
            Self::Timeout => 504,
            Self::CredentialStore | Self::Busy => 503,
            Self::Internal => 500,
        }
    }

    /// The Anthropic error `type`.
    pub fn anthropic_type(self) -> &'static str {
        match self {
            Self::InvalidRequest
            | Self::PromptTooLong
            | Self::MethodNotAllowed
            | Self::BackendRefused(_) => "invalid_request_error",
            Self::Authentication | Self::SignIn => "authentication_error",
            Self::PermissionDenied => "permission_error",
            Self::NotFound => "not_found_error",
            Self::RequestTooLarge => "request_too_large",
            Self::RateLimited => "rate_limit_error",
            Self::QuotaExhausted => "billing_error",
            Self::Overloaded | Self::Busy => "overloaded_error",
            Self::Timeout => "timeout_error",
            Self::Upstream
            | Self::BackendUnreachable
            | Self::StreamEndedEarly
            | Self::TranslationRejected
            | Self::CredentialStore
            | Self::Internal => "api_error",
        }
    }

    /// The OpenAI error `type` and `code`.
    pub fn openai_type_and_code(self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::InvalidRequest | Self::PromptTooLong | Self::BackendRefused(_) => {
                ("invalid_request_error", None)
            }
            Self::MethodNotAllowed => ("invalid_request_error", Some("method_not_allowed")),
            Self::Authentication | Self::SignIn => {
                ("authentication_error", Some("invalid_api_key"))
            }
            Self::PermissionDenied => ("permission_error", Some("forbidden")),
            Self::NotFound => ("invalid_request_error", Some("not_found")),
            Self::RequestTooLarge => ("invalid_request_error", Some("request_too_large")),
            Self::RateLimited => ("rate_limit_error", Some("rate_limit_exceeded")),
            Self::QuotaExhausted => ("insufficient_quota", Some("insufficient_quota")),
            Self::Overloaded | Self::Busy => ("server_error", Some("server_is_overloaded")),
            Self::Timeout => ("server_error", Some("timeout")),
            Self::Upstream
            | Self::BackendUnreachable
            | Self::StreamEndedEarly
            | Self::TranslationRejected
            | Self::CredentialStore
            | Self::Internal => ("server_error", None),
        }
    }
}

/// An error answered to an API caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub kind: ErrorKind,
    /// One or two sentences for the caller; never secrets or internal detail.
    pub message: String,
    /// Seconds for the `retry-after` header (429).
    pub retry_after: Option<u64>,
    /// `x-should-retry: false` for errors that retrying cannot fix soon (a usage limit that
    /// resets in hours), so SDK retry loops stop at once.
    pub no_retry: bool,
}

impl From<ErrorKind> for ApiError {
    /// The kinds with a fixed sentence; the others get a generic one.
    fn from(kind: ErrorKind) -> Self {
        let message = match kind {
            ErrorKind::StreamEndedEarly => STREAM_ENDED_EARLY,
            ErrorKind::BackendUnreachable => BACKEND_UNREACHABLE,
            _ => "The request failed.",
        };
        Self::new(kind, message)
    }
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
            no_retry: false,
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    pub fn authentication(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Authentication, message)
    }

    pub fn sign_in(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::SignIn, message)
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PermissionDenied, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn rate_limited(message: impl Into<String>, retry_after: Option<u64>) -> Self {
        Self {
            retry_after,
            ..Self::new(ErrorKind::RateLimited, message)
        }
    }

    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Upstream, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// The backend's stream ended before its terminal event.
    pub fn stream_ended_early() -> Self {
        ErrorKind::StreamEndedEarly.into()
    }

    /// The backend refused a request codexia translated: said as codexia's fault, with where
    /// to report it and what the backend said.
    pub fn translation_rejected(backend_message: &str) -> Self {
        Self::new(
            ErrorKind::TranslationRejected,
            format!(
                "The ChatGPT backend refused the request codexia translated from yours; this is a \
                 codexia bug, not a problem with your request. Please report it to codexia's \
                 maintainers with `codexia --version`, the client you used and this message. \
                 The backend said: {backend_message}"
            ),
        )
    }

    /// Who caused it.
    pub fn cause(&self) -> Cause {
        self.kind.cause()
    }

    /// The HTTP status in a dialect.
    pub fn status(&self, dialect: Dialect) -> u16 {
        self.kind.status(dialect)
    }

    /// The Anthropic error object (`{type, message}`), as in bodies and `error` stream events.
    pub fn anthropic_error(&self) -> AnthropicError {
        AnthropicError {
            kind: self.kind.anthropic_type(),
            message: self.message.clone(),
        }
    }

    /// The whole Anthropic error body.
    pub fn anthropic_body(&self, request_id: Option<String>) -> AnthropicErrorBody {
        AnthropicErrorBody {
            kind: "error",
            error: self.anthropic_error(),
            request_id,
        }
    }

    /// The whole OpenAI error body (also an error chunk of a chat stream).
    pub fn openai_body(&self) -> OpenAiErrorBody {
        let (kind, code) = self.kind.openai_type_and_code();
        OpenAiErrorBody {
            error: OpenAiError {
                message: self.message.clone(),
                kind,
                param: None,
                code,
            },
        }
    }

    /// The body in a dialect, as JSON text.
    pub fn body_json(&self, dialect: Dialect, request_id: Option<String>) -> String {
        let text = match dialect {
            Dialect::Anthropic => serde_json::to_string(&self.anthropic_body(request_id)),
            Dialect::OpenAi => serde_json::to_string(&self.openai_body()),
        };
        // Plain structs of strings cannot fail to serialise; keep the body valid JSON anyway.
        text.unwrap_or_else(|_| "{}".to_owned())
    }
}

/// Anthropic's error object: `{"type": "rate_limit_error", "message": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnthropicError {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub message: String,
}

/// Anthropic's error body: `{"type": "error", "error": {…}, "request_id": "req_…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnthropicErrorBody {
    /// Always `"error"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub error: AnthropicError,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// OpenAI's error object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenAiError {
    pub message: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Always present, `null` when no single parameter is at fault.
    pub param: Option<String>,
    pub code: Option<&'static str>,
}

/// OpenAI's error body: `{"error": {…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenAiErrorBody {
    pub error: OpenAiError,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    fn bodies(error: &ApiError) -> (u16, Value, u16, Value) {
        let parse = |text: String| serde_json::from_str::<Value>(&text).unwrap();
        (
            error.status(Dialect::Anthropic),
            parse(error.body_json(Dialect::Anthropic, None)),
            error.status(Dialect::OpenAi),
            parse(error.body_json(Dialect::OpenAi, None)),
        )
    }

    /// Every kind, in both dialects: the status, `type` and `code` each caller gets.
    #[test]
    fn every_kind_has_its_status_and_type_in_both_dialects() {
        let kinds = [
            ErrorKind::InvalidRequest,
            ErrorKind::PromptTooLong,
            ErrorKind::Authentication,
            ErrorKind::PermissionDenied,
            ErrorKind::NotFound,
            ErrorKind::MethodNotAllowed,
            ErrorKind::RequestTooLarge,
            ErrorKind::SignIn,
            ErrorKind::RateLimited,
            ErrorKind::QuotaExhausted,
            ErrorKind::Overloaded,
            ErrorKind::BackendRefused(409),
            ErrorKind::Upstream,
            ErrorKind::BackendUnreachable,
            ErrorKind::StreamEndedEarly,
            ErrorKind::Timeout,
            ErrorKind::TranslationRejected,
            ErrorKind::CredentialStore,
            ErrorKind::Busy,
            ErrorKind::Internal,
        ];
        let table: Vec<String> = kinds
            .iter()
            .map(|kind| {
                let (a_status, a_body, o_status, o_body) = bodies(&ApiError::new(*kind, "m"));
                format!(
                    "{kind:?} {:?}: anthropic {a_status} {} | openai {o_status} {} {}",
                    kind.cause(),
                    a_body["error"]["type"],
                    o_body["error"]["type"],
                    o_body["error"]["code"],
                )
            })
            .collect();
        insta::assert_snapshot!(table.join("\n"), @r#"
        InvalidRequest Client: anthropic 400 "invalid_request_error" | openai 400 "invalid_request_error" null
        PromptTooLong Client: anthropic 400 "invalid_request_error" | openai 400 "invalid_request_error" null
        Authentication Client: anthropic 401 "authentication_error" | openai 401 "authentication_error" "invalid_api_key"
        PermissionDenied Client: anthropic 403 "permission_error" | openai 403 "permission_error" "forbidden"
        NotFound Client: anthropic 404 "not_found_error" | openai 404 "invalid_request_error" "not_found"
        MethodNotAllowed Client: anthropic 405 "invalid_request_error" | openai 405 "invalid_request_error" "method_not_allowed"
        RequestTooLarge Client: anthropic 413 "request_too_large" | openai 413 "invalid_request_error" "request_too_large"
        SignIn SignIn: anthropic 401 "authentication_error" | openai 401 "authentication_error" "invalid_api_key"
        RateLimited Backend: anthropic 429 "rate_limit_error" | openai 429 "rate_limit_error" "rate_limit_exceeded"
        QuotaExhausted Backend: anthropic 402 "billing_error" | openai 429 "insufficient_quota" "insufficient_quota"
        Overloaded Backend: anthropic 529 "overloaded_error" | openai 503 "server_error" "server_is_overloaded"
        BackendRefused(409) Backend: anthropic 409 "invalid_request_error" | openai 409 "invalid_request_error" null
        Upstream Backend: anthropic 502 "api_error" | openai 502 "server_error" null
        BackendUnreachable Backend: anthropic 502 "api_error" | openai 502 "server_error" null
        StreamEndedEarly Backend: anthropic 502 "api_error" | openai 502 "server_error" null
        Timeout Backend: anthropic 504 "timeout_error" | openai 504 "server_error" "timeout"
        TranslationRejected Codexia: anthropic 502 "api_error" | openai 502 "server_error" null
        CredentialStore Codexia: anthropic 503 "api_error" | openai 503 "server_error" null
        Busy Codexia: anthropic 503 "overloaded_error" | openai 503 "server_error" "server_is_overloaded"
        Internal Codexia: anthropic 500 "api_error" | openai 500 "server_error" null
        "#);
    }

    #[test]
    fn the_envelopes_are_the_apis_own() {
        let error = ApiError::rate_limited("Slow down.", Some(3));
        let (_, anthropic, _, openai) = bodies(&error);
        assert_eq!(
            anthropic,
            json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down."}})
        );
        assert_eq!(
            openai,
            json!({"error": {"message": "Slow down.", "type": "rate_limit_error", "param": null, "code": "rate_limit_exceeded"}})
        );
        let with_id: Value =
            serde_json::from_str(&error.body_json(Dialect::Anthropic, Some("req_0123".to_owned())))
                .unwrap();
        assert_eq!(with_id["request_id"], "req_0123");
    }

    #[test]
    fn a_rejected_translation_blames_codexia_and_says_where_to_report() {
        let error = ApiError::translation_rejected("Unsupported parameter: temperature");
        assert_eq!(error.cause(), Cause::Codexia);
        assert_eq!(error.status(Dialect::OpenAi), 502);
        assert!(error.message.contains("codexia bug"), "{}", error.message);
        assert!(error.message.contains("report it"), "{}", error.message);
        assert!(
            error
                .message
                .ends_with("Unsupported parameter: temperature")
        );
    }
}
