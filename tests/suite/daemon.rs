//! `codexia daemon …` with a stand-in `systemctl` first on PATH that records its arguments.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;

use codexia::{ServiceSpec, launchd_plist};
use insta::assert_snapshot;

use crate::support::codexia::{TestHome, binary, text};
use crate::support::snapshot::regex_escape;

/// A home whose PATH starts with a fake `systemctl` logging to `systemctl.log`.
fn home_with_systemctl(has_user_manager: bool) -> (TestHome, PathBuf) {
    let home = TestHome::new();
    let bin = home.home().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = home.home().join("systemctl.log");
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{log}'\n\
         case \"$*\" in\n\
           *show-environment*) {show} ;;\n\
           *is-active*) echo active ;;\n\
         esac\nexit 0\n",
        log = log.display(),
        show = if has_user_manager {
            "echo HOME=/x"
        } else {
            "echo 'Failed to connect to bus' >&2; exit 1"
        },
    );
    let stub = bin.join("systemctl");
    std::fs::write(&stub, script).unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let config = home.home().join("xdg-config");
    let home = home
        .env("PATH", path)
        .env("XDG_CONFIG_HOME", config.display().to_string());
    (home, log)
}

fn calls(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn unit_path(home: &TestHome) -> PathBuf {
    home.home().join("xdg-config/systemd/user/codexia.service")
}

#[tokio::test]
async fn install_writes_the_unit_keeps_the_key_out_of_it_and_enables_the_service() {
    let (home, log) = home_with_systemctl(true);
    let output = home
        .run(&[
            "daemon",
            "install",
            "--bind",
            "127.0.0.1:15555",
            "--api-key",
            "key-123",
            "--models",
            "gpt-5.5,gpt-5.4",
        ])
        .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let exe = std::fs::canonicalize(binary()).unwrap();
    let codexia_home = home.codexia_home();
    let unit = std::fs::read_to_string(unit_path(&home)).unwrap();
    // The binary and the home, checked before they are filtered.
    assert!(
        unit.contains(&format!("\nExecStart={} serve ", exe.display())),
        "{unit}"
    );
    assert!(
        unit.contains(&format!(
            "\nEnvironment=CODEXIA_HOME={}\n",
            codexia_home.display()
        )),
        "{unit}"
    );
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(&exe.display().to_string()), "[EXE]");
    settings.add_filter(&regex_escape(&home.home().display().to_string()), "[HOME]");
    settings.bind(|| {
        assert_snapshot!(unit, @"
    # Written by `codexia daemon install`; `codexia daemon uninstall` removes it.
    [Unit]
    Description=codexia gateway (ChatGPT subscription for Claude Code and OpenAI clients)
    After=network-online.target
    Wants=network-online.target

    [Service]
    Type=simple
    ExecStart=[EXE] serve --bind 127.0.0.1:15555 --models gpt-5.5,gpt-5.4
    Environment=CODEXIA_HOME=[HOME]/codexia
    EnvironmentFile=-[HOME]/codexia/daemon.env
    Restart=on-failure
    RestartSec=3

    [Install]
    WantedBy=default.target
    ");
    });
    let env_file = codexia_home.join("daemon.env");
    assert_eq!(
        std::fs::read_to_string(&env_file).unwrap(),
        "CODEXIA_API_KEY=key-123\n"
    );
    assert_eq!(
        std::fs::metadata(&env_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        calls(&log),
        [
            "--user show-environment",
            "--user daemon-reload",
            "--user enable --now codexia.service"
        ]
    );
    assert!(text(&output.stderr).contains("started it; it starts at every login"));
}

#[tokio::test]
async fn a_second_install_points_to_reinstall_which_rewrites_and_restarts() {
    let (home, log) = home_with_systemctl(true);
    assert!(home.run(&["daemon", "install"]).await.status.success());
    let again = home.run(&["daemon", "install"]).await;
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("hint: use `codexia daemon reinstall`"),
        "{}",
        text(&again.stderr)
    );

    std::fs::write(&log, "").unwrap();
    let output = home
        .run(&["daemon", "reinstall", "--bind", "127.0.0.1:15556"])
        .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        std::fs::read_to_string(unit_path(&home))
            .unwrap()
            .contains("serve --bind 127.0.0.1:15556\n")
    );
    assert_eq!(
        calls(&log),
        [
            "--user show-environment",
            "--user daemon-reload",
            "--user enable codexia.service",
            "--user restart codexia.service"
        ]
    );
}

