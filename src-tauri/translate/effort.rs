//! Reasoning effort levels each model accepts (docs/protocol.md §10.3), and clamping a
//! requested level to the nearest one the model allows.

/// Every level, weakest first.
const LEVELS: &[&str] = &[
    "none", "minimal", "low", "medium", "high", "xhigh", "max", "ultra",
];

/// The levels a model accepts.
pub(crate) fn allowed_efforts(model: &str) -> &'static [&'static str] {
    match model {
        "gpt-5.1" => &["low", "medium", "high"],
        "gpt-5.1-codex-mini" => &["medium", "high"],
        "gpt-5.1-codex-max" | "gpt-5.4-mini" => &["low", "medium", "high", "xhigh"],
        m if m.starts_with("gpt-5.2") || m.starts_with("gpt-5.3") => {
            &["low", "medium", "high", "xhigh"]
        }
        m if m.starts_with("gpt-5.6-luna") => &["low", "medium", "high", "xhigh", "max"],
        m if m.starts_with("gpt-5.6") || m.starts_with("gpt-6") => {
            &["low", "medium", "high", "xhigh", "max", "ultra"]
        }
        // gpt-5.4, gpt-5.5 and unknown newer models.
        _ => &["none", "low", "medium", "high", "xhigh"],
    }
}

/// The allowed level closest to `requested` (ties go to the stronger level); `None` for an
/// unknown level name.
pub(crate) fn clamp_effort(model: &str, requested: &str) -> Option<&'static str> {
    let requested = requested.trim().to_ascii_lowercase();
    let wanted = LEVELS.iter().position(|l| *l == requested)?;
    let allowed = allowed_efforts(model);
    allowed
        .iter()
        .filter_map(|level| {
            LEVELS
                .iter()
                .position(|l| l == level)
                .map(|rank| (rank, *level))
        })
        .min_by_key(|(rank, _)| (rank.abs_diff(wanted), usize::MAX - rank))
        .map(|(_, level)| level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_clamped_to_what_the_model_allows() {
        assert_eq!(clamp_effort("gpt-5.5", "high"), Some("high"));
        assert_eq!(clamp_effort("gpt-5.5", "minimal"), Some("low"));
        assert_eq!(clamp_effort("gpt-5.5", "max"), Some("xhigh"));
        assert_eq!(clamp_effort("gpt-5.1", "xhigh"), Some("high"));
        assert_eq!(clamp_effort("gpt-5.1-codex-mini", "low"), Some("medium"));
        assert_eq!(clamp_effort("gpt-5.3-codex", "none"), Some("low"));
        assert_eq!(clamp_effort("gpt-5.6-sol", "ultra"), Some("ultra"));
        assert_eq!(clamp_effort("gpt-5.5", "bogus"), None);
    }
}
