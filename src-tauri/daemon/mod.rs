//! The per-user background service running `codexia serve`: a systemd user unit on Linux, a
//! LaunchAgent on macOS. The unit and plist texts come from pure functions; installing them
//! and calling `systemctl`/`launchctl` is the only I/O, in [`manager`].

pub mod manager;

use std::path::Path;

/// The systemd unit name.
pub const SYSTEMD_UNIT: &str = "codexia.service";
/// The launchd label.
pub const LAUNCHD_LABEL: &str = "com.codexia.daemon";

/// What the service runs: the binary, its `serve` arguments, and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// Absolute path of the codexia binary.
    pub exe: String,
    /// Arguments after the binary, starting with `serve`.
    pub args: Vec<String>,
    /// `$CODEXIA_HOME` to pin, when it is not the default.
    pub codexia_home: Option<String>,
    /// A file with `CODEXIA_API_KEY=…` (mode 0600), so the key is not in the unit text.
    pub env_file: Option<String>,
}

/// Quotes one word for a systemd `ExecStart=` line.
fn systemd_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:,=@+".contains(c));
    if plain {
        return word.to_owned();
    }
    let mut out = String::from("\"");
    for c in word.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            // `%` starts a specifier and `$` a variable in systemd command lines.
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The systemd user unit.
pub fn systemd_unit(spec: &ServiceSpec) -> String {
    let exec: Vec<String> = std::iter::once(spec.exe.as_str())
        .chain(spec.args.iter().map(String::as_str))
        .map(systemd_quote)
        .collect();
    let mut environment = String::new();
    if let Some(home) = &spec.codexia_home {
        environment.push_str(&format!(
            "Environment={}\n",
            systemd_quote(&format!("CODEXIA_HOME={home}"))
        ));
    }
    if let Some(file) = &spec.env_file {
        environment.push_str(&format!("EnvironmentFile=-{file}\n"));
    }
    format!(
        "# Written by `codexia daemon install`; `codexia daemon uninstall` removes it.\n\
         [Unit]\n\
         Description=codexia gateway (ChatGPT subscription for Claude Code and OpenAI clients)\n\
         After=network-online.target\n\
         Wants=network-online.target\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={}\n\
         {environment}\
         Restart=on-failure\n\
         RestartSec=3\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        exec.join(" ")
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The launchd LaunchAgent plist. `env` holds extra variables (e.g. the API key; the plist is
/// written 0600 then).
pub fn launchd_plist(spec: &ServiceSpec, logs_dir: &Path, env: &[(String, String)]) -> String {
    let args: String = std::iter::once(spec.exe.as_str())
        .chain(spec.args.iter().map(String::as_str))
        .map(|a| format!("    <string>{}</string>\n", xml_escape(a)))
        .collect();
    let mut vars: Vec<(String, String)> = Vec::new();
    if let Some(home) = &spec.codexia_home {
        vars.push(("CODEXIA_HOME".to_owned(), home.clone()));
    }
    vars.extend(env.iter().cloned());
    let env_block = if vars.is_empty() {
        String::new()
    } else {
        let entries: String = vars
            .iter()
            .map(|(k, v)| {
                format!(
                    "    <key>{}</key>\n    <string>{}</string>\n",
                    xml_escape(k),
                    xml_escape(v)
                )
            })
            .collect();
        format!("  <key>EnvironmentVariables</key>\n  <dict>\n{entries}  </dict>\n")
    };
    let logs = logs_dir.display().to_string();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n\
         <dict>\n\
         \x20 <key>Label</key>\n\
         \x20 <string>{LAUNCHD_LABEL}</string>\n\
         \x20 <key>ProgramArguments</key>\n\
         \x20 <array>\n\
         {args}\
         \x20 </array>\n\
         {env_block}\
         \x20 <key>RunAtLoad</key>\n\
         \x20 <true/>\n\
         \x20 <key>KeepAlive</key>\n\
         \x20 <true/>\n\
         \x20 <key>StandardOutPath</key>\n\
         \x20 <string>{out}</string>\n\
         \x20 <key>StandardErrorPath</key>\n\
         \x20 <string>{err}</string>\n\
         </dict>\n\
         </plist>\n",
        out = xml_escape(&format!("{logs}/daemon.out.log")),
        err = xml_escape(&format!("{logs}/daemon.err.log")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ServiceSpec {
        ServiceSpec {
            exe: "/opt/codexia/bin/codexia".into(),
            args: vec![
                "serve".into(),
                "--bind".into(),
                "127.0.0.1:14550".into(),
                "--models".into(),
                "gpt 5,%x".into(),
            ],
            codexia_home: Some("/home/u/.codexia".into()),
            env_file: Some("/home/u/.codexia/daemon.env".into()),
        }
    }

    #[test]
    fn the_systemd_unit_quotes_the_options_and_escapes_percent_signs() {
        // The whole unit text is a snapshot in tests/suite/daemon.rs; here, what this function
        // must get right: systemd's quoting and its `%` specifiers.
        let unit = systemd_unit(&spec());
        assert!(unit.lines().any(|line| line
            == "ExecStart=/opt/codexia/bin/codexia serve --bind 127.0.0.1:14550 --models \"gpt 5,%%x\""));
        assert!(unit.contains("\nEnvironment=CODEXIA_HOME=/home/u/.codexia\n"));
        assert!(unit.contains("\nRestart=on-failure\n"));
    }

    #[test]
    fn the_launchd_plist_runs_at_load_keeps_alive_and_logs_under_home() {
        let plist = launchd_plist(
            &spec(),
            Path::new("/home/u/.codexia/logs"),
            &[("CODEXIA_API_KEY".into(), "k<&>".into())],
        );
        assert!(plist.contains("<string>com.codexia.daemon</string>"));
        assert!(plist.contains(
            "    <string>/opt/codexia/bin/codexia</string>\n    <string>serve</string>\n"
        ));
        assert!(plist.contains("<key>RunAtLoad</key>\n  <true/>"));
        assert!(plist.contains("<key>KeepAlive</key>\n  <true/>"));
        assert!(plist.contains("<string>/home/u/.codexia/logs/daemon.err.log</string>"));
        assert!(plist.contains("<key>CODEXIA_API_KEY</key>\n    <string>k&lt;&amp;&gt;</string>"));
        assert!(plist.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist"));
        assert!(plist.ends_with("</dict>\n</plist>\n"));
    }
}
