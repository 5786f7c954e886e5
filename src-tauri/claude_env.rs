//! The environment that points Claude Code at a codexia gateway: its address and key, and the
//! model each of Claude Code's model slots resolves to through the [`ModelMap`]. Used by
//! `codexia claude` (for the process it starts) and by the tray ("Copy Claude Code setup").
//! Pure: the gateway address, the key and the map are passed in.
//!
//! Claude Code knows Claude models only. A served id such as `gpt-5.5` is "unrecognized": it
//! prints `[claude-code:unrecognized_model]` on stderr and assumes a context window. Its
//! supported way to describe a gateway's own model is a `modelPicker` row in its settings
//! (`--settings`): `behavesAs` names a Claude model whose client-side handling (prompt
//! profile, capabilities, effort levels, context window) applies to ours. We pick one whose
//! window is at least the served model's and set `CLAUDE_CODE_AUTO_COMPACT_WINDOW` to the
//! served model's real window, so Claude Code compacts in time and never assumes more.

use std::collections::BTreeSet;

use crate::models::{DEFAULT_LARGE_MODEL, ModelMap, context_window};

/// The Claude model ids whose targets fill Claude Code's model slots.
const OPUS: &str = "claude-opus-4-1";
const SONNET: &str = "claude-sonnet-4-5";
const HAIKU: &str = "claude-haiku-4-5";

/// The Claude model whose handling a served model gets: one with a 1M-token window for
/// served windows above 200k tokens (compaction at the real window comes from
/// `CLAUDE_CODE_AUTO_COMPACT_WINDOW`), else one with a 200k window.
const BEHAVES_AS_LARGE: &str = "claude-opus-4-8";
const BEHAVES_AS_SMALL: &str = "claude-haiku-4-5";
const SMALL_WINDOW: u64 = 200_000;

/// The token Claude Code sends when the gateway has no API key (it insists on one).
const NO_KEY_TOKEN: &str = "codexia";

