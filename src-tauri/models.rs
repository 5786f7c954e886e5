//! Which model ids the gateway serves, and how a requested id (an Anthropic `claude-*` id, an
//! alias, a served GPT id, another size of a served model) becomes the id sent upstream
//! (docs/compatibility.md §2.1).
//!
//! Pure: no I/O, except one info log line the first time a map answers an id with another
//! size of its family ([`nearest_size`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use crate::settings::{ModelList, Settings};

/// Models served when neither the configuration nor the backend's live catalog says otherwise.
pub(crate) const BUILTIN_MODELS: &[&str] = &[
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
pub(crate) const DEFAULT_LARGE_MODEL: &str = "gpt-5.5";
/// Default target of ids naming haiku.
pub(crate) const DEFAULT_SMALL_MODEL: &str = "gpt-5.4-mini";

/// A prefix some clients put in front of Codex model ids.
const CODEX_PREFIX: &str = "openai-codex/";

/// Size suffixes of model ids (`gpt-5.4-mini`, `gpt-5.1-codex-max`) and their order; an id
/// without one is the base size of its family. `pro` and `max` both name the larger size.
const SIZES: &[(&str, u8)] = &[("nano", 0), ("mini", 1), ("max", 3), ("pro", 3)];
/// The rank of an id without a size suffix.
const BASE_SIZE: u8 = 2;

/// The served models and the rules that map requested ids onto them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelMap {
    served: Vec<String>,
    aliases: BTreeMap<String, String>,
    fallback: Option<String>,
    /// The served list is the built-in stand-in for a live catalog not fetched yet: an id it
    /// lacks may still be served, so it is refused (and the catalog consulted, see
    /// `gateway::catalog::translate_with_catalog`) rather than answered by another size.
    provisional: bool,
    noticed: Noticed,
}

/// The ids a map already logged as answered by another size; shared by its clones. Bounded:
/// only ids made of a served family and a size get here.
#[derive(Debug, Clone, Default)]
struct Noticed(Arc<Mutex<BTreeSet<String>>>);

impl Noticed {
    /// Whether `id` is new (and remembers it).
    fn first_time(&self, id: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned())
    }
}

/// Bookkeeping for the log, not part of what a map means.
impl PartialEq for Noticed {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Noticed {}

/// How a requested id was resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolvedModel {
    /// The id sent upstream.
    pub upstream: String,
    /// Why it differs from the request, when it does.
    pub via: Option<ResolvedVia>,
}

