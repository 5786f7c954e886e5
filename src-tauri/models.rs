//! Which model ids the gateway serves, and how a requested id (an Anthropic `claude-*` id, an
//! alias, a served GPT id) becomes the id sent upstream. Pure: no I/O.

use std::collections::BTreeMap;

use crate::settings::{ModelList, Settings};

/// Models served when neither the configuration nor the backend's live catalog says otherwise.
pub const BUILTIN_MODELS: &[&str] = &[
    "gpt-5.1",
    "gpt-5.1-codex-max",
    "gpt-5.1-codex-mini",
    "gpt-5.2",
    "gpt-5.2-codex",
    "gpt-5.3-codex",
    "gpt-5.3-codex-spark",
    "gpt-5.4",
    "gpt-5.4-mini",
    "gpt-5.5",
    "gpt-5.5-mini",
];

/// Default target of `claude-*` ids naming opus or sonnet (and other Claude-looking ids).
pub const DEFAULT_LARGE_MODEL: &str = "gpt-5.5";
/// Default target of ids naming haiku.
pub const DEFAULT_SMALL_MODEL: &str = "gpt-5.4-mini";

/// A prefix some clients put in front of Codex model ids.
const CODEX_PREFIX: &str = "openai-codex/";

/// The served models and the rules that map requested ids onto them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelMap {
    served: Vec<String>,
    aliases: BTreeMap<String, String>,
    fallback: Option<String>,
}

/// How a requested id was resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModel {
    /// The id sent upstream.
    pub upstream: String,
    /// Why it differs from the request, when it does.
    pub via: Option<ResolvedVia>,
}

/// The rule that produced a [`ResolvedModel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolvedVia {
    Alias,
    Fallback,
}

/// A requested id that is neither served nor mapped by a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model {requested:?} is not served here; served models: {}", served.join(", "))]
pub struct UnknownModel {
    pub requested: String,
    pub served: Vec<String>,
}

impl ModelMap {
    /// Builds the map from settings; `catalog` is the backend's live list when it answered.
    pub fn from_settings(settings: &Settings, catalog: Option<&[String]>) -> Self {
        let base: Vec<String> = match (&settings.models.value, catalog) {
            (ModelList::Explicit(list), _) => list.clone(),
            (ModelList::Catalog, Some(live)) if !live.is_empty() => live.to_vec(),
            (ModelList::Catalog, _) => BUILTIN_MODELS.iter().map(|s| (*s).to_owned()).collect(),
        };
        Self::new(
            base.into_iter()
                .chain(settings.extra_models.value.iter().cloned()),
            settings.model_aliases.value.clone(),
            settings.model_fallback.value.clone(),
        )
    }

    /// A map from explicit parts (duplicates in `served` are dropped, order kept).
    pub fn new(
        served: impl IntoIterator<Item = String>,
        aliases: BTreeMap<String, String>,
        fallback: Option<String>,
    ) -> Self {
        let mut list: Vec<String> = Vec::new();
        for id in served {
            if !list.contains(&id) {
                list.push(id);
            }
        }
        Self {
            served: list,
            aliases,
            fallback,
        }
    }

    /// The served ids, in order.
    pub fn served(&self) -> &[String] {
        &self.served
    }

    /// The configured aliases (exact ids, or patterns ending in `*`).
    pub fn aliases(&self) -> &BTreeMap<String, String> {
        &self.aliases
    }

    /// Maps a requested id to the id sent upstream.
    ///
    /// Order: strip `openai-codex/`; a configured alias; a served id as is; a Claude-looking id
    /// (`claude-*`, or naming opus/sonnet/haiku) to the fallback (haiku → the small model unless
    /// a fallback is configured); anything else is unknown.
    pub fn resolve(&self, requested: &str) -> Result<ResolvedModel, UnknownModel> {
        let id = requested.trim();
        let id = id.strip_prefix(CODEX_PREFIX).unwrap_or(id);
        if let Some(target) = self.alias_for(id) {
            return Ok(ResolvedModel {
                upstream: target.to_owned(),
                via: Some(ResolvedVia::Alias),
            });
        }
        if self.served.iter().any(|s| s == id) {
            return Ok(ResolvedModel {
                upstream: id.to_owned(),
                via: None,
            });
        }
        if looks_anthropic(id)
            && let Some(target) = self.fallback_for(id)
        {
            return Ok(ResolvedModel {
                upstream: target,
                via: Some(ResolvedVia::Fallback),
            });
        }
        Err(UnknownModel {
            requested: requested.to_owned(),
            served: self.served.clone(),
        })
    }

