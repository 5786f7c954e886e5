//! The difference between two JSON values as a list of changed field paths
//! (`input[3].content[0].text`), for `codexia requests replay`: which fields of the backend
//! request changed since it was captured. Pure.

use serde_json::Value;

/// One changed field: its path, and its value before and after (`None`: absent).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The changed fields from `before` to `after`, in document order. Objects are compared
/// member by member and arrays item by item; anything else whole.
pub(crate) fn json_diff(before: &Value, after: &Value) -> Vec<Change> {
    let mut changes = Vec::new();
    walk(String::new(), Some(before), Some(after), &mut changes);
    changes
}

fn walk(path: String, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<Change>) {
    match (before, after) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            for (key, value) in a {
                walk(join(&path, key), Some(value), b.get(key), out);
            }
            for (key, value) in b {
                if !a.contains_key(key) {
                    walk(join(&path, key), None, Some(value), out);
                }
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                walk(format!("{path}[{i}]"), a.get(i), b.get(i), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(Change {
            path: if path.is_empty() {
                "(whole)".to_owned()
            } else {
                path
            },
            before: a.cloned(),
            after: b.cloned(),
        }),
    }
}

fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", Value::String(key.to_owned())),
    }
}

/// `model: "gpt-5.1" → "gpt-5.2"`, long values shortened to `max` characters.
pub(crate) fn describe(change: &Change, max: usize) -> String {
    let show = |value: &Option<Value>| match value {
        None => "(absent)".to_owned(),
        Some(value) => shorten(&value.to_string(), max),
    };
    format!(
        "{}: {} → {}",
        change.path,
        show(&change.before),
        show(&change.after)
    )
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let head: String = text.chars().take(max).collect();
    format!("{head}… ({} characters)", text.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn identical_values_have_no_changes() {
        let v = json!({"model": "gpt-5.1", "input": [{"content": [{"text": "hi"}]}]});
        assert_eq!(json_diff(&v, &v.clone()), []);
    }

    #[test]
    fn changed_added_and_removed_fields_are_named_by_their_path() {
        let before = json!({"model": "gpt-5.1", "input": [{"text": "a"}, {"text": "b"}], "store": false, "odd key": 1});
        let after = json!({"model": "gpt-5.2", "input": [{"text": "a"}, {"text": "c"}, {"text": "d"}], "reasoning": {"effort": "high"}, "odd key": 2});
        let mut lines: Vec<String> = json_diff(&before, &after)
            .iter()
            .map(|c| describe(c, 40))
            .collect();
        // Member order depends on serde_json's `preserve_order`, which another crate may enable.
        lines.sort();
        assert_eq!(
            lines,
            [
                r#"["odd key"]: 1 → 2"#,
                r#"input[1].text: "b" → "c""#,
                r#"input[2]: (absent) → {"text":"d"}"#,
                r#"model: "gpt-5.1" → "gpt-5.2""#,
                r#"reasoning: (absent) → {"effort":"high"}"#,
                "store: false → (absent)",
            ]
        );
    }

    #[test]
    fn long_values_are_shortened() {
        let change = Change {
            path: "instructions".into(),
            before: Some(json!("x".repeat(100))),
            after: None,
        };
        assert_eq!(
            describe(&change, 10),
            format!(
                "instructions: \"{}… (102 characters) → (absent)",
                "x".repeat(9)
            )
        );
    }
}