/// The rule that produced a [`ResolvedModel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResolvedVia {
    Alias,
    /// A Claude-looking id, to the fallback model.
    Fallback,
    /// An id not served, to the nearest served size of its family ([`nearest_size`]).
    NearestSize,
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
    pub(crate) fn from_settings(settings: &Settings, catalog: Option<&[String]>) -> Self {
        let (base, provisional): (Vec<String>, bool) = match (&settings.models.value, catalog) {
            (ModelList::Explicit(list), _) => (list.clone(), false),
            (ModelList::Catalog, Some(live)) if !live.is_empty() => (live.to_vec(), false),
            (ModelList::Catalog, _) => (
                BUILTIN_MODELS.iter().map(|s| (*s).to_owned()).collect(),
                true,
            ),
        };
        Self {
            provisional,
            ..Self::new(
                base.into_iter()
                    .chain(settings.extra_models.value.iter().cloned()),
                settings.model_aliases.value.clone(),
                settings.model_fallback.value.clone(),
            )
        }
    }

    /// A map from explicit parts (duplicates in `served` are dropped, order kept).
    pub(crate) fn new(
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
            provisional: false,
            noticed: Noticed::default(),
        }
    }

    /// The served ids, in order.
    pub(crate) fn served(&self) -> &[String] {
        &self.served
    }

    /// The configured aliases (exact ids, or patterns ending in `*`).
    pub(crate) fn aliases(&self) -> &BTreeMap<String, String> {
        &self.aliases
    }

    /// Maps a requested id to the id sent upstream.
    ///
    /// Order: strip `openai-codex/`; a configured alias; a served id as is; another size of a
    /// served family to the nearest served size ([`nearest_size`]; not while the list is the
    /// provisional built-in one); a Claude-looking id (`claude-*`, or naming opus/sonnet/haiku)
    /// to the fallback (haiku → the small model unless a fallback is configured); anything else
    /// is unknown.
    pub(crate) fn resolve(&self, requested: &str) -> Result<ResolvedModel, UnknownModel> {
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
        if !self.provisional
            && let Some(target) = nearest_size(id, &self.served)
        {
            if self.noticed.first_time(id) {
                tracing::info!(
                    "model {id:?} is not served; answering with the nearest size, {target:?} (a model_aliases entry can choose another)"
                );
            }
            return Ok(ResolvedModel {
                upstream: target.to_owned(),
                via: Some(ResolvedVia::NearestSize),
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

/// Splits a size suffix off an id: `gpt-5.4-nano` → (`gpt-5.4`, nano's rank); an id without
/// one is its own family at [`BASE_SIZE`].
fn family_and_size(id: &str) -> (&str, u8) {
    SIZES
        .iter()
        .find_map(|(suffix, rank)| {
            let family = id.strip_suffix(suffix)?.strip_suffix('-')?;
            (!family.is_empty()).then_some((family, *rank))
        })
        .unwrap_or((id, BASE_SIZE))
}

/// The served id of the same family as `id` (equal once the size suffixes `-nano`, `-mini`,
/// `-max`, `-pro` are taken off) whose size is nearest to `id`'s; on a tie the larger, so the
/// stand-in is never the weaker of two. `None` when no other size of the family is served.
pub(crate) fn nearest_size<'a>(id: &str, served: &'a [String]) -> Option<&'a str> {
    let (family, size) = family_and_size(id);
    served
        .iter()
        .filter_map(|candidate| {
            let (their_family, their_size) = family_and_size(candidate);
            (their_family == family).then_some((candidate.as_str(), their_size))
        })
        .min_by_key(|(_, their_size)| (their_size.abs_diff(size), std::cmp::Reverse(*their_size)))
        .map(|(candidate, _)| candidate)
}

/// The context window of a model in tokens (docs/protocol.md §10.2).
pub(crate) fn context_window(model: &str) -> u64 {
    match model {
        "gpt-5.3-codex-spark" => 128_000,
        m if m.starts_with("gpt-5.6") => 372_000,
        _ => 272_000,
    }
}

/// Whether an id names an Anthropic model.
pub(crate) fn looks_anthropic(id: &str) -> bool {
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

    /// The default catalog of the fake backend (tests/support/fake_backend/catalog.rs).
    const FAKE_CATALOG: &[&str] = &[
        "gpt-5.5",
        "gpt-5.4",
        "gpt-5.4-mini",
        "gpt-5.1-codex-max",
        "gpt-5.3-codex-spark",
    ];

    #[test]
    fn other_sizes_of_a_served_family_find_the_nearest_served_size() {
        let builtin: Vec<String> = BUILTIN_MODELS.iter().map(|s| (*s).to_owned()).collect();
        let catalog: Vec<String> = FAKE_CATALOG.iter().map(|s| (*s).to_owned()).collect();
        let table: &[(&[String], &str, Option<&str>)] = &[
            // Smaller than anything served: the smallest served size.
            (&builtin, "gpt-5.4-nano", Some("gpt-5.4-mini")),
            (&builtin, "gpt-5.5-nano", Some("gpt-5.5-mini")),
            (&builtin, "gpt-5.1-codex-nano", Some("gpt-5.1-codex-mini")),
            (&catalog, "gpt-5.4-nano", Some("gpt-5.4-mini")),
            // Larger: the largest served size.
            (&builtin, "gpt-5.4-pro", Some("gpt-5.4")),
            (&builtin, "gpt-5.4-max", Some("gpt-5.4")),
            (&builtin, "gpt-5.1-codex-pro", Some("gpt-5.1-codex-max")),
            // A base size that is not served.
            (&builtin, "gpt-5.2-codex-mini", Some("gpt-5.2-codex")),
            (&builtin, "gpt-5.1-mini", Some("gpt-5.1")),
            (&catalog, "gpt-5.5-mini", Some("gpt-5.5")),
            (&catalog, "gpt-5.1-codex-mini", Some("gpt-5.1-codex-max")),
            // A tie (mini and max are one step from the base): the larger.
            (&builtin, "gpt-5.1-codex", Some("gpt-5.1-codex-max")),
            // The family is the whole id without its size: spark is a model, not a size.
            (
                &builtin,
                "gpt-5.3-codex-spark-mini",
                Some("gpt-5.3-codex-spark"),
            ),
            (&catalog, "gpt-5.3-codex-mini", None),
            // A served id is its own nearest size.
            (&builtin, "gpt-5.4", Some("gpt-5.4")),
            // No other size of the family is served.
            (&builtin, "gpt-5.6-mini", None),
            (&builtin, "gpt-4o-mini", None),
            (&catalog, "gpt-5.2-codex-mini", None),
            (&builtin, "gpt-5.5-turbo", None),
            (&builtin, "gpt-5.5mini", None),
            (&builtin, "mini", None),
            (&builtin, "-mini", None),
        ];
        let answers: Vec<_> = table
            .iter()
            .map(|(served, id, _)| (*id, nearest_size(id, served)))
            .collect();
        let expected: Vec<_> = table.iter().map(|(_, id, want)| (*id, *want)).collect();
        assert_eq!(answers, expected);
    }

    #[test]
    fn an_unserved_size_resolves_to_the_nearest_size_unless_an_alias_names_it() {
        let map = builtin();
        assert_eq!(
            map.resolve("gpt-5.4-nano").unwrap(),
            ResolvedModel {
                upstream: "gpt-5.4-mini".into(),
                via: Some(ResolvedVia::NearestSize)
            }
        );
        assert_eq!(upstream(&map, "openai-codex/gpt-5.5-nano"), "gpt-5.5-mini");

        let aliased = ModelMap::new(
            BUILTIN_MODELS.iter().map(|s| (*s).to_owned()),
            BTreeMap::from([("gpt-5.4-nano".to_owned(), "gpt-5.5".to_owned())]),
            None,
        );
        assert_eq!(
            aliased.resolve("gpt-5.4-nano").unwrap(),
            ResolvedModel {
                upstream: "gpt-5.5".into(),
                via: Some(ResolvedVia::Alias)
            }
        );
        // A made-up id has no neighbour and is still refused with the served list.
        let err = map.resolve("gpt-9-nano").unwrap_err();
        assert_eq!(err.served, map.served());
    }

    #[test]
    fn the_provisional_builtin_list_refuses_other_sizes_until_the_catalog_is_known() {
        let settings = Settings::resolve_with_file(
            &crate::settings::Overrides::default(),
            &crate::settings::Env::default(),
            "/h".into(),
            &crate::settings::ConfigFile::default(),
        )
        .unwrap();
        // Before the live catalog: the backend may serve gpt-5.4-nano itself.
        let before = ModelMap::from_settings(&settings, None);
        assert!(before.resolve("gpt-5.4-nano").is_err());
        assert_eq!(upstream(&before, "gpt-5.4-mini"), "gpt-5.4-mini");
        // The catalog does not list it: the nearest size answers.
        let catalog: Vec<String> = FAKE_CATALOG.iter().map(|s| (*s).to_owned()).collect();
        let after = ModelMap::from_settings(&settings, Some(&catalog));
        assert_eq!(upstream(&after, "gpt-5.4-nano"), "gpt-5.4-mini");
        // The catalog lists it: as is.
        let listed = [catalog.clone(), vec!["gpt-5.4-nano".to_owned()]].concat();
        let listed = ModelMap::from_settings(&settings, Some(&listed));
        assert_eq!(listed.resolve("gpt-5.4-nano").unwrap().via, None);
    }
}