#[tokio::test]
async fn start_stop_restart_and_status_call_systemctl_for_the_unit() {
    let (home, log) = home_with_systemctl(true);
    let not_installed = home.run(&["daemon", "start"]).await;
    assert_eq!(not_installed.status.code(), Some(2));
    assert_eq!(
        text(&not_installed.stderr),
        "error: the codexia service is not installed\nhint: install it with `codexia daemon install`\n"
    );
    assert!(
        home.run(&["daemon", "install", "--bind", "127.0.0.1:1"])
            .await
            .status
            .success()
    );
    std::fs::write(&log, "").unwrap();
    for verb in ["start", "stop", "restart"] {
        let output = home.run(&["daemon", verb]).await;
        assert!(output.status.success(), "{verb}: {}", text(&output.stderr));
    }
    let status = home.run(&["daemon", "status"]).await;
    assert!(status.status.success());
    assert_eq!(
        text(&status.stdout),
        format!(
            "Service: active ({})\nGateway: http://127.0.0.1:1 does not answer\n",
            unit_path(&home).display()
        )
    );
    let systemctl_calls: Vec<String> = calls(&log)
        .into_iter()
        .filter(|c| c != "--user show-environment")
        .collect();
    assert_eq!(
        systemctl_calls,
        [
            "--user start codexia.service",
            "--user stop codexia.service",
            "--user restart codexia.service",
            "--user is-active codexia.service"
        ]
    );
}

#[tokio::test]
async fn uninstall_stops_the_service_and_removes_its_files() {
    let (home, log) = home_with_systemctl(true);
    assert!(
        home.run(&["daemon", "install", "--api-key", "k"])
            .await
            .status
            .success()
    );
    std::fs::write(&log, "").unwrap();
    let output = home.run(&["daemon", "uninstall"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(!unit_path(&home).exists());
    assert!(!home.codexia_home().join("daemon.env").exists());
    assert_eq!(
        calls(&log),
        [
            "--user show-environment",
            "--user disable --now codexia.service",
            "--user daemon-reload"
        ]
    );
    let status = home.run(&["daemon", "status"]).await;
    assert_eq!(status.status.code(), Some(3));
    assert_eq!(
        text(&status.stdout),
        "Service: not installed (`codexia daemon install` sets it up)\n"
    );
}

#[tokio::test]
async fn without_a_systemd_user_instance_it_says_so_and_shows_the_serve_command() {
    let (home, _) = home_with_systemctl(false);
    let output = home
        .run(&["daemon", "install", "--bind", "127.0.0.1:15557"])
        .await;
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: no systemd user instance is running here (containers and WSL often have none)\n\
         hint: run the gateway in the foreground instead: codexia serve --bind 127.0.0.1:15557\n"
    );
    assert!(!unit_path(&home).exists());
}

#[tokio::test]
async fn installing_an_exposed_gateway_without_a_key_is_refused() {
    let (home, log) = home_with_systemctl(true);
    let output = home
        .run(&["daemon", "install", "--bind", "0.0.0.0:14550"])
        .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).starts_with(
        "error: refusing to install a service listening on 0.0.0.0:14550 without an API key"
    ));
    assert!(calls(&log).is_empty());
}

/// The macOS LaunchAgent, from the same pure function `daemon install` uses there (this suite
/// runs on Linux, where install writes the systemd unit above).
#[test]
fn the_launchd_plist_runs_serve_at_load_keeps_it_alive_and_logs_under_the_home() {
    let spec = ServiceSpec {
        exe: "/Applications/codexia.app/Contents/MacOS/codexia".to_owned(),
        args: [
            "serve",
            "--bind",
            "127.0.0.1:15555",
            "--models",
            "gpt-5.5,gpt-5.4",
        ]
        .map(str::to_owned)
        .to_vec(),
        codexia_home: Some("/Users/u/.codexia".to_owned()),
        env_file: None,
    };
    let plist = launchd_plist(
        &spec,
        Path::new("/Users/u/.codexia/logs"),
        &[("CODEXIA_API_KEY".to_owned(), "key<&>\"".to_owned())],
    );
    assert_snapshot!(plist, @r#"
    <?xml version="1.0" encoding="UTF-8"?>
    <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
    <plist version="1.0">
    <dict>
      <key>Label</key>
      <string>com.codexia.daemon</string>
      <key>ProgramArguments</key>
      <array>
        <string>/Applications/codexia.app/Contents/MacOS/codexia</string>
        <string>serve</string>
        <string>--bind</string>
        <string>127.0.0.1:15555</string>
        <string>--models</string>
        <string>gpt-5.5,gpt-5.4</string>
      </array>
      <key>EnvironmentVariables</key>
      <dict>
        <key>CODEXIA_HOME</key>
        <string>/Users/u/.codexia</string>
        <key>CODEXIA_API_KEY</key>
        <string>key&lt;&amp;&gt;&quot;</string>
      </dict>
      <key>RunAtLoad</key>
      <true/>
      <key>KeepAlive</key>
      <true/>
      <key>StandardOutPath</key>
      <string>/Users/u/.codexia/logs/daemon.out.log</string>
      <key>StandardErrorPath</key>
      <string>/Users/u/.codexia/logs/daemon.err.log</string>
    </dict>
    </plist>
    "#);
}
