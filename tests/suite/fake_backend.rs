//! Tests of the fake upstream itself: it must reproduce every documented upstream behaviour
//! (docs/protocol.md) before other tests may trust it, and every SSE event it emits must
//! validate against the official `openai` Python SDK's pydantic types.
#![allow(
    clippy::unwrap_used,
    reason = "test code: clippy.toml's allow-unwrap-in-tests does not cover helper fns"
)]

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::fake_backend::{
    CLIENT_ID, CONTEXT_LENGTH_EXCEEDED_MESSAGE, Failure, FakeUpstream, Gate, MintedTokens,
    REFRESH_TOKEN_REUSED_BODY, RateLimits, Reply, SseEvent, Usage, Window,
    assert_valid_openai_stream_events, decode_jwt_claims, parse_sse, pkce_challenge,
};

/// The RFC 7636 example pair.
const VERIFIER: &str = "dBjftJeZ4CVP-mJ0OlNw2aVVYyuD5m9UWbYfYpz-4zI";
const REDIRECT_URI: &str = "http://localhost:1455/auth/callback";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A minimal body the backend accepts.
fn valid_body() -> Value {
    json!({
        "model": "gpt-5.5",
        "instructions": "You are a helpful assistant.",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}],
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "store": false,
        "stream": true,
        "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "medium", "summary": "auto"},
    })
}

