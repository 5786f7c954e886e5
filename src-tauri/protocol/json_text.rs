//! [`JsonText`]: a string of the wire that can keep the JSON literal it arrived as.
//!
//! Claude Code sends the whole conversation again on every turn: hundreds of KB of tool results
//! and texts, nearly all of it the same as the turn before. Unescaping those strings when the
//! request was read and escaping them again when the backend request was written took close to
//! half of the gateway's CPU per turn. A text read with [`JsonText::from_raw`] (or
//! [`JsonText::deserialize_optional_literal`]) keeps the client's literal instead (quotes included, still
//! escaped): it is written into the backend request verbatim (the same JSON string, possibly
//! escaped differently from how serde_json would escape it), the token count's memo keys on it,
//! and it is unescaped only where its text is read — lazily, once, through `Deref`.
//!
//! Invariant: a kept literal is a JSON string literal that unescapes. serde_json checks a raw
//! value's syntax but not its `\u` escapes (a lone surrogate escape is a valid raw value and an
//! invalid string), so literals with `\u` escapes are unescaped once when kept, to refuse what
//! a `String` field would refuse.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A string, held as text or as the JSON literal it came in (see the module doc). Compares,
/// prints and dereferences as its text.
#[derive(Clone, Default)]
pub(crate) struct JsonText(Repr);

#[derive(Clone)]
enum Repr {
    Text(String),
    Literal {
        /// The literal, quotes included; shared, so the translated request holds the same
        /// bytes as the client's.
        json: Arc<Box<RawValue>>,
        /// Whether it has escapes (without any, the text is the literal between its quotes).
        escaped: bool,
        /// The text, once something read it (only for escaped literals).
        text: OnceLock<String>,
    },
}

impl Default for Repr {
    fn default() -> Self {
        Self::Text(String::new())
    }
}

