//! The fake OAuth issuer (docs/protocol.md §3): authorize, token (authorization code with
//! PKCE, rotating single-use refresh tokens) and the device-code flow of the official Codex CLI.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::reply::IdSource as _;
use super::{
    AuthCode, CLIENT_ID, DeviceAuth, MintedTokens, REFRESH_TOKEN_REUSED_BODY, REQUIRED_SCOPES,
    RecordedRequest, RefreshState, Shared, issue_tokens, json_response, now, oauth_error,
    pkce_challenge,
};

pub(super) fn authorize(shared: &Shared, request: &RecordedRequest) -> Response {
    let get = |name: &str| request.query_param(name).filter(|v| !v.is_empty());
    if get("client_id").as_deref() != Some(CLIENT_ID) {
        return oauth_error(400, "invalid_client", "Unknown client_id.");
    }
    if get("response_type").as_deref() != Some("code") {
        return oauth_error(
            400,
            "unsupported_response_type",
            "response_type must be code.",
        );
    }
    if get("code_challenge_method").as_deref() != Some("S256") {
        return oauth_error(
            400,
            "invalid_request",
            "code_challenge_method must be S256.",
        );
    }
    let Some(challenge) = get("code_challenge") else {
        return oauth_error(400, "invalid_request", "Missing code_challenge.");
    };
    let Some(redirect_uri) = get("redirect_uri") else {
        return oauth_error(400, "invalid_request", "Missing redirect_uri.");
    };
    let Some(state_param) = get("state") else {
        return oauth_error(400, "invalid_request", "Missing state.");
    };
    let scopes = get("scope").unwrap_or_default();
    if let Some(missing) = REQUIRED_SCOPES
        .iter()
        .find(|s| !scopes.split(' ').any(|have| have == **s))
    {
        return oauth_error(400, "invalid_scope", &format!("Missing scope {missing}."));
    }
    let mut state = shared.lock();
    let query = if state.authorize_denials > 0 {
        state.authorize_denials -= 1;
        form_urlencoded::Serializer::new(String::new())
            .append_pair("error", "access_denied")
            .append_pair("error_description", "The user denied the request.")
            .append_pair("state", &state_param)
            .finish()
    } else {
        let code = state.next_id("ac");
        state.auth_codes.insert(
            code.clone(),
            AuthCode {
                code_challenge: challenge,
                redirect_uri: redirect_uri.clone(),
                used: false,
            },
        );
        form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("state", &state_param)
            .finish()
    };
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{redirect_uri}{separator}{query}");
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// Counts a token request whose handler was dropped before it answered (its client went away
/// while the issuer held it).
struct Abandoned<'a>(&'a Shared, bool);

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.lock().abandoned_token_requests += 1;
            self.0.recorded.notify_waiters();
        }
    }
}