async fn post_responses(
    fake: &FakeUpstream,
    tokens: &MintedTokens,
    body: &Value,
) -> reqwest::Response {
    client()
        .post(fake.responses_url())
        .bearer_auth(&tokens.access_token)
        .header("chatgpt-account-id", &tokens.account_id)
        .header("accept", "text/event-stream")
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Runs one request with `reply` queued and returns its events.
async fn stream_of(
    fake: &FakeUpstream,
    tokens: &MintedTokens,
    body: &Value,
    reply: Reply,
) -> Vec<SseEvent> {
    fake.push_reply(reply);
    let response = post_responses(fake, tokens, body).await;
    assert_eq!(response.status(), 200);
    parse_sse(&response.text().await.unwrap())
}

fn data(events: &[SseEvent]) -> Vec<Value> {
    events
        .iter()
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect()
}

fn types(events: &[SseEvent]) -> Vec<String> {
    events.iter().map(|e| e.event.clone().unwrap()).collect()
}

/// Checks the framing invariants: `event:` equals the JSON `type`, numbers run 0, 1, 2, ….
fn assert_framing(events: &[SseEvent]) {
    for (index, event) in events.iter().enumerate() {
        let json: Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(
            event.event.as_deref(),
            json["type"].as_str(),
            "event name of #{index}"
        );
        assert_eq!(
            json["sequence_number"],
            json!(index),
            "sequence number of #{index}: {json}"
        );
    }
}

async fn token_form(fake: &FakeUpstream, form: &[(&str, &str)]) -> (u16, String) {
    let response = client()
        .post(format!("{}/oauth/token", fake.auth_url()))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Runs the authorize step and returns the code from the redirect.
async fn authorize_code(fake: &FakeUpstream, redirect_uri: &str) -> String {
    let url = fake.authorize_url(redirect_uri, &pkce_challenge(VERIFIER), "st4te");
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let query = location.split_once('?').unwrap().1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned()
}

/// One 400 case: name, how to break a valid body, the exact answer.
type Case = (&'static str, Box<dyn Fn(&mut Value)>, Value);

#[tokio::test]
async fn every_documented_400_is_reproduced_with_its_exact_body() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let detail = |message: &str| json!({"detail": message});
    let invalid = |message: &str, param: Value, code: Value| json!({"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}});
    let call =
        json!({"type": "function_call", "call_id": "call_X", "name": "lookup", "arguments": "{}"});
    let output = json!({"type": "function_call_output", "call_id": "call_X", "output": "done"});
    let cases: Vec<Case> = vec![
        (
            "stream false",
            Box::new(|b| b["stream"] = json!(false)),
            detail("Stream must be set to true"),
        ),
        (
            "stream missing",
            Box::new(|b| drop(b.as_object_mut().unwrap().remove("stream"))),
            detail("Stream must be set to true"),
        ),
        (
            "store true",
            Box::new(|b| b["store"] = json!(true)),
            detail("Store must be set to false"),
        ),
        (
            "store missing",
            Box::new(|b| drop(b.as_object_mut().unwrap().remove("store"))),
            detail("Store must be set to false"),
        ),
        (
            "instructions missing",
            Box::new(|b| drop(b.as_object_mut().unwrap().remove("instructions"))),
            detail("Instructions are required"),
        ),
        (
            "instructions null",
            Box::new(|b| b["instructions"] = Value::Null),
            detail("Instructions are required"),
        ),
        (
            "max_output_tokens",
            Box::new(|b| b["max_output_tokens"] = json!(64)),
            detail("Unsupported parameter: max_output_tokens"),
        ),
        (
            "temperature",
            Box::new(|b| b["temperature"] = json!(0.2)),
            detail("Unsupported parameter: temperature"),
        ),
        (
            "top_p",
            Box::new(|b| b["top_p"] = json!(0.9)),
            detail("Unsupported parameter: top_p"),
        ),
        (
            "stream_options",
            Box::new(|b| b["stream_options"] = json!({})),
            detail("Unsupported parameter: stream_options"),
        ),
        (
            "metadata",
            Box::new(|b| b["metadata"] = json!({})),
            detail("Unsupported parameter: metadata"),
        ),
        (
            "retired model",
            Box::new(|b| b["model"] = json!("gpt-5.3-codex")),
            detail(
                "The 'gpt-5.3-codex' model is not supported when using Codex with a ChatGPT account.",
            ),
        ),
        (
            "nested tool",
            Box::new(|b| {
                b["tools"] =
                    json!([{"type": "function", "function": {"name": "lookup", "parameters": {}}}]);
            }),
            invalid(
                "Missing required parameter: 'tools[0].name'.",
                json!("tools[0].name"),
                json!("missing_required_parameter"),
            ),
        ),
        (
            "nested tool_choice",
            Box::new(|b| {
                b["tool_choice"] = json!({"type": "function", "function": {"name": "lookup"}});
            }),
            invalid(
                "Unknown parameter: 'tool_choice.function'.",
                json!("tool_choice.function"),
                json!("unknown_parameter"),
            ),
        ),
        (
            "call without output",
            Box::new({
                let call = call.clone();
                move |b| b["input"].as_array_mut().unwrap().push(call.clone())
            }),
            invalid(
                "No tool output found for function call call_X.",
                json!("input"),
                Value::Null,
            ),
        ),
        (
            "output without call",
            Box::new({
                let output = output.clone();
                move |b| b["input"].as_array_mut().unwrap().push(output.clone())
            }),
            invalid(
                "No tool call found for function call output with call_id call_X.",
                json!("input"),
                Value::Null,
            ),
        ),
        (
            "previous_response_id",
            Box::new(|b| b["previous_response_id"] = json!("resp_123")),
            invalid(
                "Previous response with id 'resp_123' not found.",
                json!("previous_response_id"),
                json!("previous_response_not_found"),
            ),
        ),
        (
            "unsupported effort",
            Box::new(|b| {
                b["model"] = json!("gpt-5.4-mini");
                b["reasoning"]["effort"] = json!("none");
            }),
            invalid(
                "Unsupported value: 'reasoning.effort' does not support 'none' with this model. Supported values are: 'low', 'medium', 'high', and 'xhigh'.",
                json!("reasoning.effort"),
                json!("unsupported_value"),
            ),
        ),
        (
            "call id without fc prefix",
            Box::new({
                let (call, output) = (call.clone(), output.clone());
                move |b| {
                    let mut call = call.clone();
                    call["id"] = json!("toolu_1");
                    b["input"]
                        .as_array_mut()
                        .unwrap()
                        .extend([call, output.clone()]);
                }
            }),
            invalid(
                "Invalid 'input[1].id': 'toolu_1'. Expected an ID that begins with 'fc'.",
                json!("input[1].id"),
                json!("invalid_value"),
            ),
        ),
    ];
    for (name, mutate, expected) in &cases {
        let mut body = valid_body();
        mutate(&mut body);
        let (status, answer) = json_of(post_responses(&fake, &tokens, &body).await).await;
        assert_eq!((status, &answer), (400, expected), "case {name}");
    }
    // The paired form of the same call passes.
    let mut body = valid_body();
    body["input"].as_array_mut().unwrap().extend([call, output]);
    assert_eq!(post_responses(&fake, &tokens, &body).await.status(), 200);
    // Every rejected request is recorded with its failed validation, the last one passed.
    let recorded = fake.responses_requests();
    assert_eq!(recorded.len(), cases.len() + 1);
    assert!(
        recorded[..cases.len()]
            .iter()
            .all(|r| !r.passed_validation())
    );
    assert!(recorded[cases.len()].passed_validation());
}

#[tokio::test]
async fn validation_follows_the_documented_order() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let mut body = valid_body();
    body["stream"] = json!(false);
    body["store"] = json!(true);
    body.as_object_mut().unwrap().remove("instructions");
    body["temperature"] = json!(1);
    body["model"] = json!("gpt-4o");
    body["tools"] = json!([{"type": "function", "function": {"name": "x"}}]);
    let expected = [
        "Stream must be set to true",
        "Store must be set to false",
        "Instructions are required",
        "Unsupported parameter: temperature",
        "The 'gpt-4o' model is not supported when using Codex with a ChatGPT account.",
    ];
    for message in expected {
        let (status, answer) = json_of(post_responses(&fake, &tokens, &body).await).await;
        assert_eq!((status, answer), (400, json!({"detail": message})));
        match message {
            "Stream must be set to true" => body["stream"] = json!(true),
            "Store must be set to false" => body["store"] = json!(false),
            "Instructions are required" => body["instructions"] = json!(""),
            "Unsupported parameter: temperature" => {
                drop(body.as_object_mut().unwrap().remove("temperature"));
            }
            _ => body["model"] = json!("gpt-5.5"),
        }
    }
    let (status, answer) = json_of(post_responses(&fake, &tokens, &body).await).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["param"], "tools[0].name");
}

#[tokio::test]
async fn an_expired_access_token_gets_401_unauthorized_with_the_token_expired_headers() {
    let fake = FakeUpstream::start().await;
    let expired = fake.mint_tokens(-60);
    let response = post_responses(&fake, &expired, &valid_body()).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["x-openai-authorization-error"],
        "missing_authorization_header"
    );
    let error_json = response.headers()["x-error-json"]
        .to_str()
        .unwrap()
        .to_owned();
    let decoded =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, error_json).unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&decoded).unwrap(),
        json!({"error": {"code": "token_expired"}})
    );
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"detail":"Unauthorized"}"#
    );
    // The body was valid: only auth failed.
    assert!(fake.responses_requests()[0].passed_validation());
}

#[tokio::test]
async fn a_missing_token_or_a_foreign_account_header_is_unauthorized() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let no_token = client()
        .post(fake.responses_url())
        .json(&valid_body())
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
    let forged = client()
        .post(fake.responses_url())
        .bearer_auth(format!("{}x", tokens.access_token))
        .header("chatgpt-account-id", &tokens.account_id)
        .json(&valid_body())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let foreign = client()
        .post(fake.responses_url())
        .bearer_auth(&tokens.access_token)
        .header("chatgpt-account-id", "someone-else")
        .json(&valid_body())
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 401);
    assert_eq!(
        foreign.text().await.unwrap(),
        r#"{"detail":"Unauthorized"}"#
    );
    let no_account = client()
        .post(fake.responses_url())
        .bearer_auth(&tokens.access_token)
        .json(&valid_body())
        .send()
        .await
        .unwrap();
    assert_eq!(no_account.status(), 401);
}

