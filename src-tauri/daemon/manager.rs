//! Installing and controlling the service: writes the unit (or plist) and runs `systemctl
//! --user` (or `launchctl`). Every verb returns the lines to show the user.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{LAUNCHD_LABEL, SYSTEMD_UNIT, ServiceSpec, launchd_plist, systemd_unit};

/// Why a daemon verb failed; each message is one or two sentences with what to do.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DaemonError {
    #[error("no systemd user instance is running here (containers and WSL often have none)")]
    NoSystemd { serve_command: String },
    #[error("the codexia service is not installed")]
    NotInstalled,
    #[error("the codexia service is already installed at {}", .0.display())]
    AlreadyInstalled(PathBuf),
    #[error("`{command}` failed: {message}")]
    Command { command: String, message: String },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the background service is not supported on this system")]
    Unsupported,
}

impl DaemonError {
    /// What the user should do next.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            Self::NoSystemd { serve_command } => Some(format!(
                "run the gateway in the foreground instead: {serve_command}"
            )),
            Self::NotInstalled => Some("install it with `codexia daemon install`".to_owned()),
            Self::AlreadyInstalled(_) => Some(
                "use `codexia daemon reinstall` to change its options, or `codexia daemon restart`"
                    .to_owned(),
            ),
            Self::Unsupported => Some("use the tray app's \"Start at login\" instead".to_owned()),
            Self::Command { .. } | Self::Write { .. } => None,
        }
    }
}

/// Where the service files live.
#[derive(Debug, Clone)]
pub(crate) struct DaemonPaths {
    /// The unit (Linux) or plist (macOS).
    pub service_file: PathBuf,
    /// `$CODEXIA_HOME/daemon.env` holding the API key (Linux).
    pub env_file: PathBuf,
    /// `$CODEXIA_HOME/logs` (macOS).
    pub logs_dir: PathBuf,
}

impl DaemonPaths {
    /// Paths for a user: `home` is `$HOME`, `config_home` is `$XDG_CONFIG_HOME` when set.
    pub(crate) fn new(home: &Path, config_home: Option<&Path>, codexia_home: &Path) -> Self {
        let service_file = if cfg!(target_os = "macos") {
            home.join("Library/LaunchAgents")
                .join(format!("{LAUNCHD_LABEL}.plist"))
        } else {
            config_home
                .map_or_else(|| home.join(".config"), Path::to_path_buf)
                .join("systemd/user")
                .join(SYSTEMD_UNIT)
        };
        Self {
            service_file,
            env_file: codexia_home.join("daemon.env"),
            logs_dir: codexia_home.join("logs"),
        }
    }
}

/// The service manager of this platform.
#[derive(Debug, Clone)]
pub(crate) struct Daemon {
    pub paths: DaemonPaths,
    /// The foreground command to suggest when no service manager is available.
    pub serve_command: String,
}

/// Runs a program, returning its trimmed stdout or a [`DaemonError::Command`].
fn run(program: &str, args: &[&str]) -> Result<String, DaemonError> {
    let command = format!("{program} {}", args.join(" "));
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|err| DaemonError::Command {
            command: command.clone(),
            message: err.to_string(),
        })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        Err(DaemonError::Command {
            command,
            message: if stderr.is_empty() {
                format!("exit status {}", output.status.code().unwrap_or(-1))
            } else {
                stderr
            },
        })
    }
}

fn systemctl(args: &[&str]) -> Result<String, DaemonError> {
    let mut full = vec!["--user"];
    full.extend_from_slice(args);
    run("systemctl", &full)
}

/// Writes a file with mode 0600 (owner only), atomically.
fn write_private(path: &Path, text: &str) -> Result<(), DaemonError> {
    crate::files::write_private(path, text.as_bytes()).map_err(|source| DaemonError::Write {
        path: path.to_owned(),
        source,
    })
}

impl Daemon {
    fn ensure_supported(&self) -> Result<(), DaemonError> {
        if cfg!(windows) {
            return Err(DaemonError::Unsupported);
        }
        if cfg!(target_os = "macos") {
            return Ok(());
        }
        // `show-environment` needs a running user manager; it fails (or systemctl is absent)
        // in containers and WSL without systemd.
        systemctl(&["show-environment"])
            .map(drop)
            .map_err(|_| DaemonError::NoSystemd {
                serve_command: self.serve_command.clone(),
            })
    }

    fn installed(&self) -> bool {
        self.paths.service_file.exists()
    }

    fn write_service(&self, spec: &ServiceSpec, api_key: Option<&str>) -> Result<(), DaemonError> {
        if cfg!(target_os = "macos") {
            let env: Vec<(String, String)> = api_key
                .map(|k| vec![("CODEXIA_API_KEY".to_owned(), k.to_owned())])
                .unwrap_or_default();
            std::fs::create_dir_all(&self.paths.logs_dir).map_err(|source| DaemonError::Write {
                path: self.paths.logs_dir.clone(),
                source,
            })?;
            return write_private(
                &self.paths.service_file,
                &launchd_plist(spec, &self.paths.logs_dir, &env),
            );
        }
        match api_key {
            Some(key) => write_private(&self.paths.env_file, &format!("CODEXIA_API_KEY={key}\n"))?,
            None => {
                let _ = std::fs::remove_file(&self.paths.env_file);
            }
        }
        write_private(&self.paths.service_file, &systemd_unit(spec))
    }

    fn launchctl_domain() -> String {
        let uid = run("id", &["-u"]).unwrap_or_else(|_| "501".to_owned());
        format!("gui/{uid}")
    }

