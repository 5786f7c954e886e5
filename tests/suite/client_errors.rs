//! What the gateway answers for a client's mistakes, over HTTP, in both dialects: the
//! Anthropic envelope on `/v1/messages`, the OpenAI envelope on `/v1/chat/completions`. One
//! test per mistake, one inline snapshot per dialect (status and body; the Anthropic request
//! id is checked, then redacted). None of these requests may reach the backend.

use insta::assert_json_snapshot;
use serde_json::json;

use crate::support::harness::{ANTHROPIC, Harness, OPENAI};
use crate::support::snapshot::error_answer;

/// A body both routes accept (with the route's own `messages`).
fn valid(model: &str) -> serde_json::Value {
    json!({"model": model, "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_400() {
    let h = Harness::start().await;
    let broken = r#"{"model": "gpt-5.5", "messages": ["#;
    let anthropic = h.post_raw("/v1/messages", broken.into(), ANTHROPIC).await;
    assert_json_snapshot!(error_answer(&anthropic), @r#"
    {
      "body": {
        "error": {
          "message": "invalid request body: messages: EOF while parsing a list at line 1 column 34",
          "type": "invalid_request_error"
        },
        "request_id": "[request-id]",
        "type": "error"
      },
      "status": 400
    }
    "#);
    let openai = h
        .post_raw("/v1/chat/completions", broken.into(), OPENAI)
        .await;
    assert_json_snapshot!(error_answer(&openai), @r#"
    {
      "body": {
        "error": {
          "code": null,
          "message": "invalid request body: messages: EOF while parsing a list at line 1 column 34",
          "param": null,
          "type": "invalid_request_error"
        }
      },
      "status": 400
    }
    "#);
    assert!(h.fake.responses_requests().is_empty());
}

#[tokio::test]
async fn a_missing_field_is_a_400_naming_it() {
    let h = Harness::start().await;
    let no_model = json!({"max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]});
    let anthropic = h.post("/v1/messages", &no_model, ANTHROPIC).await;
    assert_json_snapshot!(error_answer(&anthropic), @r#"
    {
      "body": {
        "error": {
          "message": "invalid request body: missing field `model` at line 1 column 62",
          "type": "invalid_request_error"
        },
        "request_id": "[request-id]",
        "type": "error"
      },
      "status": 400
    }
    "#);
    let openai = h.post("/v1/chat/completions", &no_model, OPENAI).await;
    assert_json_snapshot!(error_answer(&openai), @r#"
    {
      "body": {
        "error": {
          "code": null,
          "message": "invalid request body: missing field `model` at line 1 column 62",
          "param": null,
          "type": "invalid_request_error"
        }
      },
      "status": 400
    }
    "#);
    assert!(h.fake.responses_requests().is_empty());
}

#[tokio::test]
async fn an_unknown_model_is_a_404_listing_the_served_ones() {
    let h = Harness::start().await;
    let anthropic = h.post("/v1/messages", &valid("gpt-4o"), ANTHROPIC).await;
    assert_json_snapshot!(error_answer(&anthropic), @r#"
    {
      "body": {
        "error": {
          "message": "The model \"gpt-4o\" is not served by this gateway. Served models: gpt-5.5, gpt-5.4, gpt-5.4-mini, gpt-5.1-codex-max, gpt-5.3-codex-spark.",
          "type": "not_found_error"
        },
        "request_id": "[request-id]",
        "type": "error"
      },
      "status": 404
    }
    "#);
    let openai = h
        .post("/v1/chat/completions", &valid("gpt-4o"), OPENAI)
        .await;
    assert_json_snapshot!(error_answer(&openai), @r#"
    {
      "body": {
        "error": {
          "code": "not_found",
          "message": "The model \"gpt-4o\" is not served by this gateway. Served models: gpt-5.5, gpt-5.4, gpt-5.4-mini, gpt-5.1-codex-max, gpt-5.3-codex-spark.",
          "param": null,
          "type": "invalid_request_error"
        }
      },
      "status": 404
    }
    "#);
    assert!(h.fake.responses_requests().is_empty());
}

#[tokio::test]
async fn a_wrong_api_key_is_a_401() {
    let h = Harness::start_with(&["--api-key", "the-right-key"]).await;
    let anthropic = h
        .post(
            "/v1/messages",
            &valid("gpt-5.5"),
            &[("anthropic-version", "2023-06-01"), ("x-api-key", "wrong")],
        )
        .await;
    assert_json_snapshot!(error_answer(&anthropic), @r#"
    {
      "body": {
        "error": {
          "message": "Missing or invalid API key: send the gateway's key as `Authorization: Bearer KEY` or `x-api-key: KEY`.",
          "type": "authentication_error"
        },
        "request_id": "[request-id]",
        "type": "error"
      },
      "status": 401
    }
    "#);
    let openai = h
        .post(
            "/v1/chat/completions",
            &valid("gpt-5.5"),
            &[("authorization", "Bearer wrong")],
        )
        .await;
    assert_json_snapshot!(error_answer(&openai), @r#"
    {
      "body": {
        "error": {
          "code": "invalid_api_key",
          "message": "Missing or invalid API key: send the gateway's key as `Authorization: Bearer KEY` or `x-api-key: KEY`.",
          "param": null,
          "type": "authentication_error"
        }
      },
      "status": 401
    }
    "#);
    assert!(h.fake.responses_requests().is_empty());
}

#[tokio::test]
async fn a_wrong_method_is_a_405() {
    let h = Harness::start().await;
    let anthropic = h.get("/v1/messages", ANTHROPIC).await;
    assert_json_snapshot!(error_answer(&anthropic), @r#"
    {
      "body": {
        "error": {
          "message": "GET is not allowed on /v1/messages.",
          "type": "invalid_request_error"
        },
        "request_id": "[request-id]",
        "type": "error"
      },
      "status": 405
    }
    "#);
    let openai = h.get("/v1/chat/completions", OPENAI).await;
    assert_json_snapshot!(error_answer(&openai), @r#"
    {
      "body": {
        "error": {
          "code": "method_not_allowed",
          "message": "GET is not allowed on /v1/chat/completions.",
          "param": null,
          "type": "invalid_request_error"
        }
      },
      "status": 405
    }
    "#);
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let h = Harness::start().await;
    // One byte over the gateway's 32 MiB limit, as a JSON string the parser never sees.
    let limit = 32 * 1024 * 1024;
    let head = r#"{"model": "gpt-5.5", "messages": [], "padding": ""#;
    let padding = limit + 1 - head.len() - 2;
    let oversized = format!("{head}{}\"}}", "x".repeat(padding));
    assert_eq!(oversized.len(), limit + 1);
    let anthropic = h
        .post_raw("/v1/messages", oversized.clone(), ANTHROPIC)
        .await;
    assert_json_snapshot!(error_answer(&anthropic), @r#"
    {
      "body": {
        "error": {
          "message": "The request body is larger than the gateway accepts (32 MiB).",
          "type": "request_too_large"
        },
        "request_id": "[request-id]",
        "type": "error"
      },
      "status": 413
    }
    "#);
    let openai = h.post_raw("/v1/chat/completions", oversized, OPENAI).await;
    assert_json_snapshot!(error_answer(&openai), @r#"
    {
      "body": {
        "error": {
          "code": "request_too_large",
          "message": "The request body is larger than the gateway accepts (32 MiB).",
          "param": null,
          "type": "invalid_request_error"
        }
      },
      "status": 413
    }
    "#);
    assert!(h.fake.responses_requests().is_empty());
}