#[tokio::test]
async fn authorize_redirects_to_the_callback_with_a_code_and_the_state() {
    let fake = FakeUpstream::start().await;
    let url = fake.authorize_url(REDIRECT_URI, &pkce_challenge(VERIFIER), "st4te");
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("http://localhost:1455/auth/callback?code=ac_"),
        "{location}"
    );
    assert!(location.ends_with("&state=st4te"), "{location}");

    fake.deny_next_authorize();
    let url = fake.authorize_url(REDIRECT_URI, &pkce_challenge(VERIFIER), "st4te");
    let denied = client().get(url).send().await.unwrap();
    let location = denied.headers()["location"].to_str().unwrap();
    assert!(
        location.contains("error=access_denied") && location.contains("state=st4te"),
        "{location}"
    );
}

#[tokio::test]
async fn authorize_rejects_a_request_missing_a_required_parameter() {
    let fake = FakeUpstream::start().await;
    let good = fake.authorize_url(REDIRECT_URI, &pkce_challenge(VERIFIER), "st4te");
    let cases = [
        (
            "client_id=app_EMoamEEZ73f0CkXaXp7hrann",
            "client_id=other",
            "invalid_client",
        ),
        (
            "response_type=code",
            "response_type=token",
            "unsupported_response_type",
        ),
        (
            "code_challenge_method=S256",
            "code_challenge_method=plain",
            "invalid_request",
        ),
        ("&state=st4te", "", "invalid_request"),
        (
            "redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback",
            "redirect_uri=",
            "invalid_request",
        ),
        ("+offline_access", "", "invalid_scope"),
    ];
    for (from, to, error) in cases {
        assert!(good.contains(from), "{from} not in {good}");
        let response = client().get(good.replace(from, to)).send().await.unwrap();
        let (status, body) = json_of(response).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "changing {from}"
        );
    }
}

#[tokio::test]
async fn the_code_exchange_verifies_pkce_and_the_redirect_uri() {
    let fake = FakeUpstream::start().await;
    let code = authorize_code(&fake, REDIRECT_URI).await;
    let exchange = |verifier: &'static str, redirect: &'static str, code: String| {
        let fake = &fake;
        async move {
            token_form(
                fake,
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", CLIENT_ID),
                    ("code", &code),
                    ("code_verifier", verifier),
                    ("redirect_uri", redirect),
                ],
            )
            .await
        }
    };
    let (status, body) = exchange(
        "wrong-verifier-wrong-verifier-wrong-verifier",
        REDIRECT_URI,
        code.clone(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"error": "invalid_grant", "error_description": "code_verifier does not match the code_challenge."})
    );
    let (status, body) = exchange(
        VERIFIER,
        "http://localhost:1457/auth/callback",
        code.clone(),
    )
    .await;
    assert_eq!(
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap()["error"].clone()
        ),
        (400, json!("invalid_grant"))
    );
    let (status, body) = exchange(VERIFIER, REDIRECT_URI, code).await;
    assert_eq!(status, 200, "{body}");
    let tokens: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 864_000);
    assert!(tokens["refresh_token"].as_str().unwrap().starts_with("rt_"));
    assert!(decode_jwt_claims(tokens["access_token"].as_str().unwrap()).is_some());
    assert!(decode_jwt_claims(tokens["id_token"].as_str().unwrap()).is_some());
}

