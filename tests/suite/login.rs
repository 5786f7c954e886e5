//! Signing in from a real terminal, and what a first run without a sign-in says (issue 14,
//! acceptance points 0 and 5).
//!
//! The login tests run `codexia login` on a pseudo-terminal (tests/py/pty_watch.py): a pipe on
//! stdin ends at once or never, and hides a paste reader that keeps the process alive after the
//! sign-in; a terminal that nobody types into does not.

use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};

use super::auth::{authorize, no_redirects};
use crate::support::codexia::{TestHome, binary};
use crate::support::fake_backend::FakeUpstream;
use crate::support::harness::{home_for, seed_credentials};

/// A safety net for a hung program, not a synchronisation device.
const DEADLINE: Duration = Duration::from_secs(30);
/// Acceptance 0: the exit follows "Signed in" within a second.
const PROMPT_EXIT: Duration = Duration::from_secs(1);
/// What pty_watch.py adds once the program blocks reading the terminal.
const READING: &str = "[pty_watch: the program reads the keyboard]";

/// The Python that drives terminals (set up by `make test`).
fn python() -> String {
    std::env::var("CODEXIA_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// `codexia ARGS` on a pseudo-terminal that nobody types into unless asked.
struct OnTerminal {
    child: Child,
    /// Kept open: closing it would not press a key, but a person keeps the terminal open.
    keyboard: ChildStdin,
    screen: Lines<BufReader<ChildStdout>>,
    transcript: String,
}

impl OnTerminal {
    fn start(home: &TestHome, args: &[&str]) -> Self {
        let mut command = tokio::process::Command::new(python());
        command
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/py/pty_watch.py"
            ))
            .arg("--tell-reads")
            .arg("--")
            .arg(binary())
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home.home())
            .env("CODEXIA_HOME", home.codexia_home())
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .envs(home.extra_env().iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("run python");
        let keyboard = child.stdin.take().unwrap();
        let screen = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            child,
            keyboard,
            screen,
            transcript: String::new(),
        }
    }

    /// Reads the screen until a line contains `needle`; answers that line.
    async fn line_with(&mut self, needle: &str) -> String {
        loop {
            let line = tokio::time::timeout(DEADLINE, self.screen.next_line())
                .await
                .unwrap_or_else(|_| panic!("no {needle:?} in time:\n{}", self.transcript))
                .unwrap();
            let Some(line) = line else {
                panic!(
                    "the terminal closed before {needle:?}:\n{}",
                    self.transcript
                );
            };
            let line = line.trim_end_matches('\r').to_owned();
            self.transcript.push_str(&line);
            self.transcript.push('\n');
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Returns once a line containing `needle` was on the screen, before now or from now on.
    /// For [`READING`]: the kernel hands a terminal's output to its reader a little later, so on
    /// a busy machine `pty_watch` can see the program blocked on the keyboard before the lines
    /// it wrote just before reach the screen, and the marker comes first.
    async fn seen_or_line_with(&mut self, needle: &str) {
        if !self.transcript.contains(needle) {
            self.line_with(needle).await;
        }
    }

    /// Types a line and presses Enter.
    async fn type_line(&mut self, line: &str) {
        self.keyboard
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        self.keyboard.flush().await.unwrap();
    }

    /// Waits for the exit (within the safety net); answers the status, how long the exit took
    /// after `since`, and the whole transcript.
    async fn exit(mut self, since: Instant) -> (ExitStatus, Duration, String) {
        let waited = tokio::time::timeout(DEADLINE, self.child.wait()).await;
        let took = since.elapsed();
        let Ok(status) = waited else {
            panic!(
                "still running {} s after signing in:\n{}",
                DEADLINE.as_secs(),
                self.transcript
            );
        };
        let mut rest = String::new();
        let _ = self.screen.into_inner().read_to_string(&mut rest).await;
        self.transcript.push_str(&rest.replace('\r', ""));
        if let Some(mut stderr) = self.child.stderr.take() {
            let mut driver = String::new();
            let _ = stderr.read_to_string(&mut driver).await;
            self.transcript.push_str(&driver);
        }
        (status.unwrap(), took, self.transcript)
    }
}

/// Asserts a prompt, successful exit after "Signed in" and the stored credentials.
fn assert_exited_at_once(
    home: &TestHome,
    (status, took, transcript): (ExitStatus, Duration, String),
) {
    assert!(status.success(), "{status:?}:\n{transcript}");
    assert!(
        took < PROMPT_EXIT,
        "exited {took:?} after \"Signed in\", not within {PROMPT_EXIT:?}:\n{transcript}"
    );
    let path = home.codexia_home().join("auth.json");
    assert!(
        transcript.contains(&format!("Credentials stored in {}.", path.display())),
        "{transcript}"
    );
    assert!(path.exists());
}

#[tokio::test]
async fn login_on_a_terminal_exits_at_once_after_the_browser_redirect_without_a_key_pressed() {
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let mut login = OnTerminal::start(&home, &["login", "--no-browser"]);
    let url = login
        .line_with(&format!("{}/oauth/authorize?", fake.auth_url()))
        .await;
    // As with a person at the screen, the browser comes back while the paste reader waits.
    login.seen_or_line_with(READING).await;
    let location = authorize(url.trim())
        .await
        .replace("localhost", "127.0.0.1");
    let page = no_redirects().get(&location).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);

    login.line_with("Signed in as").await;
    let signed_in = Instant::now();
    assert_exited_at_once(&home, login.exit(signed_in).await);
}

