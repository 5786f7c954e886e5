//! Configuration precedence (flag > env > config.json > default) observed on the real binary,
//! the models-file shapes, and the errors for bad configuration.

use std::os::unix::fs::PermissionsExt;

use pretty_assertions::assert_eq;

use crate::support::codexia::{TestHome, text};

async fn models(home: &TestHome) -> Vec<String> {
    let output = home.run(&["models"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout).lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn bind_comes_from_the_flag_then_env_then_file_then_default() {
    let home = TestHome::new();
    home.write_config(r#"{"bind": "127.0.0.3:0"}"#);
    let server = home.serve(&[]).await;
    assert_eq!(server.addr.ip().to_string(), "127.0.0.3");

    let home_env = TestHome::new().env("CODEXIA_BIND", "127.0.0.2:0");
    home_env.write_config(r#"{"bind": "127.0.0.3:0"}"#);
    let server = home_env.serve(&[]).await;
    assert_eq!(server.addr.ip().to_string(), "127.0.0.2");
    let server = home_env.serve(&["--bind", "127.0.0.4:0"]).await;
    assert_eq!(server.addr.ip().to_string(), "127.0.0.4");

    let output = TestHome::new().run(&["config", "show"]).await;
    let shown = text(&output.stdout);
    assert!(
        shown.lines().any(|l| l.starts_with("bind")
            && l.contains("127.0.0.1:14550")
            && l.ends_with("(default)")),
        "{shown}"
    );
}

#[tokio::test]
async fn the_api_key_comes_from_the_flag_then_env_then_file() {
    async fn accepted(server_args: &[&str], home: &TestHome, key: &str) -> bool {
        let server = home.serve(server_args).await;
        let status = reqwest::Client::new()
            .get(server.url("/v1/models"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .status();
        status == 200
    }
    let home = TestHome::new().env("CODEXIA_API_KEY", "env-key");
    home.write_config(r#"{"api_key": "file-key"}"#);
    assert!(
        accepted(
            &["--bind", "127.0.0.1:0", "--api-key", "flag-key"],
            &home,
            "flag-key"
        )
        .await
    );
    assert!(
        !accepted(
            &["--bind", "127.0.0.1:0", "--api-key", "flag-key"],
            &home,
            "env-key"
        )
        .await
    );
    assert!(accepted(&["--bind", "127.0.0.1:0"], &home, "env-key").await);
    assert!(!accepted(&["--bind", "127.0.0.1:0"], &home, "file-key").await);
    let file_only = TestHome::new();
    file_only.write_config(r#"{"api_key": "file-key"}"#);
    assert!(accepted(&["--bind", "127.0.0.1:0"], &file_only, "file-key").await);
}

#[tokio::test]
async fn models_come_from_the_flag_then_env_then_file_then_the_builtin_list() {
    let home = TestHome::new();
    assert_eq!(models(&home).await.len(), 11, "the built-in list");
    home.write_config(r#"{"models": ["file-a", "file-b"]}"#);
    assert_eq!(models(&home).await, ["file-a", "file-b"]);

    let home = TestHome::new().env("CODEXIA_MODELS", "env-a,env-b");
    home.write_config(r#"{"models": ["file-a"]}"#);
    assert_eq!(models(&home).await, ["env-a", "env-b"]);

    let server = home
        .serve(&["--bind", "127.0.0.1:0", "--models", "flag-a"])
        .await;
    let list: serde_json::Value = reqwest::get(server.url("/v1/models"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["id"], "flag-a");
}

#[tokio::test]
async fn both_models_file_shapes_are_read() {
    let home = TestHome::new();
    let list = home.codexia_home().join("list.json");
    std::fs::write(&list, r#"["gpt-5.5", "my-model"]"#).unwrap();
    let home = home.env("CODEXIA_MODELS_FILE", list.to_str().unwrap());
    assert_eq!(models(&home).await, ["gpt-5.5", "my-model"]);

    let home = TestHome::new();
    let object = home.codexia_home().join("object.json");
    std::fs::write(
        &object,
        r#"{"models": ["gpt-5.4"], "extra_models": ["gpt-5.6-sol"]}"#,
    )
    .unwrap();
    let home = home.env("CODEXIA_MODELS_FILE", object.to_str().unwrap());
    assert_eq!(models(&home).await, ["gpt-5.4", "gpt-5.6-sol"]);

    let home = TestHome::new();
    let extra_only = home.codexia_home().join("extra.json");
    std::fs::write(&extra_only, r#"{"extra_models": ["gpt-5.6-sol"]}"#).unwrap();
    let home = home.env("CODEXIA_MODELS_FILE", extra_only.to_str().unwrap());
    let served = models(&home).await;
    assert_eq!(served.len(), 12, "built-in list plus the extra: {served:?}");
    assert_eq!(served.last().unwrap(), "gpt-5.6-sol");
}

#[tokio::test]
async fn a_broken_config_file_is_named_with_what_is_wrong() {
    let home = TestHome::new();
    home.write_config(r#"{"bind": "127.0.0.1:0",,}"#);
    let output = home.run(&["serve"]).await;
    assert_eq!(output.status.code(), Some(2));
    let path = home.codexia_home().join("config.json");
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: {p} is not valid configuration: key must be a string at line 1 column 24\n\
             hint: fix or remove {p}; `codexia config reset` starts over with the defaults\n",
            p = path.display()
        )
    );

    home.write_config(r#"{"bnid": "127.0.0.1:0"}"#);
    let stderr = text(&home.run(&["serve"]).await.stderr);
    assert!(stderr.contains("unknown field `bnid`"), "{stderr}");

    home.write_config(r#"{"bind": "nowhere"}"#);
    let stderr = text(&home.run(&["serve"]).await.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: the bind field of {} is invalid",
            path.display()
        )),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_bad_environment_value_names_the_variable() {
    let home = TestHome::new().env("CODEXIA_MODELS_FILE", "/nonexistent/models.json");
    let output = home.run(&["models"]).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with(
            "error: models file /nonexistent/models.json (from CODEXIA_MODELS_FILE) is invalid"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: fix the file, or unset CODEXIA_MODELS_FILE"),
        "{stderr}"
    );
}

#[tokio::test]
async fn config_show_reports_sources_and_masks_the_key() {
    let home = TestHome::new().env("CODEXIA_API_KEY", "sk-secret-abcdef");
    home.write_config(r#"{"model_fallback": "gpt-5.4"}"#);
    let output = home.run(&["config", "show"]).await;
    assert!(output.status.success());
    let shown = text(&output.stdout);
    assert!(!shown.contains("sk-secret-abcdef"), "{shown}");
    let line = |name: &str| {
        shown
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .to_owned()
    };
    assert!(
        line("api_key").contains("sk-s… (16 characters)") && line("api_key").ends_with("(env)")
    );
    assert!(
        line("model_fallback").contains("gpt-5.4")
            && line("model_fallback").ends_with("(config.json)")
    );
}

#[tokio::test]
async fn config_reset_needs_yes_without_a_terminal_and_keeps_a_backup() {
    let home = TestHome::new();
    home.write_config(r#"{"bind": "127.0.0.1:9999"}"#);
    let output = home.run(&["config", "reset"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("hint: run `codexia config reset --yes`"));
    assert!(home.codexia_home().join("config.json").exists());

    let output = home.run(&["config", "reset", "--yes"]).await;
    assert!(output.status.success());
    assert!(!home.codexia_home().join("config.json").exists());
    assert_eq!(
        std::fs::read_to_string(home.codexia_home().join("config.json.bak")).unwrap(),
        r#"{"bind": "127.0.0.1:9999"}"#
    );
}

#[tokio::test]
async fn help_lists_every_command() {
    let output = TestHome::new().run(&["--help"]).await;
    assert!(output.status.success());
    let help = text(&output.stdout);
    for command in [
        "login", "logout", "serve", "status", "models", "config", "daemon", "claude",
    ] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} missing from:\n{help}"
        );
    }
}

/// The Python used to drive terminals and SDKs (set up by `make test`).
fn python() -> String {
    std::env::var("CODEXIA_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

#[tokio::test]
async fn interactive_config_through_a_terminal_writes_the_answers() {
    let home = TestHome::new();
    home.write_config(r#"{"allowed_origins": ["http://localhost:3000"], "api_key": "old-key-1"}"#);
    let down = "\u{1b}[B";
    let script = serde_json::json!([
        ["Bind address", "127.0.0.1:15001\r"],
        // Keep / No key / Generate / Enter: pick "Generate a new key".
        ["Generate a new key", format!("{down}{down}\r")],
        ["Served models", "gpt-5.5,gpt-5.4-mini\r"],
        ["Model for claude-* ids", "gpt-5.4\r"],
        ["Model aliases", "fast=gpt-5.4-mini\r"],
    ]);
    let mut command = home.command(&[]);
    let program = command.as_std().get_program().to_owned();
    command = tokio::process::Command::new(python());
    command
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/py/pty_drive.py"
        ))
        .arg(script.to_string())
        .arg("--")
        .arg(program)
        .arg("config")
        .env("HOME", home.home())
        .env("CODEXIA_HOME", home.codexia_home())
        .env("TERM", "xterm");
    let output = command.output().await.expect("run python");
    let transcript = text(&output.stdout);
    assert!(
        output.status.success(),
        "{transcript}\n{}",
        text(&output.stderr)
    );

    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.codexia_home().join("config.json")).unwrap(),
    )
    .unwrap();
    let key = saved["api_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("cdx-") && key.len() > 40, "{key}");
    assert!(
        transcript.contains(&format!("New API key: {key}")),
        "{transcript}"
    );
    assert_eq!(
        saved,
        serde_json::json!({
            "bind": "127.0.0.1:15001",
            "api_key": key,
            "models": ["gpt-5.5", "gpt-5.4-mini"],
            "model_fallback": "gpt-5.4",
            "model_aliases": {"fast": "gpt-5.4-mini"},
            "allowed_origins": ["http://localhost:3000"]
        })
    );
    let mode = std::fs::metadata(home.codexia_home().join("config.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let shown = text(&home.run(&["config", "show"]).await.stdout);
    let line = |name: &str| {
        shown
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .to_owned()
    };
    assert!(
        line("bind").contains("127.0.0.1:15001") && line("bind").ends_with("(config.json)"),
        "{shown}"
    );
    assert!(line("models ").contains("gpt-5.5,gpt-5.4-mini"), "{shown}");
}

#[tokio::test]
async fn interactive_config_without_a_terminal_says_what_to_do() {
    let output = TestHome::new().run(&["config"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: `codexia config` asks questions and needs a terminal\n\
         hint: use `codexia config show` to print the configuration, or edit config.json directly\n"
    );
}

#[tokio::test]
async fn an_option_read_from_the_environment_is_reported_as_the_variable_not_the_flag() {
    // clap's `env` attribute documents the variable in --help; the value still counts as the
    // environment's (precedence and error messages decided in settings.rs).
    let home = TestHome::new().env("CODEXIA_API_KEY", "  ");
    let output = home.run(&["serve", "--bind", "127.0.0.1:0"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: environment variable CODEXIA_API_KEY is invalid: the API key is empty\n\
         hint: fix or unset CODEXIA_API_KEY\n"
    );
    let help = text(&TestHome::new().run(&["serve", "--help"]).await.stdout);
    // Joined again where the help is wrapped.
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for var in [
        "CODEXIA_BIND",
        "CODEXIA_API_KEY",
        "CODEXIA_MODELS",
        "CODEXIA_MODEL_FALLBACK",
        "CODEXIA_AUTH_FILE",
    ] {
        assert!(help.contains(&format!("[env: {var}]")), "{var} in:\n{help}");
    }
}
