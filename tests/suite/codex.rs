//! The real OpenAI Codex CLI (npm `@openai/codex`, pinned in tests/node/package.json) through
//! the built codexia and the fake backend: as a custom model provider of `/v1/responses`, and
//! started by `codexia codex`.
//!
//! Codex runs offline: its home, working directory and `HOME` are temporary, and every proxy
//! variable points at a closed port, so anything it tries to reach other than codexia on
//! loopback fails at once.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use base64::Engine as _;
use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::support::codexia::{TestHome, text};
use crate::support::fake_backend::{FakeUpstream, RecordedRequest, Reply};

/// A safety net for a hung child, not a synchronisation device.
const DEADLINE: Duration = Duration::from_secs(120);

/// Flags every non-interactive run needs here: no git repository around, and no sandbox helper
/// (bubblewrap may be missing in a container; the commands the fake asks for are harmless).
const EXEC: &[&str] = &[
    "exec",
    "--skip-git-repo-check",
    "--dangerously-bypass-approvals-and-sandbox",
];

/// `tests/node/node_modules/.bin` (or `$CODEXIA_TEST_NODE_MODULES/.bin`), with `codex` in it.
fn node_bin() -> PathBuf {
    let node_modules = std::env::var_os("CODEXIA_TEST_NODE_MODULES")
        .filter(|v| !v.is_empty())
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node/node_modules"),
            PathBuf::from,
        );
    let bin = node_modules.join(".bin");
    assert!(
        bin.join("codex").exists(),
        "the Codex CLI is not installed in {}; run `make test` (it installs the test clients)",
        node_modules.display()
    );
    bin
}

/// `PATH` with the test clients first.
fn path_with_clients() -> String {
    format!(
        "{}:{}",
        node_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Proxy variables that send everything but loopback to a closed port.
const OFFLINE: &[(&str, &str)] = &[
    ("HTTP_PROXY", "http://127.0.0.1:9"),
    ("HTTPS_PROXY", "http://127.0.0.1:9"),
    ("ALL_PROXY", "http://127.0.0.1:9"),
    ("http_proxy", "http://127.0.0.1:9"),
    ("https_proxy", "http://127.0.0.1:9"),
    ("all_proxy", "http://127.0.0.1:9"),
    ("NO_PROXY", "127.0.0.1,localhost"),
    ("no_proxy", "127.0.0.1,localhost"),
];

/// A home signed in to the fake, with the offline environment for codexia and Codex.
fn signed_in_home(fake: &FakeUpstream) -> TestHome {
    let mut home = TestHome::new()
        .env("PATH", path_with_clients())
        .env("CODEXIA_AUTH_URL", fake.auth_url())
        .env("CODEXIA_BACKEND_URL", fake.backend_url())
        .env("CODEXIA_CREDENTIAL_STORE", "file")
        .env("TERM", "dumb")
        .env("LANG", "C.UTF-8");
    for (key, value) in OFFLINE {
        home = home.env(key, *value);
    }
    crate::support::harness::seed_credentials(&home, &fake.mint_tokens(3600));
    std::fs::create_dir_all(workdir(&home)).unwrap();
    home
}

/// The directory Codex works in (and runs its shell commands in).
fn workdir(home: &TestHome) -> PathBuf {
    home.home().join("work")
}

/// Runs `codex ARGS` directly, with `CODEX_HOME` holding a config that names the gateway at
/// `gateway_url` as the model provider, the way docs/compatibility.md §6 tells users to.
async fn run_codex(home: &TestHome, gateway_url: &str, args: &[&str]) -> Output {
    let codex_home = home.home().join("codex-home");
    std::fs::create_dir_all(&codex_home).unwrap();
    std::fs::write(
        codex_home.join("config.toml"),
        format!(
            "model = \"gpt-5.5\"\n\
             model_provider = \"codexia\"\n\
             \n\
             [model_providers.codexia]\n\
             name = \"codexia\"\n\
             base_url = \"{gateway_url}/v1\"\n\
             wire_api = \"responses\"\n"
        ),
    )
    .unwrap();
    let mut command = tokio::process::Command::new(node_bin().join("codex"));
    command
        .args(args)
        .env_clear()
        .env("HOME", home.home())
        .env("CODEX_HOME", &codex_home)
        .current_dir(workdir(home))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (key, value) in home.extra_env() {
        command.env(key, value);
    }
    finish(command).await
}

/// Runs `codexia ARGS` in the home's work directory.
async fn run_codexia(home: &TestHome, args: &[&str]) -> Output {
    let mut command = home.command(args);
    command.current_dir(workdir(home)).stdin(Stdio::null());
    finish(command).await
}

async fn finish(mut command: tokio::process::Command) -> Output {
    tokio::time::timeout(DEADLINE, command.output())
        .await
        .expect("the command did not finish in time")
        .expect("run the command")
}

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    EXEC.iter().copied().chain(extra.iter().copied()).collect()
}

/// Exit status and the answer (Codex prints the final message alone on stdout).
fn answer(output: &Output) -> (Option<i32>, String) {
    (output.status.code(), text(&output.stdout).trim().to_owned())
}

fn input_of(request: &RecordedRequest) -> &[Value] {
    request.body_json()["input"].as_array().unwrap()
}

fn items_of_type<'a>(request: &'a RecordedRequest, kind: &str) -> Vec<&'a Value> {
    input_of(request)
        .iter()
        .filter(|item| item["type"] == kind)
        .collect()
}

