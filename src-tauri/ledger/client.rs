//! Which client sent a request, from its `User-Agent`: the family (`Claude Code`, `Codex CLI`,
//! `OpenAI Python SDK`, …) and, when the header says it, the version. Pure.

/// A client family and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Client {
    pub family: String,
    pub version: Option<String>,
}

/// The version after `prefix` (up to a space, `;` or `)`), when `ua` has it.
fn version_after(ua: &str, prefix: &str) -> Option<String> {
    let at = ua.to_ascii_lowercase().find(&prefix.to_ascii_lowercase())?;
    let rest = &ua[at + prefix.len()..];
    let version: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ';' | ')' | '('))
        .collect();
    (!version.is_empty()).then_some(version)
}

/// `OpenAI/Python 1.2.3` → (`Python`, `1.2.3`): the Stainless SDKs' shape.
fn sdk(ua: &str, vendor: &str) -> Option<Client> {
    let rest = ua.strip_prefix(vendor)?.strip_prefix('/')?;
    let (language, version) = match rest.split_once(' ') {
        Some((language, version)) => (language, Some(version.trim())),
        None => (rest, None),
    };
    let language = match language.to_ascii_lowercase().as_str() {
        "python" => "Python",
        "js" | "node" | "javascript" => "JS",
        "go" => "Go",
        "java" => "Java",
        "kotlin" => "Kotlin",
        "ruby" => "Ruby",
        "dotnet" | "csharp" | ".net" => ".NET",
        _ => language,
    };
    Some(Client {
        family: format!("{vendor} {language} SDK"),
        version: version.filter(|v| !v.is_empty()).map(str::to_owned),
    })
}

/// Classifies a `User-Agent` (`None` when the request had none).
pub(crate) fn classify(user_agent: Option<&str>) -> Client {
    let ua = user_agent.map(str::trim).unwrap_or_default();
    let lower = ua.to_ascii_lowercase();
    let named = |family: &str, version: Option<String>| Client {
        family: family.to_owned(),
        version,
    };
    // Order matters: frameworks put their own token in front of (or after) the SDK's.
    if lower.starts_with("claude-cli/") || lower.starts_with("claude-code/") {
        let prefix = if lower.starts_with("claude-cli/") {
            "claude-cli/"
        } else {
            "claude-code/"
        };
        return named("Claude Code", version_after(ua, prefix));
    }
    if lower.starts_with("codex_") || lower.starts_with("codex-") {
        let version = ua
            .split_once('/')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .map(str::to_owned);
        return named("Codex CLI", version);
    }
    if lower.contains("langchain") {
        return named("LangChain", version_after(ua, "langchain/"));
    }
    if lower.contains("ai-sdk/") || lower.starts_with("ai/") {
        let version = version_after(ua, "ai/").or_else(|| version_after(ua, "ai-sdk/"));
        return named("AI SDK", version);
    }
    if let Some(client) = sdk(ua, "OpenAI").or_else(|| sdk(ua, "Anthropic")) {
        return client;
    }
    if lower.starts_with("curl/") {
        return named("curl", version_after(ua, "curl/"));
    }
    named("other", None)
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn user_agents_map_to_client_families() {
        let cases = [
            (
                Some("claude-cli/2.0.14 (external, cli)"),
                "Claude Code",
                Some("2.0.14"),
            ),
            (
                Some("codex_cli_rs/0.46.0 (Ubuntu 24.4.0; x86_64) xterm-256color"),
                "Codex CLI",
                Some("0.46.0"),
            ),
            (
                Some("OpenAI/Python 1.109.1"),
                "OpenAI Python SDK",
                Some("1.109.1"),
            ),
            (Some("OpenAI/JS 5.23.0"), "OpenAI JS SDK", Some("5.23.0")),
            (Some("OpenAI/Go 1.12.0"), "OpenAI Go SDK", Some("1.12.0")),
            (
                Some("Anthropic/Python 0.69.0"),
                "Anthropic Python SDK",
                Some("0.69.0"),
            ),
            (
                Some("Anthropic/JS 0.65.0"),
                "Anthropic JS SDK",
                Some("0.65.0"),
            ),
            (
                Some("ai/5.0.60 ai-sdk/provider-utils/3.0.10 runtime/node.js/22"),
                "AI SDK",
                Some("5.0.60"),
            ),
            (
                Some("ai-sdk/openai-compatible/1.0.19"),
                "AI SDK",
                Some("openai-compatible/1.0.19"),
            ),
            (
                Some("langchain-openai/0.3.33 OpenAI/Python 1.109.1"),
                "LangChain",
                None,
            ),
            (Some("curl/8.5.0"), "curl", Some("8.5.0")),
            (Some("Mozilla/5.0 (X11; Linux x86_64)"), "other", None),
            (Some(""), "other", None),
            (None, "other", None),
        ];
        for (ua, family, version) in cases {
            assert_eq!(
                classify(ua),
                Client {
                    family: family.to_owned(),
                    version: version.map(str::to_owned)
                },
                "{ua:?}"
            );
        }
    }
}