#[tokio::test]
async fn an_authorization_code_can_be_exchanged_only_once() {
    let fake = FakeUpstream::start().await;
    let code = authorize_code(&fake, REDIRECT_URI).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", CLIENT_ID),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
        ("redirect_uri", REDIRECT_URI),
    ];
    assert_eq!(token_form(&fake, &form).await.0, 200);
    let (status, body) = token_form(&fake, &form).await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"error": "invalid_grant", "error_description": "Authorization code has already been used."})
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_gets_refresh_token_reused() {
    let fake = FakeUpstream::start().await;
    let seeded = fake.mint_tokens(-1);
    let refresh = |token: String| {
        let fake = &fake;
        async move {
            token_form(
                fake,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", CLIENT_ID),
                    ("refresh_token", &token),
                ],
            )
            .await
        }
    };
    let (status, body) = refresh(seeded.refresh_token.clone()).await;
    assert_eq!(status, 200, "{body}");
    let first: Value = serde_json::from_str(&body).unwrap();
    let rotated = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, seeded.refresh_token);
    assert_eq!(fake.token_refresh_count(), 1);

    // The consumed token is dead, with the exact documented body.
    let (status, body) = refresh(seeded.refresh_token.clone()).await;
    assert_eq!((status, body.as_str()), (401, REFRESH_TOKEN_REUSED_BODY));
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"error": {
            "message": "Your refresh token has already been used to generate a new access token. Please try signing in again.",
            "type": "invalid_request_error", "param": null, "code": "refresh_token_reused"}})
    );

    // The official client's JSON encoding (with scope) works too, once.
    let json_refresh = client()
        .post(format!("{}/oauth/token", fake.auth_url()))
        .json(&json!({"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": rotated, "scope": "openid profile email"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_refresh.status(), 200);
    assert_eq!(fake.token_refresh_count(), 2);
    assert_eq!(refresh(rotated).await.0, 401);

    // The new access token works on the backend.
    let access = first["access_token"].as_str().unwrap();
    let response = client()
        .post(fake.responses_url())
        .bearer_auth(access)
        .header("chatgpt-account-id", &seeded.account_id)
        .json(&valid_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(fake.token_requests().len(), 4);
}

#[tokio::test]
async fn an_unknown_refresh_token_gets_invalid_grant_and_injected_token_failures_are_answered() {
    let fake = FakeUpstream::start().await;
    let (status, body) = token_form(
        &fake,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("refresh_token", "rt_nope"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "invalid_grant"
    );

    let tokens = fake.mint_tokens(3600);
    fake.fail_next_token(503, json!({"error": "temporarily_unavailable"}));
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", CLIENT_ID),
        ("refresh_token", tokens.refresh_token.as_str()),
    ];
    assert_eq!(token_form(&fake, &form).await.0, 503);
    // The failure did not consume the token.
    assert_eq!(token_form(&fake, &form).await.0, 200);
}

#[tokio::test]
async fn a_gated_token_request_waits_for_the_test() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let gate = Gate::new();
    fake.gate_next_token(gate.clone());
    let url = format!("{}/oauth/token", fake.auth_url());
    let form = [
        ("grant_type".to_owned(), "refresh_token".to_owned()),
        ("client_id".to_owned(), CLIENT_ID.to_owned()),
        ("refresh_token".to_owned(), tokens.refresh_token.clone()),
    ];
    let pending = tokio::spawn(async move {
        client()
            .post(url)
            .form(&form)
            .send()
            .await
            .unwrap()
            .status()
    });
    gate.wait_reached().await;
    assert_eq!(fake.token_refresh_count(), 0);
    assert!(!pending.is_finished());
    gate.release();
    assert_eq!(pending.await.unwrap(), 200);
    assert_eq!(fake.token_refresh_count(), 1);
}

#[tokio::test]
async fn issued_jwts_carry_the_documented_claims() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let account = fake.account();
    let access = decode_jwt_claims(&tokens.access_token).unwrap();
    assert_eq!(
        access["https://api.openai.com/auth"],
        json!({
            "chatgpt_account_id": account.account_id,
            "chatgpt_plan_type": "plus",
            "chatgpt_user_id": account.user_id,
            "user_id": account.user_id,
        })
    );
    assert_eq!(
        access["https://api.openai.com/profile"],
        json!({"email": "user@example.com", "email_verified": true})
    );
    assert_eq!(access["exp"], json!(tokens.expires_at));
    assert_eq!(
        access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(),
        3600
    );
    let id = decode_jwt_claims(&tokens.id_token).unwrap();
    assert_eq!(id["email"], "user@example.com");
    assert_eq!(
        id["https://api.openai.com/auth"]["chatgpt_account_id"],
        json!(account.account_id)
    );
    assert!(id["exp"].is_i64() && id["iat"].is_i64());
}

