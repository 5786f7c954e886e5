//! `codexia daemon …`: the per-user background service running `codexia serve`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::UserError;
use crate::cli::args::{DaemonAction, GatewayArgs};
use crate::cli::output::Printer;
use crate::daemon::ServiceSpec;
use crate::daemon::manager::{Daemon, DaemonError, DaemonPaths, ServiceState};
use crate::settings::{Env, Settings};

pub async fn run(action: &DaemonAction) -> anyhow::Result<ExitCode> {
    let env = Env::from_process();
    let codexia_home = Settings::home_dir(&env)?;
    let home = env
        .get("HOME")
        .map(PathBuf::from)
        .or_else(dirs::home_dir)
        .ok_or_else(|| UserError::new("cannot find your home directory; set HOME"))?;
    let config_home = env.get("XDG_CONFIG_HOME").map(PathBuf::from);
    let paths = DaemonPaths::new(&home, config_home.as_deref(), &codexia_home);
    let mut daemon = Daemon {
        paths,
        serve_command: "codexia serve".to_owned(),
    };

    let result = match action {
        DaemonAction::Install(args) | DaemonAction::Reinstall(args) => {
            let (spec, api_key) = service_spec(args, &env, &codexia_home)?;
            daemon.serve_command = foreground_command(&spec);
            if matches!(action, DaemonAction::Install(_)) {
                daemon.install(&spec, api_key.as_deref())
            } else {
                daemon.reinstall(&spec, api_key.as_deref())
            }
        }
        DaemonAction::Start => daemon.control("start"),
        DaemonAction::Stop => daemon.control("stop"),
        DaemonAction::Restart => daemon.control("restart"),
        DaemonAction::Uninstall => daemon.uninstall(),
        DaemonAction::Status => return status(&daemon, &env).await,
    };
    match result {
        Ok(lines) => {
            for line in lines {
                Printer.note(line);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => Err(daemon_error(err)),
    }
}

fn daemon_error(err: DaemonError) -> anyhow::Error {
    let hint = err.hint();
    let message = err.to_string();
    match hint {
        Some(hint) => UserError::with_hint(message, hint).into(),
        None => anyhow::Error::new(err),
    }
}

/// The foreground equivalent, for systems without a service manager.
fn foreground_command(spec: &ServiceSpec) -> String {
    let mut words = vec!["codexia".to_owned()];
    words.extend(spec.args.iter().map(|a| {
        if a.contains(' ') {
            format!("'{a}'")
        } else {
            a.clone()
        }
    }));
    words.join(" ")
}

/// Checks the options like `serve` would, and builds what the service runs.
fn service_spec(
    args: &GatewayArgs,
    env: &Env,
    codexia_home: &std::path::Path,
) -> anyhow::Result<(ServiceSpec, Option<String>)> {
    // Resolve now so that a bad value fails here, not in a restart loop of the service.
    let settings = Settings::resolve(&args.overrides(), env)?;
    if let Some(addr) = settings.exposed_without_key() {
        return Err(UserError::with_hint(
            format!("refusing to install a service listening on {addr} without an API key"),
            "add --api-key KEY, or bind to 127.0.0.1",
        )
        .into());
    }
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .context("cannot find the path of the codexia binary")?;
    let mut serve = vec!["serve".to_owned()];
    if let Some(bind) = &args.bind {
        serve.extend(["--bind".to_owned(), bind.clone()]);
    }
    if let Some(models) = &args.models {
        serve.extend(["--models".to_owned(), models.clone()]);
    }
    if let Some(fallback) = &args.model_fallback {
        serve.extend(["--model-fallback".to_owned(), fallback.clone()]);
    }
    if let Some(proxy) = &args.proxy {
        serve.extend(["--proxy".to_owned(), proxy.clone()]);
    }
    if let Some(file) = &args.auth_file {
        let absolute = std::path::absolute(file).unwrap_or_else(|_| file.clone());
        serve.extend(["--auth-file".to_owned(), absolute.display().to_string()]);
    }
    let pinned_home = env
        .get(crate::settings::EnvVars::HOME)
        .map(|_| codexia_home.display().to_string());
    let spec = ServiceSpec {
        exe: exe.display().to_string(),
        args: serve,
        codexia_home: pinned_home,
        env_file: args
            .api_key
            .as_ref()
            .map(|_| codexia_home.join("daemon.env").display().to_string()),
    };
    Ok((spec, args.api_key.clone()))
}

async fn status(daemon: &Daemon, env: &Env) -> anyhow::Result<ExitCode> {
    let state = daemon.status().map_err(daemon_error)?;
    let (active, bind) = match state {
        ServiceState::NotInstalled => {
            Printer.out("Service: not installed (`codexia daemon install` sets it up)");
            return Ok(ExitCode::from(3));
        }
        ServiceState::Installed {
            active,
            state,
            bind,
        } => {
            Printer.out(format!(
                "Service: {state} ({})",
                daemon.paths.service_file.display()
            ));
            (active, bind)
        }
    };
    let bind = match bind {
        Some(bind) => crate::settings::parse_bind(&bind).ok(),
        None => Settings::resolve(&crate::settings::Overrides::default(), env)
            .ok()
            .map(|s| s.bind.value),
    };
    if let Some(bind) = bind {
        let url = crate::local::gateway_url(bind);
        let answers = crate::local::gateway_answers(&url).await;
        Printer.out(format!(
            "Gateway: {url} {}",
            if answers {
                "answers"
            } else {
                "does not answer"
            }
        ));
    }
    Ok(if active {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}