fn tool_types(request: &RecordedRequest) -> Vec<String> {
    let mut types: Vec<String> = request.body_json()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["type"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    types.dedup();
    types
}

/// The reasoning blob the fake issued: `gAAAAB` + base64 of `fake-reasoning:rs_…`.
fn assert_issued_by_the_fake(blob: &str) {
    let payload = blob
        .strip_prefix("gAAAAB")
        .unwrap_or_else(|| panic!("not a backend blob: {blob}"));
    let decoded = base64::engine::general_purpose::URL_SAFE
        .decode(payload)
        .unwrap();
    assert!(
        String::from_utf8(decoded)
            .unwrap()
            .starts_with("fake-reasoning:rs_"),
        "{blob}"
    );
}

/// The fake's turn for "run `echo hi`": reasoning and a call of Codex's shell tool, then an
/// answer once the output comes back.
fn push_echo_hi_turn(fake: &FakeUpstream) {
    fake.push_reply(Reply::reasoning("**Running it**").with_exec_command("echo hi"));
    fake.push_reply(Reply::text("hi"));
}

/// The follow-up request of a shell call carries the call, its output with `hi`, and the
/// reasoning that came before the call; returns that reasoning blob.
fn assert_shell_round_trip(follow_up: &RecordedRequest) -> String {
    let calls = items_of_type(follow_up, "function_call");
    assert_eq!(calls.len(), 1, "{:#}", follow_up.body_json()["input"]);
    assert_eq!(calls[0]["name"], "exec_command");
    let arguments: Value = serde_json::from_str(calls[0]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments["cmd"], "echo hi");
    let outputs = items_of_type(follow_up, "function_call_output");
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["call_id"], calls[0]["call_id"]);
    let output = outputs[0]["output"].as_str().unwrap();
    assert!(
        output.lines().any(|line| line == "hi"),
        "the command's output: {output:?}"
    );
    let reasoning = items_of_type(follow_up, "reasoning");
    assert_eq!(reasoning.len(), 1);
    let blob = reasoning[0]["encrypted_content"].as_str().unwrap();
    assert_issued_by_the_fake(blob);
    blob.to_owned()
}

#[tokio::test]
async fn codex_exec_answers_through_codexia_with_its_hosted_tools_passed_through() {
    let fake = FakeUpstream::start().await;
    let home = signed_in_home(&fake);
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;

    let output = run_codex(
        &home,
        &server.url,
        &args(&["Reply with the single word OK"]),
    )
    .await;
    assert_eq!(
        answer(&output),
        (Some(0), "OK".to_owned()),
        "stderr: {}",
        text(&output.stderr)
    );
    // With its multi-agent tools Codex groups them in a `namespace` tool.
    let output = run_codex(
        &home,
        &server.url,
        &args(&[
            "--enable",
            "multi_agent_v2",
            "Reply with the single word OK",
        ]),
    )
    .await;
    assert_eq!(
        answer(&output),
        (Some(0), "OK".to_owned()),
        "stderr: {}",
        text(&output.stderr)
    );

    let sent = fake.responses_requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        tool_types(&sent[0]),
        ["custom", "function", "tool_search", "web_search"]
    );
    assert_eq!(
        tool_types(&sent[1]),
        ["custom", "function", "namespace", "web_search"]
    );
    let body = sent[0].body_json();
    assert_eq!(body["model"], "gpt-5.5");
    assert_eq!(
        body["include"],
        serde_json::json!(["reasoning.encrypted_content"])
    );
    let tool_search = body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tool| tool["type"] == "tool_search")
        .unwrap();
    assert_eq!(tool_search["execution"], "client", "passed unchanged");
    fake.assert_all_responses_requests_valid();
}

#[tokio::test]
async fn codex_runs_a_shell_command_reads_its_output_and_replays_reasoning_in_the_next_turn() {
    let fake = FakeUpstream::start().await;
    let home = signed_in_home(&fake);
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;

    push_echo_hi_turn(&fake);
    let output = run_codex(&home, &server.url, &args(&["Run `echo hi`"])).await;
    assert_eq!(
        answer(&output),
        (Some(0), "hi".to_owned()),
        "stderr: {}",
        text(&output.stderr)
    );
    let sent = fake.responses_requests();
    assert_eq!(sent.len(), 2);
    let blob = assert_shell_round_trip(&sent[1]);

    // A second turn of the same session sends the whole history again, reasoning included.
    fake.push_reply(Reply::reasoning("**Answering**").with_text("Done"));
    let output = run_codex(&home, &server.url, &args(&["resume", "--last", "Say Done"])).await;
    assert_eq!(
        answer(&output),
        (Some(0), "Done".to_owned()),
        "stderr: {}",
        text(&output.stderr)
    );
    let sent = fake.responses_requests();
    assert_eq!(sent.len(), 3);
    let replayed = items_of_type(&sent[2], "reasoning");
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0]["encrypted_content"], blob.as_str());
    assert_eq!(items_of_type(&sent[2], "function_call_output").len(), 1);
    fake.assert_all_responses_requests_valid();
}

