//! Logging, set up in one place: to stderr, at a level taken from [`Settings`] (`--log`,
//! `CODEXIA_LOG`, `config.json`), how loud the program is by default, and `-v`.

use tracing_subscriber::EnvFilter;

use crate::settings::{Settings, Source};

/// How loud a program is before `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loudness {
    /// The configured level (default `info`): `serve`, the tray and its windows.
    Configured,
    /// `warn` unless a level was configured: commands whose output is the answer.
    QuietUnlessConfigured,
    /// `warn` whatever is configured: `codexia claude`, which shares the terminal with
    /// Claude Code.
    Quiet,
}

/// Starts logging to stderr; later calls in the same process change nothing.
pub(crate) fn init(settings: &Settings, loudness: Loudness, verbose: u8) {
    let filter = EnvFilter::try_new(directive(settings, loudness, verbose))
        .unwrap_or_else(|_| EnvFilter::new("warn,codexia=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal; logs in files and pipes stay plain.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .with_target(false)
        .try_init();
}

/// The filter directive: our own crate at the chosen level and noisy dependencies at `warn`,
/// unless the configured value is a whole directive (`codexia=debug,hyper=info`).
fn directive(settings: &Settings, loudness: Loudness, verbose: u8) -> String {
    let configured = &settings.log;
    let level = match verbose {
        0 => match loudness {
            Loudness::Configured => configured.value.as_str(),
            Loudness::QuietUnlessConfigured if configured.source != Source::Default => {
                configured.value.as_str()
            }
            Loudness::QuietUnlessConfigured | Loudness::Quiet => "warn",
        },
        1 => "debug",
        _ => "trace",
    };
    if level.contains('=') || level.contains(',') {
        level.to_owned()
    } else {
        format!("warn,codexia={level}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{ConfigFile, Env, Overrides};

    fn settings(env: &[(&str, &str)]) -> Settings {
        Settings::resolve_with_file(
            &Overrides::default(),
            &Env::from_pairs(env.iter().copied()),
            "/nonexistent".into(),
            &ConfigFile::default(),
        )
        .unwrap()
    }

    #[test]
    fn the_level_follows_the_settings_the_loudness_and_verbosity() {
        let default = settings(&[]);
        let set = settings(&[("CODEXIA_LOG", "error")]);
        let whole = settings(&[("CODEXIA_LOG", "codexia=debug,hyper=info")]);
        assert_eq!(
            [
                directive(&default, Loudness::Configured, 0),
                directive(&default, Loudness::QuietUnlessConfigured, 0),
                directive(&set, Loudness::QuietUnlessConfigured, 0),
                directive(&set, Loudness::Quiet, 0),
                directive(&whole, Loudness::Configured, 0),
                directive(&set, Loudness::Quiet, 1),
                directive(&default, Loudness::Configured, 2),
            ],
            [
                "warn,codexia=info",
                "warn,codexia=warn",
                "warn,codexia=error",
                "warn,codexia=warn",
                "codexia=debug,hyper=info",
                "warn,codexia=debug",
                "warn,codexia=trace",
            ]
        );
    }
}