#[tokio::test]
async fn the_device_code_flow_hands_out_a_code_after_approval() {
    let fake = FakeUpstream::start().await;
    let api = format!("{}/api/accounts/deviceauth", fake.auth_url());
    let (status, code) = json_of(
        client()
            .post(format!("{api}/usercode"))
            .json(&json!({"client_id": CLIENT_ID}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(code["interval"], "5");
    let user_code = code["user_code"].as_str().unwrap().to_owned();
    assert_eq!(fake.device_user_codes(), vec![user_code.clone()]);
    let poll = json!({"device_auth_id": code["device_auth_id"], "user_code": user_code});
    let pending = client()
        .post(format!("{api}/token"))
        .json(&poll)
        .send()
        .await
        .unwrap();
    assert_eq!(pending.status(), 403);

    // The user enters the code on the verification page.
    let page = client()
        .post(format!("{}/codex/device", fake.auth_url()))
        .form(&[("user_code", user_code.as_str())])
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("Device approved"));
    let (status, grant) = json_of(
        client()
            .post(format!("{api}/token"))
            .json(&poll)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        grant["code_challenge"],
        json!(pkce_challenge(grant["code_verifier"].as_str().unwrap()))
    );
    let redirect = format!("{}/deviceauth/callback", fake.auth_url());
    let (status, body) = token_form(
        &fake,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("code", grant["authorization_code"].as_str().unwrap()),
            ("code_verifier", grant["code_verifier"].as_str().unwrap()),
            ("redirect_uri", &redirect),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Auto-approval: the first poll already succeeds.
    fake.auto_approve_device_codes(true);
    let (_, code) = json_of(
        client()
            .post(format!("{api}/usercode"))
            .json(&json!({"client_id": CLIENT_ID}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let poll = json!({"device_auth_id": code["device_auth_id"], "user_code": code["user_code"]});
    assert_eq!(
        client()
            .post(format!("{api}/token"))
            .json(&poll)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn every_streamed_event_validates_against_the_openai_sdk_types() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let mut tools_body = valid_body();
    tools_body["tools"] = json!([{"type": "function", "name": "lookup", "description": "Look things up",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}, "strict": false}]);
    let mut plain_body = valid_body();
    plain_body.as_object_mut().unwrap().remove("include");
    plain_body.as_object_mut().unwrap().remove("reasoning");
    let mut search_body = valid_body();
    search_body["tools"] = json!([{"type": "web_search"}]);
    search_body["include"] = json!([
        "reasoning.encrypted_content",
        "web_search_call.action.sources"
    ]);
    let replies = [
        ("text", &plain_body, Reply::text("Hello, wörld! 你好")),
        (
            "reasoning + text",
            &valid_body(),
            Reply::reasoning("**Greeting** the user").with_text("Hello!"),
        ),
        (
            "one call",
            &tools_body,
            Reply::function_call("lookup", r#"{"q":"x"}"#),
        ),
        (
            "text + two calls",
            &tools_body,
            Reply::reasoning("**Looking**")
                .with_text("Let me check.")
                .with_function_call("lookup", r#"{"q":"a"}"#)
                .with_function_call("lookup", r#"{"q":"b"}"#),
        ),
        (
            "web search + text",
            &search_body,
            Reply::reasoning("**Searching**")
                .with_web_search("rust release", &["https://blog.rust-lang.org/"])
                .with_text("Rust 1.95 is out."),
        ),
        (
            "empty completed output",
            &valid_body(),
            Reply::text("Hi").empty_completed_output(),
        ),
        (
            "incomplete",
            &valid_body(),
            Reply::incomplete("This is cut", "max_output_tokens"),
        ),
        (
            "context length failed",
            &valid_body(),
            Reply::context_length_exceeded(),
        ),
        (
            "context length error event",
            &valid_body(),
            Reply::context_length_exceeded_error_event(),
        ),
        (
            "generic failed",
            &valid_body(),
            Reply::failed(
                "server_error",
                "An error occurred while processing your request.",
            ),
        ),
        (
            "rate limit failed",
            &valid_body(),
            Reply::failed(
                "rate_limit_exceeded",
                "Rate limit reached. Please try again in 11.054s.",
            ),
        ),
        (
            "split bytes",
            &valid_body(),
            Reply::text("añb你c").split_bytes(7),
        ),
    ];
    let mut lines = Vec::new();
    for (name, body, reply) in replies {
        let events = stream_of(&fake, &tokens, body, reply).await;
        assert!(events.len() >= 3, "{name}: {events:?}");
        assert_framing(&events);
        lines.extend(events.iter().map(|e| e.data.clone()));
    }
    assert_valid_openai_stream_events(&lines).await;
    fake.assert_all_responses_requests_valid();
}

#[tokio::test]
async fn the_sdk_validator_rejects_an_event_the_sdk_would_not_accept() {
    // A delta without `item_id`: the check must fail, not pass silently.
    let bad = json!({"type": "response.output_text.delta", "sequence_number": 0, "output_index": 0,
        "content_index": 0, "delta": "x", "logprobs": []});
    let result = crate::support::fake_backend::validate_with_openai_sdk(&[bad.to_string()]).await;
    let report = result.unwrap_err();
    assert!(report.contains("item_id"), "{report}");
}

#[tokio::test]
async fn a_text_reply_streams_the_full_lifecycle_in_several_deltas() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let events = stream_of(&fake, &tokens, &valid_body(), Reply::text("Hello there")).await;
    assert_eq!(
        types(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let json = data(&events);
    assert!(
        json[0]["response"]["id"]
            .as_str()
            .unwrap()
            .starts_with("resp_")
    );
    assert_eq!(json[0]["response"]["status"], "in_progress");
    assert!(json[2]["item"]["id"].as_str().unwrap().starts_with("msg_"));
    let deltas: String = json[4..8]
        .iter()
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, "Hello there");
    let completed = &json[11]["response"];
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["model"], "gpt-5.5");
    assert_eq!(completed["output"][0]["content"][0]["text"], "Hello there");
    let usage = &completed["usage"];
    assert!(usage["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        usage["input_tokens_details"],
        json!({"cached_tokens": 0, "cache_write_tokens": 0})
    );
    assert_eq!(
        usage["output_tokens_details"],
        json!({"reasoning_tokens": 0})
    );
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["input_tokens"].as_u64().unwrap() + usage["output_tokens"].as_u64().unwrap()
    );
    // Exact deltas on request.
    let events = stream_of(
        &fake,
        &tokens,
        &valid_body(),
        Reply::text_deltas(&["Hel", "lo!"]),
    )
    .await;
    let deltas: Vec<Value> = data(&events)
        .into_iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].clone())
        .collect();
    assert_eq!(deltas, [json!("Hel"), json!("lo!")]);
}

#[tokio::test]
async fn reasoning_carries_encrypted_content_only_when_included_and_a_summary_only_when_asked() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let events = stream_of(
        &fake,
        &tokens,
        &valid_body(),
        Reply::reasoning("**Plan**").with_text("Done"),
    )
    .await;
    let json = data(&events);
    let done = json
        .iter()
        .find(|e| e["type"] == "response.output_item.done")
        .unwrap();
    assert!(done["item"]["id"].as_str().unwrap().starts_with("rs_"));
    assert!(
        done["item"]["encrypted_content"]
            .as_str()
            .unwrap()
            .starts_with("gAAAA")
    );
    assert_eq!(
        done["item"]["summary"],
        json!([{"type": "summary_text", "text": "**Plan**"}])
    );
    assert!(
        json.iter()
            .any(|e| e["type"] == "response.reasoning_summary_text.delta")
    );
    let completed = &json.last().unwrap()["response"];
    assert_eq!(
        completed["usage"]["output_tokens_details"]["reasoning_tokens"],
        64
    );

    let mut body = valid_body();
    body["include"] = json!([]);
    body["reasoning"] = json!({"effort": "low"});
    let events = stream_of(
        &fake,
        &tokens,
        &body,
        Reply::reasoning("**Plan**").with_text("Done"),
    )
    .await;
    let json = data(&events);
    let done = json
        .iter()
        .find(|e| e["type"] == "response.output_item.done")
        .unwrap();
    assert_eq!(done["item"].get("encrypted_content"), None);
    assert_eq!(done["item"]["summary"], json!([]));
    assert!(
        !json
            .iter()
            .any(|e| e["type"] == "response.reasoning_summary_text.delta")
    );

    // The reasoning item echoed back in the next request is accepted; a foreign blob is not.
    let mut next = valid_body();
    next["input"]
        .as_array_mut()
        .unwrap()
        .push(done["item"].clone());
    assert_eq!(post_responses(&fake, &tokens, &next).await.status(), 200);
    next["input"][1]["encrypted_content"] = json!("not-ours");
    let (status, answer) = json_of(post_responses(&fake, &tokens, &next).await).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!("invalid_encrypted_content"))
    );
}

#[tokio::test]
async fn function_call_arguments_stream_in_pieces_and_completed_output_repeats_the_calls() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let reply = Reply::function_call("lookup", r#"{"q":"first"}"#).with_function_call_id(
        "call_fixed",
        "lookup",
        r#"{"q":"second"}"#,
    );
    let json = data(&stream_of(&fake, &tokens, &valid_body(), reply).await);
    let added: Vec<&Value> = json
        .iter()
        .filter(|e| e["type"] == "response.output_item.added")
        .collect();
    assert_eq!(added.len(), 2);
    assert_eq!(added[0]["item"]["arguments"], "");
    assert!(added[0]["item"]["id"].as_str().unwrap().starts_with("fc_"));
    assert!(
        added[0]["item"]["call_id"]
            .as_str()
            .unwrap()
            .starts_with("call_")
    );
    assert_eq!(added[1]["item"]["call_id"], "call_fixed");
    assert_eq!(added[1]["output_index"], 1);
    let first_deltas: Vec<&str> = json
        .iter()
        .filter(|e| e["type"] == "response.function_call_arguments.delta" && e["output_index"] == 0)
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert!(first_deltas.len() > 1);
    assert_eq!(first_deltas.concat(), r#"{"q":"first"}"#);
    let output = &json.last().unwrap()["response"]["output"];
    assert_eq!(output[0]["arguments"], r#"{"q":"first"}"#);
    assert_eq!(output[1]["arguments"], r#"{"q":"second"}"#);
    assert_eq!(output[1]["status"], "completed");
}

#[tokio::test]
async fn terminal_variants_end_the_stream_as_documented() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let json = data(
        &stream_of(
            &fake,
            &tokens,
            &valid_body(),
            Reply::text("Hi").empty_completed_output(),
        )
        .await,
    );
    assert!(
        json.iter()
            .any(|e| e["type"] == "response.output_item.done")
    );
    assert_eq!(json.last().unwrap()["response"]["output"], json!([]));

    let json = data(
        &stream_of(
            &fake,
            &tokens,
            &valid_body(),
            Reply::incomplete("cut", "max_output_tokens"),
        )
        .await,
    );
    let last = json.last().unwrap();
    assert_eq!(last["type"], "response.incomplete");
    assert_eq!(
        last["response"]["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert!(last["response"]["usage"].is_object());

    let json = data(
        &stream_of(
            &fake,
            &tokens,
            &valid_body(),
            Reply::context_length_exceeded(),
        )
        .await,
    );
    assert_eq!(
        types_of(&json),
        [
            "response.created",
            "response.in_progress",
            "response.failed"
        ]
    );
    assert_eq!(
        json[2]["response"]["error"],
        json!({"code": "context_length_exceeded", "message": CONTEXT_LENGTH_EXCEEDED_MESSAGE})
    );
    assert_eq!(json[2]["response"]["status"], "failed");

    let json = data(
        &stream_of(
            &fake,
            &tokens,
            &valid_body(),
            Reply::context_length_exceeded_error_event(),
        )
        .await,
    );
    assert_eq!(
        json[2],
        json!({"type": "error", "code": "context_length_exceeded", "message": CONTEXT_LENGTH_EXCEEDED_MESSAGE, "param": null, "sequence_number": 2})
    );
}

fn types_of(json: &[Value]) -> Vec<&str> {
    json.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn rate_limit_headers_and_wham_usage_report_the_same_numbers() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    fake.set_usage(16.5, 40.0);
    let response = post_responses(&fake, &tokens, &valid_body()).await;
    let headers = response.headers().clone();
    response.text().await.unwrap();
    let header = |name: &str| headers[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/event-stream");
    assert_eq!(header("x-codex-primary-used-percent"), "16.5");
    assert_eq!(header("x-codex-secondary-used-percent"), "40");
    assert_eq!(header("x-codex-primary-window-minutes"), "300");
    assert_eq!(header("x-codex-secondary-window-minutes"), "10080");
    assert_eq!(header("x-codex-primary-reset-after-seconds"), "8658");
    assert_eq!(header("x-codex-secondary-reset-after-seconds"), "111779");
    let primary_reset_at: i64 = header("x-codex-primary-reset-at").parse().unwrap();
    assert_eq!(header("x-codex-credits-has-credits"), "False");
    assert_eq!(header("x-codex-credits-unlimited"), "False");
    assert_eq!(header("x-codex-credits-balance"), "0");
    assert_eq!(header("x-codex-plan-type"), "plus");

    let usage = client()
        .get(format!("{}/wham/usage", fake.backend_url()))
        .bearer_auth(&tokens.access_token)
        .header("chatgpt-account-id", &tokens.account_id)
        .send()
        .await
        .unwrap();
    let (status, usage) = json_of(usage).await;
    assert_eq!(status, 200);
    let primary = &usage["rate_limit"]["primary_window"];
    assert_eq!(primary["used_percent"], 17);
    assert_eq!(primary["limit_window_seconds"], 18_000);
    assert_eq!(primary["reset_after_seconds"], 8658);
    assert!((primary["reset_at"].as_i64().unwrap() - primary_reset_at).abs() <= 1);
    assert_eq!(usage["rate_limit"]["secondary_window"]["used_percent"], 40);
    assert_eq!(
        usage["rate_limit"]["secondary_window"]["limit_window_seconds"],
        604_800
    );
    assert_eq!(usage["email"], "user@example.com");
    assert_eq!(usage["plan_type"], "plus");
    assert_eq!(usage["credits"]["balance"], "0");

    // A plan with a single weekly window: secondary headers are empty/zero, secondary_window null.
    fake.set_rate_limits(RateLimits {
        primary: Some(Window {
            used_percent: 5.0,
            length_minutes: 10_080,
            reset_after_seconds: 500_000,
        }),
        secondary: None,
        credits_has_credits: true,
        credits_unlimited: false,
        credits_balance: Some("12.5".to_owned()),
    });
    let response = post_responses(&fake, &tokens, &valid_body()).await;
    assert_eq!(response.headers()["x-codex-secondary-window-minutes"], "0");
    assert_eq!(response.headers()["x-codex-secondary-reset-at"], "");
    assert_eq!(response.headers()["x-codex-credits-has-credits"], "True");
    let usage = client()
        .get(format!("{}/wham/usage", fake.backend_url()))
        .bearer_auth(&tokens.access_token)
        .send()
        .await
        .unwrap();
    let (_, usage) = json_of(usage).await;
    assert_eq!(usage["rate_limit"]["secondary_window"], Value::Null);
}

#[tokio::test]
async fn a_full_window_or_an_injected_failure_answers_429_usage_limit_reached_with_headers() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    fake.fail_next(Failure::UsageLimitReached);
    let response = post_responses(&fake, &tokens, &valid_body()).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["x-codex-primary-used-percent"], "100");
    assert_eq!(
        response.headers()["x-codex-primary-reset-after-seconds"],
        "8658"
    );
    assert!(response.headers().contains_key("x-codex-primary-reset-at"));
    let (_, body) = json_of(response).await;
    let error = &body["error"];
    assert_eq!(error["type"], "usage_limit_reached");
    assert_eq!(error["message"], "The usage limit has been reached");
    assert_eq!(error["plan_type"], "plus");
    assert_eq!(error["resets_in_seconds"], 8658);
    assert!(error["resets_at"].as_i64().unwrap() > 1_700_000_000);
    // The injected failure was used once.
    assert_eq!(
        post_responses(&fake, &tokens, &valid_body()).await.status(),
        200
    );

    fake.set_usage(3.0, 100.0);
    let response = post_responses(&fake, &tokens, &valid_body()).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["x-codex-secondary-used-percent"], "100");
    let (_, body) = json_of(response).await;
    assert_eq!(body["error"]["resets_in_seconds"], 111_779);
    let usage = client()
        .get(format!("{}/wham/usage", fake.backend_url()))
        .bearer_auth(&tokens.access_token)
        .send()
        .await
        .unwrap();
    let (_, usage) = json_of(usage).await;
    assert_eq!(usage["rate_limit"]["limit_reached"], true);
}

#[tokio::test]
async fn injected_401_503_and_500_answer_the_documented_bodies() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    fake.fail_next(Failure::Unauthorized);
    fake.fail_next(Failure::Overloaded);
    fake.fail_next(Failure::ServerError);
    fake.fail_next(Failure::Status(402, json!({"detail": "Payment Required"})));
    let (status, body) = json_of(post_responses(&fake, &tokens, &valid_body()).await).await;
    assert_eq!((status, body), (401, json!({"detail": "Unauthorized"})));
    let (status, body) = json_of(post_responses(&fake, &tokens, &valid_body()).await).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (503, json!("server_is_overloaded"))
    );
    let (status, body) = json_of(post_responses(&fake, &tokens, &valid_body()).await).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (500, json!("server_error"))
    );
    let (status, body) = json_of(post_responses(&fake, &tokens, &valid_body()).await).await;
    assert_eq!((status, body), (402, json!({"detail": "Payment Required"})));
    assert_eq!(
        post_responses(&fake, &tokens, &valid_body()).await.status(),
        200
    );
}

#[tokio::test]
async fn a_dropped_stream_ends_after_n_events_without_a_terminal_event() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let events = stream_of(
        &fake,
        &tokens,
        &valid_body(),
        Reply::text("Hello there").drop_after(5),
    )
    .await;
    assert_eq!(events.len(), 5);
    assert_framing(&events);
    assert!(!types(&events).iter().any(|t| t == "response.completed"));

    fake.push_reply(Reply::text("Hello there").abort_after(4));
    let response = post_responses(&fake, &tokens, &valid_body()).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.text().await.is_err(),
        "an aborted body must fail to read"
    );
}