    /// Writes the service and starts it now and at every login.
    pub(crate) fn install(
        &self,
        spec: &ServiceSpec,
        api_key: Option<&str>,
    ) -> Result<Vec<String>, DaemonError> {
        self.ensure_supported()?;
        if self.installed() {
            return Err(DaemonError::AlreadyInstalled(
                self.paths.service_file.clone(),
            ));
        }
        self.write_service(spec, api_key)?;
        self.enable_and_start()?;
        Ok(vec![format!(
            "Installed {} and started it; it starts at every login.",
            self.paths.service_file.display()
        )])
    }

    fn enable_and_start(&self) -> Result<(), DaemonError> {
        if cfg!(target_os = "macos") {
            let path = self.paths.service_file.display().to_string();
            run(
                "launchctl",
                &["bootstrap", &Self::launchctl_domain(), &path],
            )?;
            return Ok(());
        }
        systemctl(&["daemon-reload"])?;
        systemctl(&["enable", "--now", SYSTEMD_UNIT])?;
        Ok(())
    }

    /// Rewrites the service with new options and restarts it.
    pub(crate) fn reinstall(
        &self,
        spec: &ServiceSpec,
        api_key: Option<&str>,
    ) -> Result<Vec<String>, DaemonError> {
        self.ensure_supported()?;
        if cfg!(target_os = "macos") && self.installed() {
            let _ = run(
                "launchctl",
                &[
                    "bootout",
                    &format!("{}/{LAUNCHD_LABEL}", Self::launchctl_domain()),
                ],
            );
        }
        self.write_service(spec, api_key)?;
        if cfg!(target_os = "macos") {
            self.enable_and_start()?;
        } else {
            systemctl(&["daemon-reload"])?;
            systemctl(&["enable", SYSTEMD_UNIT])?;
            systemctl(&["restart", SYSTEMD_UNIT])?;
        }
        Ok(vec![format!(
            "Rewrote {} and restarted the service.",
            self.paths.service_file.display()
        )])
    }

    /// `start`, `stop` or `restart`.
    pub(crate) fn control(&self, verb: &str) -> Result<Vec<String>, DaemonError> {
        self.ensure_supported()?;
        if !self.installed() {
            return Err(DaemonError::NotInstalled);
        }
        if cfg!(target_os = "macos") {
            let target = format!("{}/{LAUNCHD_LABEL}", Self::launchctl_domain());
            match verb {
                "stop" => run("launchctl", &["kill", "TERM", &target])?,
                _ => run("launchctl", &["kickstart", "-k", &target])?,
            };
        } else {
            systemctl(&[verb, SYSTEMD_UNIT])?;
        }
        let done = match verb {
            "start" => "Started",
            "stop" => "Stopped",
            _ => "Restarted",
        };
        Ok(vec![format!("{done} the codexia service.")])
    }

    /// Whether the service is installed and running (the caller adds whether the gateway answers).
    pub(crate) fn status(&self) -> Result<ServiceState, DaemonError> {
        self.ensure_supported()?;
        if !self.installed() {
            return Ok(ServiceState::NotInstalled);
        }
        let state = if cfg!(target_os = "macos") {
            let target = format!("{}/{LAUNCHD_LABEL}", Self::launchctl_domain());
            match run("launchctl", &["print", &target]) {
                Ok(text) if text.contains("state = running") => "active".to_owned(),
                _ => "inactive".to_owned(),
            }
        } else {
            // `is-active` exits non-zero for anything but "active" and still prints the state.
            match systemctl(&["is-active", SYSTEMD_UNIT]) {
                Ok(state) => state,
                Err(_) => "inactive".to_owned(),
            }
        };
        Ok(ServiceState::Installed {
            active: state == "active",
            state,
            bind: self.installed_bind(),
        })
    }

    /// The `--bind` the service was installed with.
    fn installed_bind(&self) -> Option<String> {
        let text = std::fs::read_to_string(&self.paths.service_file).ok()?;
        let mut words = text
            .lines()
            .filter(|l| l.starts_with("ExecStart=") || l.trim_start().starts_with("<string>"))
            .flat_map(|l| {
                l.trim_start_matches("ExecStart=")
                    .trim()
                    .trim_start_matches("<string>")
                    .trim_end_matches("</string>")
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            });
        words.find(|w| w == "--bind")?;
        words.next()
    }

    /// Stops the service and removes its files.
    pub(crate) fn uninstall(&self) -> Result<Vec<String>, DaemonError> {
        self.ensure_supported()?;
        if !self.installed() {
            return Err(DaemonError::NotInstalled);
        }
        if cfg!(target_os = "macos") {
            let _ = run(
                "launchctl",
                &[
                    "bootout",
                    &format!("{}/{LAUNCHD_LABEL}", Self::launchctl_domain()),
                ],
            );
        } else {
            // Already stopped or disabled is fine: the goal is "gone".
            let _ = systemctl(&["disable", "--now", SYSTEMD_UNIT]);
        }
        let remove = |path: &Path| match std::fs::remove_file(path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(DaemonError::Write {
                path: path.to_owned(),
                source: err,
            }),
            _ => Ok(()),
        };
        remove(&self.paths.service_file)?;
        remove(&self.paths.env_file)?;
        if !cfg!(target_os = "macos") {
            systemctl(&["daemon-reload"])?;
        }
        Ok(vec![format!(
            "Stopped the codexia service and removed {}.",
            self.paths.service_file.display()
        )])
    }
}

/// What `daemon status` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServiceState {
    NotInstalled,
    Installed {
        active: bool,
        /// systemd's word: active, inactive, failed, activating…
        state: String,
        bind: Option<String>,
    },
}