/// What identifies a [`JsonText`]'s text without unescaping it: two texts with equal bytes of
/// the same kind are equal (not the other way round: one text has many literals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Identity<'a> {
    /// The text itself (also an unescaped literal's, which is its text).
    Text(&'a str),
    /// A literal with escapes, quotes included.
    Literal(&'a str),
}

impl JsonText {
    /// The text of a raw JSON value: its literal kept when it is a string, the empty text for
    /// `null`; anything else is refused (the message names what was found).
    pub(crate) fn from_raw(raw: Box<RawValue>) -> Result<Self, String> {
        let literal = raw.get();
        if !literal.starts_with('"') {
            if literal == "null" {
                return Ok(Self::default());
            }
            // The parse fails, with serde_json's own words for the value found.
            return parse_raw::<String>(&raw).map(Self::from);
        }
        let escaped = literal.contains('\\');
        if escaped && literal.contains("\\u") {
            // A lone surrogate escape is refused here, as a `String` field refuses it.
            parse_raw::<String>(&raw)?;
        }
        Ok(Self(Repr::Literal {
            json: Arc::new(raw),
            escaped,
            text: OnceLock::new(),
        }))
    }

    /// Deserializes an optional string keeping its literal (`null` is `None`). Only where the
    /// value is read straight from serde_json: a buffered value (an untagged or internally
    /// tagged enum's) has lost its literal and is refused.
    pub(crate) fn deserialize_optional_literal<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Self>, D::Error> {
        Option::<Box<RawValue>>::deserialize(deserializer)?
            .map(|raw| Self::from_raw(raw).map_err(serde::de::Error::custom))
            .transpose()
    }

    /// Whether the text is empty or only whitespace, mostly without unescaping it: a literal
    /// that starts with a visible ASCII character is not blank.
    pub(crate) fn is_blank(&self) -> bool {
        match &self.0 {
            Repr::Text(text) => text.trim().is_empty(),
            Repr::Literal { .. } => match self.literal_body().bytes().next() {
                None => true,
                Some(b) if b.is_ascii_graphic() && b != b'\\' => false,
                Some(_) => self.unescaped().trim().is_empty(),
            },
        }
    }

    /// The text, unescaped now if it must be and not kept (see `Deref` for the kept one).
    pub(crate) fn unescaped(&self) -> Cow<'_, str> {
        match &self.0 {
            Repr::Text(text) => Cow::Borrowed(text),
            Repr::Literal { escaped: false, .. } => Cow::Borrowed(self.literal_body()),
            Repr::Literal { json, text, .. } => match text.get() {
                Some(text) => Cow::Borrowed(text),
                None => Cow::Owned(unescape(json)),
            },
        }
    }

    /// What identifies the text without unescaping it (the token count's memo key).
    pub(crate) fn identity(&self) -> Identity<'_> {
        match &self.0 {
            Repr::Text(text) => Identity::Text(text),
            Repr::Literal { escaped: false, .. } => Identity::Text(self.literal_body()),
            Repr::Literal { json, .. } => Identity::Literal(json.get()),
        }
    }

    /// The length of the text in bytes, or of its literal when it has escapes (at least the
    /// text's): for estimates, without unescaping.
    pub(crate) fn len_hint(&self) -> usize {
        match self.identity() {
            Identity::Text(text) | Identity::Literal(text) => text.len(),
        }
    }

    /// Whether the text is empty (without unescaping it).
    pub(crate) fn is_empty(&self) -> bool {
        self.len_hint() == 0
    }

    /// The texts joined with `separator`: a literal when any of them is one (the texts among
    /// them are escaped into it), so a long literal stays one and is written verbatim; else
    /// text.
    pub(crate) fn join<'a>(texts: impl IntoIterator<Item = &'a JsonText>, separator: &str) -> Self {
        let texts: Vec<&JsonText> = texts.into_iter().collect();
        if let [one] = texts.as_slice() {
            return (*one).clone();
        }
        if texts
            .iter()
            .any(|text| matches!(text.0, Repr::Literal { .. }))
        {
            let mut json = String::with_capacity(
                texts
                    .iter()
                    .map(|text| text.len_hint() + separator.len() + 2)
                    .sum(),
            );
            json.push('"');
            for (index, text) in texts.iter().enumerate() {
                if index > 0 {
                    push_escaped(&mut json, separator);
                }
                match &text.0 {
                    Repr::Text(plain) => push_escaped(&mut json, plain),
                    Repr::Literal { .. } => json.push_str(text.literal_body()),
                }
            }
            json.push('"');
            // Always a literal (joined literals and escaped texts); the text is the fallback.
            if let Ok(json) = RawValue::from_string(json) {
                return Self(Repr::Literal {
                    escaped: json.get().contains('\\'),
                    json: Arc::new(json),
                    text: OnceLock::new(),
                });
            }
        }
        Self::from(
            texts
                .iter()
                .map(|text| text.unescaped())
                .collect::<Vec<_>>()
                .join(separator),
        )
    }

    /// A literal's bytes between its quotes (empty for a text).
    fn literal_body(&self) -> &str {
        match &self.0 {
            Repr::Text(_) => "",
            Repr::Literal { json, .. } => {
                let literal = json.get();
                literal
                    .get(1..literal.len().saturating_sub(1))
                    .unwrap_or("")
            }
        }
    }
}

/// Appends `text` escaped as in a JSON string literal (without the quotes).
fn push_escaped(out: &mut String, text: &str) {
    let json = serde_json::to_string(text).unwrap_or_default();
    out.push_str(json.get(1..json.len().saturating_sub(1)).unwrap_or(""));
}

/// A raw value parsed as `T`; the error is serde_json's without a position (which would be
/// within the value, not the request).
pub(crate) fn parse_raw<T: DeserializeOwned>(raw: &RawValue) -> Result<T, String> {
    serde_json::from_str(raw.get()).map_err(|err| {
        let message = err.to_string();
        let position = format!(" at line {} column {}", err.line(), err.column());
        match message.strip_suffix(&position) {
            Some(message) => message.to_owned(),
            None => message,
        }
    })
}