/// A user's own Codex configuration, which must not be read or changed.
const USER_CONFIG: &str = "# my own settings\n\
    model = \"o3\"\n\
    model_provider = \"mine\"\n\
    \n\
    [model_providers.mine]\n\
    name = \"mine\"\n\
    base_url = \"http://127.0.0.1:9/v1\"\n\
    wire_api = \"responses\"\n";

/// Every file under `dir`, with its contents.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[tokio::test]
async fn codexia_codex_runs_the_real_codex_cli_without_touching_the_users_codex_config() {
    let fake = FakeUpstream::start().await;
    // No gateway answers here: `codexia codex` starts one in its own process.
    let home = signed_in_home(&fake).env("CODEXIA_BIND", "127.0.0.1:1");
    let user_codex = home.home().join(".codex");
    std::fs::create_dir_all(&user_codex).unwrap();
    std::fs::write(user_codex.join("config.toml"), USER_CONFIG).unwrap();
    let before = snapshot(&user_codex);

    push_echo_hi_turn(&fake);
    let output = run_codexia(&home, &[&["codex"], &args(&["Run `echo hi`"])[..]].concat()).await;
    assert_eq!(
        answer(&output),
        (Some(0), "hi".to_owned()),
        "stderr: {}",
        text(&output.stderr)
    );
    let sent = fake.responses_requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].body_json()["model"], "gpt-5.5");
    assert_shell_round_trip(&sent[1]);
    fake.assert_all_responses_requests_valid();

    assert_eq!(snapshot(&user_codex), before, "~/.codex is untouched");
    assert_eq!(
        std::fs::read_to_string(user_codex.join("config.toml")).unwrap(),
        USER_CONFIG
    );
    let sessions = home.codexia_home().join("codex");
    assert_eq!(
        std::fs::read_dir(&sessions).unwrap().count(),
        0,
        "the session's CODEX_HOME is removed when Codex exits"
    );
}

/// A home whose PATH holds a stand-in `codex` that reports what it was given.
fn home_with_stub_codex() -> TestHome {
    let home = TestHome::new();
    let bin = home.home().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let stub = bin.join("codex");
    std::fs::write(
        &stub,
        "#!/bin/sh\n\
         echo \"args: $*\"\n\
         echo \"home: $CODEX_HOME\"\n\
         echo \"key: ${CODEXIA_API_KEY:-none}\"\n\
         cat \"$CODEX_HOME/config.toml\"\n\
         exit 7\n",
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(workdir(&home)).unwrap();
    home.env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
}

#[tokio::test]
async fn codexia_codex_passes_arguments_and_the_exit_status_through_and_cleans_up() {
    let home = home_with_stub_codex();
    let server = home
        .serve(&["--bind", "127.0.0.1:0", "--api-key", "k-42"])
        .await;
    let home = home
        .env("CODEXIA_BIND", server.addr.to_string())
        .env("CODEXIA_API_KEY", "k-42");
    let output = run_codexia(
        &home,
        &["codex", "exec", "-m", "gpt-5.4", "--json", "hi there"],
    )
    .await;
    assert_eq!(output.status.code(), Some(7), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("args: exec -m gpt-5.4 --json hi there"));
    let codex_home = lines.next().unwrap().strip_prefix("home: ").unwrap();
    assert!(
        Path::new(codex_home).starts_with(home.codexia_home().join("codex")),
        "{codex_home}"
    );
    assert!(!Path::new(codex_home).exists(), "removed after the exit");
    assert_eq!(lines.next(), Some("key: k-42"));
    let config: Vec<&str> = lines.collect();
    assert_eq!(
        config,
        [
            "# Written by `codexia codex` for one session; removed when Codex exits.",
            "model = \"gpt-5.5\"",
            "model_provider = \"codexia\"",
            "",
            "[model_providers.codexia]",
            "name = \"codexia\"",
            &format!("base_url = \"{}/v1\"", server.url),
            "wire_api = \"responses\"",
            "env_key = \"CODEXIA_API_KEY\"",
        ]
    );
}

#[tokio::test]
async fn codex_missing_from_path_says_how_to_install_it() {
    let home = TestHome::new().env("PATH", "/nonexistent");
    let output = home.run(&["codex"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: the Codex CLI is not installed (there is no `codex` on PATH)\n\
         hint: install it with `npm install -g @openai/codex`, then run `codexia codex` again\n"
    );
}
