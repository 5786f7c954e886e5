//! `codexia daemon …` with a stand-in `systemctl` first on PATH that records its arguments.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;

use crate::support::codexia::{TestHome, binary, text};

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
    assert_eq!(
        std::fs::read_to_string(unit_path(&home)).unwrap(),
        format!(
            "# Written by `codexia daemon install`; `codexia daemon uninstall` removes it.\n\
             [Unit]\n\
             Description=codexia gateway (ChatGPT subscription for Claude Code and OpenAI clients)\n\
             After=network-online.target\n\
             Wants=network-online.target\n\
             \n\
             [Service]\n\
             Type=simple\n\
             ExecStart={exe} serve --bind 127.0.0.1:15555 --models gpt-5.5,gpt-5.4\n\
             Environment=CODEXIA_HOME={h}\n\
             EnvironmentFile=-{h}/daemon.env\n\
             Restart=on-failure\n\
             RestartSec=3\n\
             \n\
             [Install]\n\
             WantedBy=default.target\n",
            exe = exe.display(),
            h = codexia_home.display()
        )
    );
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
