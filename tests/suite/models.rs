//! Model ids the backend does not serve (issue 14, acceptance point 4): another size of a served
//! family answers through the nearest served size, a made-up id gets 404 listing what is served.
//! The built binary against the fake backend, whose catalog is gpt-5.5, gpt-5.4, gpt-5.4-mini,
//! gpt-5.1-codex-max and gpt-5.3-codex-spark.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::codexia::{Server, TestHome};
use crate::support::fake_backend::FakeUpstream;
use crate::support::harness::{home_for, seed_credentials};

/// A signed-in home on the fake, its `config.json` set to `config`.
fn signed_in(fake: &FakeUpstream, config: &str) -> TestHome {
    let home = home_for(fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    seed_credentials(&home, &fake.mint_tokens(3600));
    home.write_config(config);
    home
}

async fn chat(server: &Server, model: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "Title this"}]}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The `model` of each request the fake received on /codex/responses.
fn upstream_models(fake: &FakeUpstream) -> Vec<String> {
    fake.assert_all_responses_requests_valid();
    fake.responses_requests()
        .iter()
        .map(|r| r.param("model").unwrap())
        .collect()
}

#[tokio::test]
async fn an_unserved_size_answers_through_the_nearest_served_size_and_is_logged_once() {
    let fake = FakeUpstream::start().await;
    let home = signed_in(&fake, "{}");
    let mut server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let stderr = server.child.stderr.take().unwrap();

    for _ in 0..2 {
        let (status, body) = chat(&server, "gpt-5.4-nano").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["choices"][0]["message"]["content"], "OK");
        // The answer names the id the client asked for.
        assert_eq!(body["model"], "gpt-5.4-nano");
    }
    assert_eq!(upstream_models(&fake), ["gpt-5.4-mini", "gpt-5.4-mini"]);

    server.terminate().await;
    let mut log = Vec::new();
    let mut lines = BufReader::new(stderr).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        log.push(line);
    }
    let notices: Vec<&String> = log.iter().filter(|l| l.contains("gpt-5.4-nano")).collect();
    assert_eq!(notices.len(), 1, "{log:#?}");
    assert!(
        notices[0].contains("INFO")
            && notices[0].ends_with(
                "model \"gpt-5.4-nano\" is not served; answering with the nearest size, \"gpt-5.4-mini\" (a model_aliases entry can choose another)"
            ),
        "{log:#?}"
    );
}

#[tokio::test]
async fn an_alias_for_an_unserved_size_wins_over_the_nearest_size() {
    let fake = FakeUpstream::start().await;
    let home = signed_in(&fake, r#"{"model_aliases": {"gpt-5.4-nano": "gpt-5.5"}}"#);
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let (status, body) = chat(&server, "gpt-5.4-nano").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(upstream_models(&fake), ["gpt-5.5"]);
    server.terminate().await;
}

#[tokio::test]
async fn a_made_up_id_gets_404_listing_the_served_ids_without_a_backend_call() {
    let fake = FakeUpstream::start().await;
    let home = signed_in(&fake, "{}");
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    for made_up in ["gpt-9-nano", "gpt-5.4-turbo", "my-model-mini"] {
        let (status, body) = chat(&server, made_up).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["code"], "not_found");
        assert_eq!(
            body["error"]["message"],
            format!(
                "The model \"{made_up}\" is not served by this gateway. Served models: gpt-5.5, gpt-5.4, gpt-5.4-mini, gpt-5.1-codex-max, gpt-5.3-codex-spark."
            )
        );
    }
    assert_eq!(upstream_models(&fake), Vec::<String>::new());
    server.terminate().await;
}