#[tokio::test]
async fn login_on_a_terminal_exits_at_once_after_a_pasted_redirect_url() {
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let mut login = OnTerminal::start(&home, &["login", "--no-browser"]);
    let url = login
        .line_with(&format!("{}/oauth/authorize?", fake.auth_url()))
        .await;
    let location = authorize(url.trim()).await;
    login.seen_or_line_with(READING).await;
    login.type_line(&location).await;

    login.line_with("Signed in as").await;
    let signed_in = Instant::now();
    assert_exited_at_once(&home, login.exit(signed_in).await);
    assert_eq!(fake.token_requests().len(), 1);
}

#[tokio::test]
async fn device_login_on_a_terminal_exits_at_once_after_the_approval() {
    let fake = FakeUpstream::start().await;
    fake.set_device_poll_interval(1);
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let mut login = OnTerminal::start(&home, &["login", "--device"]);
    login.line_with("Code: ").await;
    fake.wait_for_requests("/api/accounts/deviceauth/token", 1)
        .await;
    let codes = fake.device_user_codes();
    assert!(fake.approve_device_code(&codes[0]));

    login.line_with("Signed in as").await;
    let signed_in = Instant::now();
    assert_exited_at_once(&home, login.exit(signed_in).await);
}

/// `codexia serve`'s stderr, read line by line while it runs.
async fn stderr_line_with(
    stderr: &mut Lines<BufReader<ChildStderr>>,
    needle: &str,
    seen: &mut Vec<String>,
) -> String {
    loop {
        let line = tokio::time::timeout(DEADLINE, stderr.next_line())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in time: {seen:#?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("stderr ended before {needle:?}: {seen:#?}"));
        seen.push(line.clone());
        if line.contains(needle) {
            return line;
        }
    }
}

#[tokio::test]
async fn serve_without_credentials_says_once_to_run_login_and_still_serves_health() {
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let mut server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let mut stderr = BufReader::new(server.child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let hint = stderr_line_with(&mut stderr, "codexia login", &mut seen).await;
    assert_eq!(
        hint,
        "warning: not signed in to ChatGPT: run `codexia login` to sign in (API requests get 401 until then)"
    );

    let health = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let output = server.terminate().await;
    assert!(output.status.success());
    // The rest of stderr (the log up to the exit) does not say it again.
    while let Some(line) = stderr.next_line().await.unwrap() {
        seen.push(line);
    }
    let mentions: Vec<&String> = seen
        .iter()
        .filter(|l| l.contains("codexia login"))
        .collect();
    assert_eq!(mentions, [&hint], "{seen:#?}");
}

#[tokio::test]
async fn serve_with_credentials_names_the_account_and_does_not_ask_to_log_in() {
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let tokens = fake.mint_tokens(3600);
    seed_credentials(&home, &tokens);
    let mut server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let mut stderr = BufReader::new(server.child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let line = stderr_line_with(&mut stderr, "signed in to ChatGPT", &mut seen).await;
    // The account id is a secret of the log: the line names the plan instead.
    assert!(line.ends_with("signed in to ChatGPT (plus plan)"), "{line}");
    assert!(!line.contains(&tokens.account_id), "{line}");
    assert!(
        !seen.iter().any(|l| l.contains("codexia login")),
        "{seen:#?}"
    );
    server.terminate().await;
}
