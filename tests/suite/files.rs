//! The files codexia writes, attacked as another local user would (issue 13, point 3): an
//! unsafe `$CODEXIA_HOME` is refused in one sentence, a symlinked `config.json` is refused
//! rather than written through, and modes stay 0600/0700. The credentials file and lock are
//! attacked through `codexia login` in `suite::auth`; the temporary names in `files.rs`'s own
//! tests.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use pretty_assertions::assert_eq;

use crate::support::codexia::{TestHome, text};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn a_world_writable_home_is_refused_with_one_sentence_and_left_as_it_is() {
    let home = TestHome::new();
    set_mode(&home.codexia_home(), 0o777);
    for args in [&["config", "show"][..], &["serve", "--bind", "127.0.0.1:0"]] {
        let output = home.run(args).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(
            text(&output.stderr),
            format!(
                "error: {p} is writable by other users, who could plant files there that codexia would trust; run `chmod 700 {p}` or point CODEXIA_HOME at a private directory\n",
                p = home.codexia_home().display()
            )
        );
    }
    assert_eq!(mode(&home.codexia_home()), 0o777);
    assert!(!home.codexia_home().join("config.json").exists());
}

#[tokio::test]
async fn a_group_writable_home_of_ours_is_repaired_to_0700() {
    let home = TestHome::new();
    set_mode(&home.codexia_home(), 0o770);
    let output = home.run(&["config", "show"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(mode(&home.codexia_home()), 0o700);
}

#[tokio::test]
async fn a_home_of_another_user_is_refused() {
    use std::os::unix::fs::MetadataExt;
    let home = TestHome::new();
    // Only root can give a directory away (the test home belongs to whoever runs the tests).
    if std::fs::metadata(home.home()).unwrap().uid() != 0 {
        return;
    }
    std::os::unix::fs::chown(home.codexia_home(), Some(65534), None).unwrap();
    let output = home.run(&["config", "show"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: {} belongs to another user (uid 65534), who could change what codexia reads there; point CODEXIA_HOME at a directory of your own\n",
            home.codexia_home().display()
        )
    );
}

/// The Python used to drive terminals (set up by `make test`).
fn python() -> String {
    std::env::var("CODEXIA_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Runs `codexia config` in a terminal, keeping every value; answers (exit code, transcript).
async fn keep_everything(home: &TestHome) -> (Option<i32>, String) {
    let script = serde_json::json!([
        ["Bind address", "\r"],
        ["No key", "\r"],
        ["Served models", "\r"],
        ["Model for claude-* ids", "\r"],
        ["Model aliases", "\r"],
    ]);
    let output = tokio::process::Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/py/pty_drive.py"
        ))
        .arg(script.to_string())
        .arg("--")
        .arg(crate::support::codexia::binary())
        .arg("config")
        .env("HOME", home.home())
        .env("CODEXIA_HOME", home.codexia_home())
        .env("TERM", "xterm")
        .output()
        .await
        .expect("run python");
    (output.status.code(), text(&output.stdout))
}

#[tokio::test]
async fn config_refuses_to_replace_a_symlinked_config_json_and_writes_0600_otherwise() {
    let home = TestHome::new();
    let victim = home.home().join("dotfiles-config.json");
    std::fs::write(&victim, r#"{"bind": "127.0.0.1:9999"}"#).unwrap();
    let config = home.codexia_home().join("config.json");
    symlink(&victim, &config).unwrap();

    let (code, transcript) = keep_everything(&home).await;
    assert_eq!(code, Some(1), "{transcript}");
    // The terminal turns "\n" into "\r\n".
    assert!(
        transcript.replace('\r', "").contains(&format!(
            "error: cannot write {}\n  Caused by: it is a symbolic link, and codexia never writes through one; replace the link with the file itself, or remove it\n",
            config.display()
        )),
        "{transcript}"
    );
    assert!(std::fs::symlink_metadata(&config).unwrap().is_symlink());
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        r#"{"bind": "127.0.0.1:9999"}"#
    );

    std::fs::remove_file(&config).unwrap();
    let (code, transcript) = keep_everything(&home).await;
    assert_eq!(code, Some(0), "{transcript}");
    assert_eq!(mode(&config), 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(home.codexia_home())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| Path::new(n).extension().is_some_and(|e| e == "tmp"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
}
