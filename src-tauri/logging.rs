//! Logging, set up in one place: to stderr, at a level taken from [`Settings`] (`--log`,
//! `CODEXIA_LOG`, `config.json`), how loud the program is by default, and `-v`. Every line
//! passes through the one redactor (`redact.rs`) on its way out ([`Redacting`]), so a token
//! that reached a log message by mistake is still not written.

use std::io::Write;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::redact;
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
    remember_configured_keys(settings);
    let filter = EnvFilter::try_new(directive(settings, loudness, verbose))
        .unwrap_or_else(|_| EnvFilter::new("warn,codexia=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Redacting(std::io::stderr))
        // Colours only for a person at a terminal; logs in files and pipes stay plain.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .with_target(false)
        .try_init();
}

/// Tells the process's redactor the configured API keys, so that no log line, capture or
/// bundle shows them.
pub(crate) fn remember_configured_keys(settings: &Settings) {
    let single = settings.api_key.value.iter();
    let named = settings.api_keys.value.values();
    redact::remember_all(
        single
            .chain(named)
            .map(|key| (redact::SecretKind::ApiKey, key.expose())),
    );
}

/// A log writer whose every event is redacted before it reaches the inner writer: the event
/// is collected (one `make_writer` per event) and written, redacted, when the writer drops.
/// Wrap any [`MakeWriter`] in it (stderr here; a log file works the same).
#[derive(Debug, Clone)]
pub(crate) struct Redacting<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactedEvent<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactedEvent {
            line: Vec::new(),
            inner: self.0.make_writer(),
        }
    }
}

/// One log event on its way through [`Redacting`].
pub(crate) struct RedactedEvent<W: Write> {
    line: Vec<u8>,
    inner: W,
}

impl<W: Write> Write for RedactedEvent<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactedEvent<W> {
    fn drop(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.line);
        let redacted = redact::current().text(&text).into_owned();
        // A log line that cannot be written has nowhere else to go.
        let _ = self.inner.write_all(redacted.as_bytes());
        let _ = self.inner.flush();
    }
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
    fn log_events_are_redacted_on_their_way_out() {
        use std::sync::{Arc, Mutex};

        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = Redacting({
            let sink = sink.clone();
            move || sink.clone()
        });
        {
            let mut event = writer.make_writer();
            event
                .write_all(b"refreshed: Authorization: Bearer ")
                .unwrap();
            event
                .write_all(b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln\n")
                .unwrap();
        }
        let written = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(written, "refreshed: Authorization: Bearer [redacted:jwt]\n");
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