/// Claude Code's variables for one gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaudeEnv {
    /// How to reach the gateway: always set.
    gateway: Vec<(&'static str, String)>,
    /// Which models Claude Code asks for: a value the user already set wins.
    models: Vec<(&'static str, String)>,
    /// Each served model of the slots, for the `modelPicker` rows of [`ClaudeEnv::settings`].
    served: BTreeSet<String>,
}

impl ClaudeEnv {
    /// The variables for the gateway at `base_url` (`http://ADDR`) serving `models`.
    pub(crate) fn new(base_url: &str, api_key: Option<&str>, models: &ModelMap) -> Self {
        let pick = |id: &str| models.resolve(id).ok().map(|r| r.upstream);
        let main = pick(SONNET).unwrap_or_else(|| DEFAULT_LARGE_MODEL.to_owned());
        let gateway = vec![
            ("ANTHROPIC_BASE_URL", base_url.to_owned()),
            (
                "ANTHROPIC_AUTH_TOKEN",
                api_key.unwrap_or(NO_KEY_TOKEN).to_owned(),
            ),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
        ];
        let slots = [
            ("ANTHROPIC_MODEL", Some(main.clone())),
            ("ANTHROPIC_DEFAULT_OPUS_MODEL", pick(OPUS)),
            ("ANTHROPIC_DEFAULT_SONNET_MODEL", pick(SONNET)),
            ("ANTHROPIC_DEFAULT_HAIKU_MODEL", pick(HAIKU)),
            ("ANTHROPIC_SMALL_FAST_MODEL", pick(HAIKU)),
            // Claude Code compacts the conversation before the served model's window is full.
            (
                "CLAUDE_CODE_AUTO_COMPACT_WINDOW",
                Some(context_window(&main).to_string()),
            ),
        ];
        let models: Vec<(&'static str, String)> = slots
            .into_iter()
            .filter_map(|(name, value)| Some((name, value?)))
            .collect();
        let served = models
            .iter()
            .filter(|(name, _)| name.starts_with("ANTHROPIC_"))
            .map(|(_, model)| model.clone())
            .collect();
        Self {
            gateway,
            models,
            served,
        }
    }

    /// Claude Code settings (its `--settings` argument, JSON) that describe every served model
    /// of the slots with a `modelPicker` row, so that Claude Code recognises it.
    pub(crate) fn settings(&self) -> serde_json::Value {
        let options: Vec<serde_json::Value> = self
            .served
            .iter()
            .map(|model| {
                let behaves_as = if context_window(model) > SMALL_WINDOW {
                    BEHAVES_AS_LARGE
                } else {
                    BEHAVES_AS_SMALL
                };
                serde_json::json!({
                    "model": model,
                    "description": "Served by codexia",
                    "behavesAs": behaves_as,
                })
            })
            .collect();
        serde_json::json!({ "modelPicker": { "options": options } })
    }

    /// The variables, the gateway's first, leaving out each model choice for which `user_set`
    /// says the user's environment already has a value (`|_| false` for all of them).
    pub(crate) fn vars(
        &self,
        user_set: impl Fn(&str) -> bool,
    ) -> impl Iterator<Item = (&'static str, &str)> {
        let models = self.models.iter().filter(move |(name, _)| !user_set(name));
        self.gateway
            .iter()
            .chain(models)
            .map(|(name, value)| (*name, value.as_str()))
    }
}

/// The `statusLine` entry of Claude Code's settings that runs `codexia statusline`, as
/// `codexia` (the path of this executable); `codexia claude` adds it unless the user set a
/// status line of their own.
pub(crate) fn statusline_setting(codexia: &str) -> serde_json::Value {
    let safe = !codexia.is_empty()
        && codexia
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c));
    // Claude Code runs the command through a shell.
    let program = if safe {
        codexia.to_owned()
    } else {
        format!("'{}'", codexia.replace('\'', r"'\''"))
    };
    serde_json::json!({"type": "command", "command": format!("{program} statusline")})
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use pretty_assertions::assert_eq;

    use super::*;
    use crate::models::BUILTIN_MODELS;

    fn builtin(aliases: &[(&str, &str)]) -> ModelMap {
        ModelMap::new(
            BUILTIN_MODELS.iter().map(|m| (*m).to_owned()),
            aliases
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            None,
        )
    }

    #[test]
    fn the_default_setup_points_every_model_slot_at_the_builtin_models() {
        let env = ClaudeEnv::new("http://127.0.0.1:14550", None, &builtin(&[]));
        assert_eq!(
            env.vars(|_| false).collect::<Vec<_>>(),
            [
                ("ANTHROPIC_BASE_URL", "http://127.0.0.1:14550"),
                ("ANTHROPIC_AUTH_TOKEN", "codexia"),
                ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
                ("ANTHROPIC_MODEL", "gpt-5.5"),
                ("ANTHROPIC_DEFAULT_OPUS_MODEL", "gpt-5.5"),
                ("ANTHROPIC_DEFAULT_SONNET_MODEL", "gpt-5.5"),
                ("ANTHROPIC_DEFAULT_HAIKU_MODEL", "gpt-5.4-mini"),
                ("ANTHROPIC_SMALL_FAST_MODEL", "gpt-5.4-mini"),
                ("CLAUDE_CODE_AUTO_COMPACT_WINDOW", "272000"),
            ]
        );
    }

    #[test]
    fn aliases_choose_the_models_and_the_key_becomes_the_token() {
        let env = ClaudeEnv::new(
            "http://[::1]:9",
            Some("k-42"),
            &builtin(&[
                ("claude-sonnet-*", "gpt-5.4"),
                ("claude-haiku-*", "gpt-5.5-mini"),
            ]),
        );
        let vars: Vec<_> = env.vars(|_| false).collect();
        assert_eq!(
            vars,
            [
                ("ANTHROPIC_BASE_URL", "http://[::1]:9"),
                ("ANTHROPIC_AUTH_TOKEN", "k-42"),
                ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
                ("ANTHROPIC_MODEL", "gpt-5.4"),
                ("ANTHROPIC_DEFAULT_OPUS_MODEL", "gpt-5.5"),
                ("ANTHROPIC_DEFAULT_SONNET_MODEL", "gpt-5.4"),
                ("ANTHROPIC_DEFAULT_HAIKU_MODEL", "gpt-5.5-mini"),
                ("ANTHROPIC_SMALL_FAST_MODEL", "gpt-5.5-mini"),
                ("CLAUDE_CODE_AUTO_COMPACT_WINDOW", "272000"),
            ]
        );
    }

    #[test]
    fn every_served_model_gets_a_picker_row_that_behaves_as_a_known_claude_model() {
        let env = ClaudeEnv::new(
            "http://127.0.0.1:1",
            None,
            &builtin(&[("claude-haiku-*", "gpt-5.3-codex-spark")]),
        );
        assert_eq!(
            env.settings(),
            serde_json::json!({"modelPicker": {"options": [
                {"model": "gpt-5.3-codex-spark", "description": "Served by codexia", "behavesAs": "claude-haiku-4-5"},
                {"model": "gpt-5.5", "description": "Served by codexia", "behavesAs": "claude-opus-4-8"},
            ]}})
        );
    }

    #[test]
    fn a_model_the_user_set_wins_but_the_gateway_address_never_yields() {
        let env = ClaudeEnv::new("http://127.0.0.1:1", None, &builtin(&[]));
        let names: Vec<_> = env
            .vars(|name| name == "ANTHROPIC_MODEL" || name == "ANTHROPIC_BASE_URL")
            .map(|(name, _)| name)
            .collect();
        assert!(!names.contains(&"ANTHROPIC_MODEL"));
        assert!(names.contains(&"ANTHROPIC_BASE_URL"));
        assert!(names.contains(&"ANTHROPIC_SMALL_FAST_MODEL"));
    }

    #[test]
    fn the_statusline_setting_runs_this_codexia_quoted_for_the_shell() {
        assert_eq!(
            statusline_setting("/usr/bin/codexia")["command"],
            "/usr/bin/codexia statusline"
        );
        assert_eq!(
            statusline_setting("/opt/my apps/it's/codexia")["command"],
            r"'/opt/my apps/it'\''s/codexia' statusline"
        );
    }
}
