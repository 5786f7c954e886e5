//! The line protocol between the tray process and a window process.
//!
//! Windows run in their own process (`codexia window NAME`), started by the tray with piped
//! stdin and stdout: the web engine's memory (WebKit, its GL stack, its child processes) then
//! goes away with the window instead of staying in the tray for good. Each line is one JSON
//! message. The window asks (`FromWindow`), the tray answers and sends events (`ToWindow`).
//! All state — the gateway, the sign-in attempt, the clipboard — stays in the tray.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A page command forwarded by a window to the tray.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FromWindow {
    pub(crate) id: u64,
    pub(crate) command: String,
    #[serde(default)]
    pub(crate) args: Value,
}

/// What the tray sends to a window.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ToWindow {
    /// The answer to request `id`: a value, or one sentence for the page to show.
    Reply {
        id: u64,
        #[serde(flatten)]
        outcome: Outcome,
    },
    /// Bring the window to the front (it was asked for again).
    Focus,
    /// Load this address in the window.
    Navigate { url: String },
    /// Close the window (and so end the window process).
    Close,
}

/// A command's result on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    Ok(Value),
    Error(String),
}

/// The windows there are. The name is the window label and the `codexia window` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowKind {
    Settings,
    SignIn,
    /// The Sign in window that goes straight on to the sign-in page.
    SignInAuto,
}

impl WindowKind {
    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name {
            "settings" => Some(Self::Settings),
            "signin" => Some(Self::SignIn),
            "signin-auto" => Some(Self::SignInAuto),
            _ => None,
        }
    }

    pub(crate) fn arg(self) -> &'static str {
        match self {
            Self::Settings => "settings",
            Self::SignIn => "signin",
            Self::SignInAuto => "signin-auto",
        }
    }

    /// The window label (one window of each label at a time).
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Settings => "settings",
            Self::SignIn | Self::SignInAuto => "signin",
        }
    }
}

/// One message as one line (JSON never contains a raw newline).
pub(crate) fn encode<T: Serialize>(message: &T) -> String {
    let mut line = serde_json::to_string(message).unwrap_or_else(|_| "{}".to_owned());
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_carry_either_a_value_or_an_error_sentence() {
        let ok = encode(&ToWindow::Reply {
            id: 7,
            outcome: Outcome::Ok(json!({"port": 1})),
        });
        assert_eq!(ok, "{\"type\":\"reply\",\"id\":7,\"ok\":{\"port\":1}}\n");
        let err: ToWindow =
            serde_json::from_str(r#"{"type":"reply","id":8,"error":"Bind address: bad."}"#)
                .unwrap();
        assert!(matches!(
            err,
            ToWindow::Reply { id: 8, outcome: Outcome::Error(ref m) } if m == "Bind address: bad."
        ));
    }

    #[test]
    fn requests_without_arguments_read_as_null_arguments() {
        let request: FromWindow =
            serde_json::from_str(r#"{"id":1,"command":"get_settings"}"#).unwrap();
        assert_eq!(request.command, "get_settings");
        assert!(request.args.is_null());
    }

    #[test]
    fn window_names_round_trip_and_both_sign_in_windows_share_a_label() {
        for kind in [
            WindowKind::Settings,
            WindowKind::SignIn,
            WindowKind::SignInAuto,
        ] {
            assert_eq!(WindowKind::parse(kind.arg()), Some(kind));
        }
        assert_eq!(WindowKind::SignInAuto.label(), WindowKind::SignIn.label());
        assert_eq!(WindowKind::parse("about"), None);
    }
}
