//! Runs the real `codexia` binary in a temporary home with a controlled environment (the
//! test process's own environment is never changed).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A safety net for a hung child, not a synchronisation device.
const DEADLINE: Duration = Duration::from_secs(60);

/// The path of the built binary.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_codexia")
}

/// A temporary `$HOME` and `$CODEXIA_HOME` plus extra environment for every command.
pub struct TestHome {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl TestHome {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("codexia")).expect("codexia home");
        Self {
            dir,
            env: Vec::new(),
        }
    }

    /// `$HOME`.
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// `$CODEXIA_HOME`.
    pub fn codexia_home(&self) -> PathBuf {
        self.dir.path().join("codexia")
    }

    /// Adds an environment variable to every command of this home.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// Drops a variable added with [`TestHome::env`].
    pub fn without(mut self, key: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self
    }

    /// The environment this home adds to every command.
    pub fn extra_env(&self) -> &[(String, String)] {
        &self.env
    }

    /// Writes `config.json`.
    pub fn write_config(&self, text: &str) {
        std::fs::write(self.codexia_home().join("config.json"), text).expect("write config");
    }

    /// A command with a clean environment: PATH, HOME, CODEXIA_HOME and this home's extras.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_of(binary(), args)
    }

    /// [`TestHome::command`] running another program (e.g. a copy of codexia).
    pub fn command_of(&self, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("CODEXIA_HOME", self.codexia_home())
            .env("NO_COLOR", "1")
            .kill_on_drop(true);
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    /// Runs a command to completion with stdin closed.
    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[]).await
    }

    /// Runs a command to completion with stdin closed and `env` added for this run only.
    pub async fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.command(args);
        command.stdin(Stdio::null()).envs(env.iter().copied());
        tokio::time::timeout(DEADLINE, command.output())
            .await
            .expect("codexia did not finish")
            .expect("run codexia")
    }

    /// Starts a command with stdin, stdout and stderr piped (for interactive commands such
    /// as `login`); the caller drives and reaps it.
    pub fn spawn(&self, args: &[&str]) -> Child {
        let mut command = self.command(args);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command.spawn().expect("spawn codexia")
    }

    /// Starts `codexia serve ARGS` and waits for its `listening on` line.
    pub async fn serve(&self, args: &[&str]) -> Server {
        let mut full = vec!["serve"];
        full.extend_from_slice(args);
        let mut command = self.command(&full);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn codexia serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(DEADLINE, lines.next_line())
            .await
            .expect("no listening line in time")
            .expect("read stdout");
        let Some(line) = first else {
            let output = child.wait_with_output().await.expect("wait");
            panic!(
                "codexia serve exited before listening: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let addr: SocketAddr = url
            .trim_start_matches("http://")
            .parse()
            .expect("address in the listening line");
        Server { child, addr, url }
    }
}

/// A running `codexia serve`.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// `http://ADDR`.
    pub url: String,
}

impl Server {
    /// `http://ADDR/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Sends SIGTERM and waits for the exit.
    pub async fn terminate(mut self) -> Output {
        let pid = self.child.id().expect("running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        self.child.stdout = None;
        tokio::time::timeout(DEADLINE, self.child.wait_with_output())
            .await
            .expect("codexia did not stop after SIGTERM")
            .expect("wait")
    }
}

/// stdout and stderr as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