#[tokio::test]
async fn a_header_gate_holds_the_response_until_the_test_releases_it() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let gate = Gate::new();
    fake.push_reply(Reply::text("late").gate_headers(gate.clone()));
    let request = client()
        .post(fake.responses_url())
        .bearer_auth(&tokens.access_token)
        .header("chatgpt-account-id", &tokens.account_id)
        .json(&valid_body());
    let pending = tokio::spawn(async move { request.send().await.unwrap().text().await.unwrap() });
    gate.wait_reached().await;
    assert!(!pending.is_finished());
    gate.release();
    let body = pending.await.unwrap();
    assert!(body.contains("event: response.completed"));
}

#[tokio::test]
async fn an_event_gate_pauses_the_stream_mid_way() {
    use futures_util::StreamExt as _;
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let gate = Gate::new();
    fake.push_reply(Reply::text("Hello there").gate_before_event(3, gate.clone()));
    let response = post_responses(&fake, &tokens, &valid_body()).await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut text = String::new();
    while parse_sse(&text).len() < 3 {
        text.push_str(std::str::from_utf8(&body.next().await.unwrap().unwrap()).unwrap());
    }
    gate.wait_reached().await;
    assert_eq!(parse_sse(&text).len(), 3, "nothing past the gate yet");
    gate.release();
    while let Some(chunk) = body.next().await {
        text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    let events = parse_sse(&text);
    assert_eq!(events.len(), 12);
    assert_framing(&events);
}

#[tokio::test]
async fn a_body_left_open_after_completed_stays_open_until_the_client_leaves() {
    use futures_util::StreamExt as _;
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    fake.push_reply(Reply::text("Hi").stay_open());
    let response = post_responses(&fake, &tokens, &valid_body()).await;
    let mut body = response.bytes_stream();
    let mut text = String::new();
    while !text.contains("event: response.completed") {
        text.push_str(std::str::from_utf8(&body.next().await.unwrap().unwrap()).unwrap());
    }
    // Completed was sent, and the fake still holds the body open.
    assert_eq!(fake.open_streams(), 1);
    drop(body);
    fake.wait_for_open_streams(0).await;
}

#[tokio::test]
async fn every_request_is_recorded_with_its_headers_and_parsed_body() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let response = client()
        .post(fake.responses_url())
        .bearer_auth(&tokens.access_token)
        .header("chatgpt-account-id", &tokens.account_id)
        .header("originator", "codexia")
        .header("session_id", "sess-1")
        .json(&valid_body())
        .send()
        .await
        .unwrap();
    response.text().await.unwrap();
    token_form(
        &fake,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("refresh_token", "rt_x"),
        ],
    )
    .await;
    client()
        .get(format!(
            "{}/codex/models?client_version=0.1.0",
            fake.backend_url()
        ))
        .send()
        .await
        .unwrap();
    fake.wait_for_requests("/backend-api/codex/models", 1).await;

    let all = fake.requests();
    assert_eq!(all.len(), 3);
    let responses = &fake.responses_requests()[0];
    assert_eq!(
        (responses.method.as_str(), responses.path.as_str()),
        ("POST", "/backend-api/codex/responses")
    );
    assert_eq!(responses.header("Originator"), Some("codexia"));
    assert_eq!(responses.header("session_id"), Some("sess-1"));
    assert_eq!(
        responses.header("authorization"),
        Some(format!("Bearer {}", tokens.access_token).as_str())
    );
    assert_eq!(responses.body_json(), &valid_body());
    assert!(responses.passed_validation());
    let token = &fake.token_requests()[0];
    assert_eq!(
        token.form.as_ref().unwrap()[0],
        ("grant_type".to_owned(), "refresh_token".to_owned())
    );
    assert_eq!(token.param("refresh_token").as_deref(), Some("rt_x"));
    assert_eq!(token.validation, None);
    assert_eq!(
        all[2].query_param("client_version").as_deref(),
        Some("0.1.0")
    );
    fake.assert_all_responses_requests_valid();

    // An invalid request makes the all-valid assertion fail.
    let mut bad = valid_body();
    bad["temperature"] = json!(0);
    post_responses(&fake, &tokens, &bad).await;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        fake.assert_all_responses_requests_valid();
    }));
    assert!(outcome.is_err());
}

