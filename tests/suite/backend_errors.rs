//! One mapping of backend failures for all three APIs: the same failure gives the same status
//! and error type on /v1/messages, /v1/chat/completions and /v1/responses (each in its own
//! envelope), and a backend 400 on a request codexia translated is a 502 that names codexia.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::fake_backend::{Failure, Reply};
use crate::support::harness::{Answer, Harness};

/// Sends the same question through each API, streaming; the answers in API order.
async fn ask_all_three(h: &Harness) -> [Answer; 3] {
    let prompt = json!([{"role": "user", "content": "Hi"}]);
    [
        h.messages(&json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": true, "messages": prompt}))
            .await,
        h.chat(&json!({"model": "gpt-5.5", "stream": true, "messages": prompt}))
            .await,
        h.responses(&json!({"model": "gpt-5.5", "stream": true, "input": "Hi"}))
            .await,
    ]
}

/// `(status, error type)` of each answer: Anthropic's `error.type` for the first, OpenAI's for
/// the other two.
fn kinds(answers: &[Answer; 3]) -> Vec<(u16, Value)> {
    answers
        .iter()
        .map(|answer| (answer.status, answer.json()["error"]["type"].clone()))
        .collect()
}

#[tokio::test]
async fn the_same_in_stream_failure_gives_the_same_status_and_type_on_all_three_apis() {
    let h = Harness::start().await;
    let table = [
        (
            "rate_limit_exceeded",
            "Rate limit reached. Please try again in 3s.",
            429,
            "rate_limit_error",
            "rate_limit_error",
        ),
        (
            "context_length_exceeded",
            "Your input exceeds the context window of this model.",
            400,
            "invalid_request_error",
            "invalid_request_error",
        ),
        (
            "server_error",
            "The server had an error.",
            502,
            "api_error",
            "server_error",
        ),
    ];
    for (code, message, status, anthropic, openai) in table {
        for _ in 0..3 {
            h.fake.push_reply(Reply::failed(code, message));
        }
        let answers = ask_all_three(&h).await;
        assert_eq!(
            kinds(&answers),
            vec![
                (status, json!(anthropic)),
                (status, json!(openai)),
                (status, json!(openai))
            ],
            "{code}"
        );
        if code == "rate_limit_exceeded" {
            let retry: Vec<Option<&str>> =
                answers.iter().map(|a| a.header("retry-after")).collect();
            assert_eq!(retry, vec![Some("3"); 3]);
        }
    }
    h.upstream();
}

#[tokio::test]
async fn a_backend_400_on_a_translated_request_is_a_502_that_names_codexia() {
    let h = Harness::start().await;
    for _ in 0..3 {
        h.fake.fail_next(Failure::Status(
            400,
            json!({"detail": "Unsupported parameter: temperature"}),
        ));
    }
    let answers = ask_all_three(&h).await;
    assert_eq!(
        kinds(&answers),
        vec![
            (502, json!("api_error")),
            (502, json!("server_error")),
            (502, json!("server_error"))
        ]
    );
    for answer in &answers {
        let message = answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains("this is a codexia bug"), "{message}");
        assert!(
            message.ends_with("The backend said: Unsupported parameter: temperature"),
            "{message}"
        );
    }
}