pub(super) async fn token(shared: &Arc<Shared>, request: &RecordedRequest) -> Response {
    let mut abandoned = Abandoned(shared, true);
    let gate = shared.lock().token_gates.pop_front();
    if let Some(gate) = gate {
        gate.pass().await;
    }
    abandoned.1 = false;
    let response = grant(shared, request);
    let outcome = (request.param("grant_type").as_deref() == Some("refresh_token")).then(|| {
        let mut state = shared.lock();
        state.refresh_outcomes.push(super::RefreshOutcome {
            presented: request.param("refresh_token").unwrap_or_default(),
            status: response.status().as_u16(),
            issued: None,
            issued_access: None,
            delivered: false,
        });
        state.refresh_outcomes.len() - 1
    });
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    if let Some(index) = outcome {
        let issued: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        let mut state = shared.lock();
        let entry = &mut state.refresh_outcomes[index];
        let field = |name: &str| {
            issued
                .as_ref()
                .and_then(|v| v.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        entry.issued = field("refresh_token");
        entry.issued_access = field("access_token");
    }
    shared.recorded.notify_waiters();
    let gate = shared.lock().token_response_gates.pop_front();
    if let Some(gate) = gate {
        gate.pass().await;
    }
    // The body reports when its last byte has been taken by the connection.
    let shared = Arc::clone(shared);
    let chunks = futures_util::stream::unfold(Some(bytes), move |next| {
        let shared = Arc::clone(&shared);
        async move {
            if let Some(bytes) = next {
                return Some((Ok::<_, std::convert::Infallible>(bytes), None));
            }
            if let Some(index) = outcome {
                shared.lock().refresh_outcomes[index].delivered = true;
                shared.recorded.notify_waiters();
            }
            None
        }
    });
    Response::from_parts(parts, axum::body::Body::from_stream(chunks))
}

/// Processes one token request (after any gate).
fn grant(shared: &Shared, request: &RecordedRequest) -> Response {
    let injected = shared.lock().token_failures.pop_front();
    if let Some((status, body)) = injected {
        return json_response(status, &body);
    }
    if request.form.is_none() && request.json.as_ref().is_none_or(|j| !j.is_object()) {
        return oauth_error(400, "invalid_request", "Expected a form or JSON body.");
    }
    let param = |name: &str| request.param(name).filter(|v| !v.is_empty());
    if param("client_id").as_deref() != Some(CLIENT_ID) {
        return oauth_error(401, "invalid_client", "Unknown client_id.");
    }
    let mut state = shared.lock();
    match param("grant_type").as_deref() {
        Some("authorization_code") => {
            let (Some(code), Some(verifier), Some(redirect_uri)) =
                (param("code"), param("code_verifier"), param("redirect_uri"))
            else {
                return oauth_error(
                    400,
                    "invalid_request",
                    "code, code_verifier and redirect_uri are required.",
                );
            };
            let Some(entry) = state.auth_codes.get_mut(&code) else {
                return oauth_error(400, "invalid_grant", "Invalid authorization code.");
            };
            if entry.used {
                return oauth_error(
                    400,
                    "invalid_grant",
                    "Authorization code has already been used.",
                );
            }
            if entry.redirect_uri != redirect_uri {
                return oauth_error(
                    400,
                    "invalid_grant",
                    "redirect_uri does not match the authorization request.",
                );
            }
            if pkce_challenge(&verifier) != entry.code_challenge {
                return oauth_error(
                    400,
                    "invalid_grant",
                    "code_verifier does not match the code_challenge.",
                );
            }
            entry.used = true;
            let lifetime = state.token_lifetime;
            token_success(&issue_tokens(&mut state, lifetime))
        }
        Some("refresh_token") => {
            let Some(refresh_token) = param("refresh_token") else {
                return oauth_error(400, "invalid_request", "refresh_token is required.");
            };
            match state.refresh_tokens.get(&refresh_token) {
                None => oauth_error(400, "invalid_grant", "Invalid refresh token."),
                Some(RefreshState::Consumed) => (
                    StatusCode::UNAUTHORIZED,
                    [(header::CONTENT_TYPE, "application/json")],
                    REFRESH_TOKEN_REUSED_BODY,
                )
                    .into_response(),
                Some(RefreshState::Active) => {
                    state
                        .refresh_tokens
                        .insert(refresh_token, RefreshState::Consumed);
                    state.refresh_count += 1;
                    let lifetime = state.token_lifetime;
                    token_success(&issue_tokens(&mut state, lifetime))
                }
            }
        }
        Some(other) => oauth_error(
            400,
            "unsupported_grant_type",
            &format!("Unsupported grant_type {other}."),
        ),
        None => oauth_error(400, "invalid_request", "grant_type is required."),
    }
}

fn token_success(tokens: &MintedTokens) -> Response {
    json_response(
        200,
        &json!({
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "id_token": tokens.id_token,
            "expires_in": tokens.expires_in,
            "token_type": "Bearer",
            "scope": REQUIRED_SCOPES.join(" "),
        }),
    )
}

/// User-code alphabet without look-alikes (no I, O, 0, 1).
const USER_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

pub(super) fn device_usercode(shared: &Shared, request: &RecordedRequest) -> Response {
    if request.param("client_id").as_deref() != Some(CLIENT_ID) {
        return oauth_error(401, "invalid_client", "Unknown client_id.");
    }
    let mut state = shared.lock();
    let device_auth_id = state.next_id("deviceauth");
    let digest = Sha256::digest(device_auth_id.as_bytes());
    let chars: String = digest
        .iter()
        .take(8)
        .map(|b| USER_CODE_ALPHABET[usize::from(*b) % USER_CODE_ALPHABET.len()] as char)
        .collect();
    let user_code = format!("{}-{}", &chars[..4], &chars[4..]);
    let code_verifier =
        URL_SAFE_NO_PAD.encode(Sha256::digest(format!("verifier:{device_auth_id}")));
    let approved = state.device_auto_approve;
    state.devices.insert(
        device_auth_id.clone(),
        DeviceAuth {
            user_code: user_code.clone(),
            approved,
            code_verifier,
        },
    );
    json_response(
        200,
        &json!({
            "device_auth_id": device_auth_id,
            "user_code": user_code,
            // A string: the official client parses it with `str::parse::<u64>`.
            "interval": state.device_interval.to_string(),
            "expires_at": chrono::DateTime::from_timestamp(now() + 900, 0).map(|t| t.to_rfc3339()),
        }),
    )
}

pub(super) fn device_token(shared: &Shared, request: &RecordedRequest) -> Response {
    let (Some(id), Some(user_code)) = (request.param("device_auth_id"), request.param("user_code"))
    else {
        return oauth_error(
            400,
            "invalid_request",
            "device_auth_id and user_code are required.",
        );
    };
    let mut state = shared.lock();
    let Some(device) = state.devices.get(&id).cloned() else {
        // The official client keeps polling on 403/404; an unknown id is a 404.
        return json_response(
            404,
            &json!({"error": {"message": "Unknown device authorization.", "code": "deviceauth_not_found"}}),
        );
    };
    if device.user_code != user_code {
        return oauth_error(400, "invalid_request", "user_code does not match.");
    }
    if !device.approved {
        // Inferred wording; the official client only looks at the 403 status.
        return json_response(
            403,
            &json!({"error": {"message": "Device authorization is pending.", "code": "deviceauth_authorization_pending"}}),
        );
    }
    state.devices.remove(&id);
    let code = state.next_id("ac");
    let code_challenge = pkce_challenge(&device.code_verifier);
    state.auth_codes.insert(
        code.clone(),
        AuthCode {
            code_challenge: code_challenge.clone(),
            redirect_uri: format!("{}/deviceauth/callback", shared.base_url),
            used: false,
        },
    );
    json_response(
        200,
        &json!({"authorization_code": code, "code_challenge": code_challenge, "code_verifier": device.code_verifier}),
    )
}

pub(super) fn device_page(shared: &Shared, request: &RecordedRequest) -> Response {
    let message = match request.param("user_code") {
        Some(code) => {
            let mut state = shared.lock();
            match state.devices.values_mut().find(|d| d.user_code == code) {
                Some(device) => {
                    device.approved = true;
                    "Device approved. You can return to your terminal.".to_owned()
                }
                None => "Unknown code.".to_owned(),
            }
        }
        None => "Enter the code shown in your terminal.".to_owned(),
    };
    let html = format!(
        "<!doctype html><title>Fake device sign-in</title><p>{message}</p>\
         <form method=post><input name=user_code><button>Continue</button></form>"
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}
