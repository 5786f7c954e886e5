//! `codexia claude`: finds Claude Code, makes sure a gateway answers, sets the variables, passes
//! arguments through and returns Claude Code's exit status.

use std::os::unix::fs::PermissionsExt;

use pretty_assertions::assert_eq;

use crate::support::codexia::{TestHome, text};

/// A home whose PATH holds a stand-in `claude` that reports what it was given.
fn home_with_stub_claude() -> TestHome {
    let home = TestHome::new();
    let bin = home.home().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let stub = bin.join("claude");
    std::fs::write(
        &stub,
        "#!/bin/sh\n\
         echo \"args: $*\"\n\
         env | grep -E '^(ANTHROPIC|CLAUDE_CODE)_' | sort\n\
         curl -sf \"$ANTHROPIC_BASE_URL/health\" >/dev/null && echo 'gateway: answers'\n\
         exit 7\n",
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    home.env("PATH", path).env("CODEXIA_BIND", "127.0.0.1:1")
}

#[tokio::test]
async fn claude_runs_with_the_gateway_variables_and_returns_its_exit_status() {
    let home = home_with_stub_claude();
    let output = home
        .run(&["claude", "-p", "--model", "x", "hello world"])
        .await;
    assert_eq!(output.status.code(), Some(7), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let settings = lines[0]
        .strip_prefix("args: --settings ")
        .and_then(|rest| rest.strip_suffix(" -p --model x hello world"))
        .unwrap_or_else(|| panic!("arguments: {}", lines[0]));
    let settings: serde_json::Value = serde_json::from_str(settings).expect("settings JSON");
    let described: Vec<&str> = settings["modelPicker"]["options"]
        .as_array()
        .expect("picker rows")
        .iter()
        .map(|row| row["model"].as_str().expect("model"))
        .collect();
    assert_eq!(described, ["gpt-5.4-mini", "gpt-5.5"]);
    let base = lines
        .iter()
        .find_map(|l| l.strip_prefix("ANTHROPIC_BASE_URL="))
        .unwrap();
    assert!(
        base.starts_with("http://127.0.0.1:") && base != "http://127.0.0.1:1",
        "{base}"
    );
    let vars: Vec<&str> = lines[1..]
        .iter()
        .copied()
        .filter(|l| !l.starts_with("ANTHROPIC_BASE_URL="))
        .collect();
    assert_eq!(
        vars,
        [
            "ANTHROPIC_AUTH_TOKEN=codexia",
            "ANTHROPIC_DEFAULT_HAIKU_MODEL=gpt-5.4-mini",
            "ANTHROPIC_DEFAULT_OPUS_MODEL=gpt-5.5",
            "ANTHROPIC_DEFAULT_SONNET_MODEL=gpt-5.5",
            "ANTHROPIC_MODEL=gpt-5.5",
            "ANTHROPIC_SMALL_FAST_MODEL=gpt-5.4-mini",
            "CLAUDE_CODE_AUTO_COMPACT_WINDOW=272000",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
            "gateway: answers",
        ]
    );
}

#[tokio::test]
async fn claude_uses_a_running_gateway_and_its_api_key() {
    let home = home_with_stub_claude();
    let server = home
        .serve(&["--bind", "127.0.0.1:0", "--api-key", "k-42"])
        .await;
    let home = home
        .env("CODEXIA_BIND", server.addr.to_string())
        .env("CODEXIA_API_KEY", "k-42");
    let output = home.run(&["claude"]).await;
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(&format!("ANTHROPIC_BASE_URL={}\n", server.url)),
        "{stdout}"
    );
    assert!(stdout.contains("ANTHROPIC_AUTH_TOKEN=k-42\n"), "{stdout}");
}

#[tokio::test]
async fn claude_missing_from_path_says_how_to_install_it() {
    let home = TestHome::new().env("PATH", "/nonexistent");
    let output = home.run(&["claude"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: Claude Code is not installed (there is no `claude` on PATH)\n\
         hint: install it with `npm install -g @anthropic-ai/claude-code`, then run `codexia claude` again\n"
    );
}

#[tokio::test]
async fn codexia_claude_runs_the_real_claude_code_against_the_backend_and_prints_nothing_on_stderr()
{
    let fake = crate::support::fake_backend::FakeUpstream::start().await;
    let node_modules = crate::support::harness::node_modules();
    let bin = node_modules.join(".bin");
    assert!(
        bin.join("claude").exists(),
        "Claude Code is not installed in {}; run `make test` (it installs the test clients)",
        node_modules.display()
    );
    let home = TestHome::new()
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("CODEXIA_AUTH_URL", fake.auth_url())
        .env("CODEXIA_BACKEND_URL", fake.backend_url())
        .env("CODEXIA_CREDENTIAL_STORE", "file")
        // No gateway answers here: `codexia claude` starts one in its own process.
        .env("CODEXIA_BIND", "127.0.0.1:1")
        .env("TERM", "dumb")
        .env("LANG", "C.UTF-8")
        .env("CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK", "1")
        .env("CLAUDE_CODE_MAX_RETRIES", "0");
    crate::support::harness::seed_credentials(&home, &fake.mint_tokens(3600));
    let output = home
        .run(&["claude", "-p", "Reply with the single word OK"])
        .await;
    assert_eq!(
        (output.status.code(), text(&output.stdout).trim()),
        (Some(0), "OK"),
        "stderr: {}",
        text(&output.stderr)
    );
    // Claude Code recognises the served model (no `[claude-code:unrecognized_model]`) and
    // codexia itself has nothing to say.
    assert_eq!(text(&output.stderr), "", "stderr of codexia claude");
    let sent = fake.responses_requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].body_json()["model"],
        "gpt-5.5",
        "ANTHROPIC_MODEL picked the served model"
    );
    fake.assert_all_responses_requests_valid();
}