/// A literal's text. Literals are checked when kept, so this does not fail; if it did, the
/// literal's bytes would stand in for the text rather than nothing.
fn unescape(json: &RawValue) -> String {
    serde_json::from_str(json.get()).unwrap_or_else(|_| json.get().to_owned())
}

impl Deref for JsonText {
    type Target = str;

    /// The text. An escaped literal is unescaped on the first call and the text kept with it:
    /// hot paths that need no text use [`JsonText::is_blank`], [`JsonText::identity`] or
    /// [`JsonText::len_hint`] instead.
    fn deref(&self) -> &str {
        match &self.0 {
            Repr::Text(text) => text,
            Repr::Literal { escaped: false, .. } => self.literal_body(),
            Repr::Literal { json, text, .. } => text.get_or_init(|| unescape(json)),
        }
    }
}

impl From<String> for JsonText {
    fn from(text: String) -> Self {
        Self(Repr::Text(text))
    }
}

impl From<&str> for JsonText {
    fn from(text: &str) -> Self {
        Self(Repr::Text(text.to_owned()))
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for JsonText {}

impl fmt::Display for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl fmt::Debug for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl Serialize for JsonText {
    /// A literal verbatim (serde_json writes a raw value as it is), a text as a string.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Text(text) => serializer.serialize_str(text),
            Repr::Literal { json, .. } => json.as_ref().serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for JsonText {
    /// As a plain string: this works inside buffered values too (see
    /// [`JsonText::deserialize_optional_literal`] for keeping the literal).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn literal(json: &str) -> JsonText {
        JsonText::from_raw(RawValue::from_string(json.to_owned()).unwrap()).unwrap()
    }

    #[test]
    fn a_literal_reads_as_its_text_and_is_written_verbatim() {
        let text = literal(r#""line\none \"quoted\" \u00e9 \/""#);
        assert_eq!(&*text, "line\none \"quoted\" é /");
        assert_eq!(text.unescaped(), "line\none \"quoted\" é /");
        assert_eq!(
            serde_json::to_string(&text).unwrap(),
            r#""line\none \"quoted\" \u00e9 \/""#
        );
        assert_eq!(
            serde_json::to_value(&text).unwrap(),
            serde_json::json!("line\none \"quoted\" é /")
        );
        let plain = literal(r#""no escapes""#);
        assert_eq!(&*plain, "no escapes");
        assert_eq!(plain.identity(), Identity::Text("no escapes"));
        assert_eq!(plain, JsonText::from("no escapes"));
    }

    #[test]
    fn null_is_empty_and_other_values_and_lone_surrogates_are_refused() {
        assert_eq!(&*literal("null"), "");
        let refuse = |json: &str| {
            JsonText::from_raw(RawValue::from_string(json.to_owned()).unwrap()).unwrap_err()
        };
        assert_eq!(refuse("3"), "invalid type: integer `3`, expected a string");
        // A string field refuses a lone surrogate; so does a kept literal.
        assert!(serde_json::from_str::<String>(r#""\ud800 x""#).is_err());
        assert!(!refuse(r#""\ud800 x""#).is_empty());
    }

    #[test]
    fn blank_texts_are_found_with_and_without_escapes() {
        for (json, blank) in [
            (r#""""#, true),
            (r#""  \n\t ""#, true),
            (r#""\u000b\u3000""#, true),
            (r#""\n  x""#, false),
            (r#""x""#, false),
            (r#"" é""#, false),
        ] {
            assert_eq!(literal(json).is_blank(), blank, "{json}");
        }
    }

    #[test]
    fn joined_literals_stay_literals() {
        let joined = JsonText::join([&literal(r#""a\tb""#), &literal(r#""c""#)], "\n");
        assert_eq!(&*joined, "a\tb\nc");
        assert_eq!(serde_json::to_string(&joined).unwrap(), r#""a\tb\nc""#);
        let mixed = JsonText::join([&literal(r#""a\tb""#), &JsonText::from("c\"")], "\n");
        assert_eq!(&*mixed, "a\tb\nc\"");
        assert_eq!(serde_json::to_string(&mixed).unwrap(), r#""a\tb\nc\"""#);
    }
}