#[tokio::test]
async fn models_and_accounts_endpoints_answer_the_documented_shapes() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let get = |path: &str| {
        client()
            .get(format!("{}{path}", fake.backend_url()))
            .bearer_auth(&tokens.access_token)
            .header("chatgpt-account-id", &tokens.account_id)
            .send()
    };
    let (status, models) =
        json_of(get("/codex/models?client_version=0.146.0").await.unwrap()).await;
    assert_eq!(status, 200);
    let first = &models["models"][0];
    assert_eq!(first["slug"], "gpt-5.5");
    assert_eq!(first["display_name"], "GPT-5.5");
    assert_eq!(first["context_window"], 272_000);
    assert_eq!(first["visibility"], "list");
    assert_eq!(first["input_modalities"], json!(["text", "image"]));
    assert_eq!(first["supported_reasoning_levels"][0]["effort"], "none");
    let slugs: Vec<&str> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["slug"].as_str().unwrap())
        .collect();
    assert!(slugs.contains(&"codex-auto-review"));

    let (status, check) = json_of(get("/accounts/check/v4-2023-04-27").await.unwrap()).await;
    assert_eq!(status, 200);
    let default = &check["accounts"]["default"];
    assert_eq!(default["account"]["account_id"], json!(tokens.account_id));
    assert_eq!(default["account"]["structure"], "personal");
    assert_eq!(default["entitlement"]["has_active_subscription"], true);
    assert_eq!(
        default["entitlement"]["subscription_plan"],
        "chatgptplusplan"
    );
    assert_eq!(check["account_ordering"], json!([tokens.account_id]));

    let anonymous = client()
        .get(format!("{}/wham/usage", fake.backend_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn a_repeated_prompt_cache_key_reports_cached_tokens_and_explicit_usage_wins() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let mut body = valid_body();
    body["prompt_cache_key"] = json!("conv-1");
    let usage_of =
        |events: Vec<SseEvent>| data(&events).last().unwrap()["response"]["usage"].clone();
    let first = usage_of(stream_of(&fake, &tokens, &body, Reply::text("a")).await);
    assert_eq!(first["input_tokens_details"]["cached_tokens"], 0);
    let second = usage_of(stream_of(&fake, &tokens, &body, Reply::text("b")).await);
    assert_eq!(
        second["input_tokens_details"]["cached_tokens"],
        second["input_tokens"]
    );

    let usage = Usage {
        input_tokens: 100,
        cached_tokens: 40,
        cache_write_tokens: 7,
        output_tokens: 20,
        reasoning_tokens: 5,
    };
    let explicit = usage_of(
        stream_of(
            &fake,
            &tokens,
            &valid_body(),
            Reply::text("c").with_usage(usage),
        )
        .await,
    );
    assert_eq!(
        explicit,
        json!({"input_tokens": 100, "input_tokens_details": {"cached_tokens": 40, "cache_write_tokens": 7},
            "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 5}, "total_tokens": 120})
    );
}

#[tokio::test]
async fn the_default_reply_is_ok_and_pushed_replies_are_used_in_order() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    fake.push_reply(Reply::text("first"));
    fake.push_reply(Reply::text("second"));
    assert_eq!(fake.pending_replies(), 2);
    let text_of = |events: Vec<SseEvent>| {
        data(&events)
            .iter()
            .find(|e| e["type"] == "response.output_text.done")
            .map(|e| e["text"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let body = valid_body();
    let mut answers = Vec::new();
    for _ in 0..3 {
        let response = post_responses(&fake, &tokens, &body).await;
        answers.push(text_of(parse_sse(&response.text().await.unwrap())));
    }
    assert_eq!(answers, ["first", "second", "OK"]);
    fake.set_default_reply(Reply::text("echo"));
    let response = post_responses(&fake, &tokens, &body).await;
    assert_eq!(text_of(parse_sse(&response.text().await.unwrap())), "echo");
}