    fn alias_for(&self, id: &str) -> Option<&str> {
        if let Some(target) = self.aliases.get(id) {
            return Some(target);
        }
        // Longest matching `prefix*` pattern wins.
        self.aliases
            .iter()
            .filter_map(|(pattern, target)| {
                let prefix = pattern.strip_suffix('*')?;
                id.starts_with(prefix)
                    .then_some((prefix.len(), target.as_str()))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, target)| target)
    }

    fn fallback_for(&self, id: &str) -> Option<String> {
        if let Some(fallback) = &self.fallback {
            return Some(fallback.clone());
        }
        let preferred = if id.to_ascii_lowercase().contains("haiku") {
            DEFAULT_SMALL_MODEL
        } else {
            DEFAULT_LARGE_MODEL
        };
        if self.served.iter().any(|s| s == preferred) {
            Some(preferred.to_owned())
        } else {
            // The preferred target is not served (a custom list): use the first served model.
            self.served.first().cloned()
        }
    }
}

/// The context window of a model in tokens (docs/protocol.md §10.2).
pub fn context_window(model: &str) -> u64 {
    match model {
        "gpt-5.3-codex-spark" => 128_000,
        m if m.starts_with("gpt-5.6") => 372_000,
        _ => 272_000,
    }
}

/// Whether an id names an Anthropic model.
pub fn looks_anthropic(id: &str) -> bool {
    let id = id.to_ascii_lowercase();
    id.starts_with("claude")
        || ["opus", "sonnet", "haiku"]
            .iter()
            .any(|name| id.contains(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn builtin() -> ModelMap {
        ModelMap::new(
            BUILTIN_MODELS.iter().map(|s| (*s).to_owned()),
            BTreeMap::new(),
            None,
        )
    }

    fn upstream(map: &ModelMap, id: &str) -> String {
        map.resolve(id).unwrap().upstream
    }

    #[test]
    fn claude_ids_map_to_the_large_or_small_model() {
        let map = builtin();
        assert_eq!(upstream(&map, "claude-sonnet-4-5"), "gpt-5.5");
        assert_eq!(upstream(&map, "claude-opus-4-1-20250805"), "gpt-5.5");
        assert_eq!(upstream(&map, "claude-3-5-haiku-latest"), "gpt-5.4-mini");
        assert_eq!(upstream(&map, "sonnet"), "gpt-5.5");
        assert_eq!(upstream(&map, "haiku"), "gpt-5.4-mini");
    }

    #[test]
    fn served_ids_pass_through_and_the_codex_prefix_is_stripped() {
        let map = builtin();
        assert_eq!(
            map.resolve("gpt-5.4").unwrap(),
            ResolvedModel {
                upstream: "gpt-5.4".into(),
                via: None
            }
        );
        assert_eq!(upstream(&map, "openai-codex/gpt-5.5"), "gpt-5.5");
    }

    #[test]
    fn a_configured_fallback_takes_every_claude_id() {
        let map = ModelMap::new(
            BUILTIN_MODELS.iter().map(|s| (*s).to_owned()),
            BTreeMap::new(),
            Some("gpt-5.4".into()),
        );
        assert_eq!(upstream(&map, "claude-3-5-haiku-latest"), "gpt-5.4");
        assert_eq!(upstream(&map, "claude-opus-4"), "gpt-5.4");
    }

    #[test]
    fn aliases_override_rules_and_patterns_match_by_prefix() {
        let aliases = BTreeMap::from([
            ("claude-opus-*".to_owned(), "gpt-5.1-codex-max".to_owned()),
            ("claude-opus-4-1".to_owned(), "gpt-5.2".to_owned()),
            ("fast".to_owned(), "gpt-5.3-codex-spark".to_owned()),
        ]);
        let map = ModelMap::new(
            BUILTIN_MODELS.iter().map(|s| (*s).to_owned()),
            aliases,
            None,
        );
        assert_eq!(upstream(&map, "claude-opus-4-1"), "gpt-5.2");
        assert_eq!(upstream(&map, "claude-opus-4-5"), "gpt-5.1-codex-max");
        assert_eq!(map.resolve("fast").unwrap().via, Some(ResolvedVia::Alias));
        assert_eq!(upstream(&map, "claude-sonnet-4"), "gpt-5.5");
    }

    #[test]
    fn unknown_ids_are_refused_with_the_served_list() {
        let map = ModelMap::new(["gpt-5.5".to_owned()], BTreeMap::new(), None);
        let err = map.resolve("gpt-4o").unwrap_err();
        assert_eq!(
            err.to_string(),
            "model \"gpt-4o\" is not served here; served models: gpt-5.5"
        );
        // The default large model is served, the small one is not: haiku falls back to the first.
        assert_eq!(upstream(&map, "claude-haiku-4-5"), "gpt-5.5");
    }
}
