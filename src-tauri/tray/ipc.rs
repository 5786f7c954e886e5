//! The line protocol between the tray process and a window process.
//!
//! Windows run in their own process (`codexia-window NAME`, a second binary), started by the tray with piped
//! stdin and stdout: the web engine's memory (WebKit, its GL stack, its child processes) then
//! goes away with the window instead of staying in the tray for good. Each line is one JSON
//! message. The window asks (`FromWindow`), the tray answers and sends events (`ToWindow`).
//! All state — the gateway, the sign-in attempt, the clipboard — stays in the tray.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A page command: what a page of a window asks the tray to do. The single list of them: the
/// pages send one as `invoke("page", { request: { command, args } })` (see `ui/*.js`), the
/// window process forwards it unchanged, and the tray's `commands::dispatch` matches on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", content = "args", rename_all = "snake_case")]
pub(crate) enum PageCommand {
    /// The Settings page's contents.
    GetSettings,
    SaveSettings {
        form: SettingsForm,
    },
    GenerateApiKey,
    CopyText {
        text: String,
    },
    /// The "last requests" table (the gateway's short record, shown when capture is off).
    RecentRequests,
    /// The Requests page's list: the gateway's `GET /v1/requests?last=N` (docs/inspector.md).
    Requests {
        #[serde(default)]
        last: Option<u32>,
    },
    /// One request's both sides and events: the gateway's `GET /v1/requests/{id}`.
    RequestDetail {
        id: String,
    },
    /// "Replay": the request sent through the gateway again, and the changed fields of the
    /// backend request (`local::replay`, as `codexia requests replay`).
    ReplayRequest {
        id: String,
    },
    /// The Usage page: 30 days of tokens, 7 days of windows, a table grouped by `by`
    /// (`client`, `session` or `model`).
    Usage {
        by: String,
    },
    /// "Create support bundle": writes it to the Downloads (or home) folder and answers where.
    CreateSupportBundle {
        #[serde(default)]
        include_contents: bool,
    },
    /// "Continue with ChatGPT": answers the authorize URL, which the Sign in window loads.
    SignInHere,
    /// "Use my browser instead".
    SignInWithBrowser,
    /// "Paste the redirect URL", and the Sign in window's own navigation to it.
    SubmitRedirectUrl {
        url: String,
    },
}

/// What the Settings page saves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SettingsForm {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) api_key: Option<String>,
    pub(crate) models: String,
    pub(crate) extra_models: String,
    pub(crate) model_fallback: String,
    pub(crate) model_aliases: String,
    pub(crate) autostart: bool,
    /// config.json `proxy` (empty: none there, so the proxy variables apply).
    #[serde(default)]
    pub(crate) proxy: String,
    /// "Keep a copy of each request on disk": config.json `capture_dir` (the one there, else
    /// `$CODEXIA_HOME/captures`), or none.
    #[serde(default)]
    pub(crate) capture: bool,
}

/// The tray's error: one sentence for a person, shown by a page (`err.message`), in the Sign in
/// window or on the menu's gateway line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TrayError {
    pub(crate) message: String,
}

impl TrayError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

// Any error's own sentence (not `Display` itself, so that this blanket conversion is allowed).
impl<E: std::fmt::Display> From<E> for TrayError {
    fn from(err: E) -> Self {
        Self::new(err.to_string())
    }
}

/// A page command forwarded by a window to the tray, with the id its reply carries.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FromWindow {
    pub(crate) id: u64,
    #[serde(flatten)]
    pub(crate) request: PageCommand,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    Ok(Value),
    Error(TrayError),
}

/// The windows there are. The name is the window label and the `codexia window` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum WindowKind {
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

    /// The window's name as its menu item says it.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Self::Settings => "Settings",
            Self::SignIn | Self::SignInAuto => "Sign in",
        }
    }
}

/// The Sign in page showing `message` (the window's own failures, and the tray's after a failed
/// attempt).
pub(crate) fn sign_in_error_url(message: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("error", message)
        .finish();
    format!("tauri://localhost/signin.html?{query}")
}

/// One message as one line (JSON never contains a raw newline).
pub(crate) fn encode<T: Serialize>(message: &T) -> String {
    let mut line = serde_json::to_string(message).unwrap_or_else(|_| "{}".to_owned());
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_pages_carry_the_message_encoded() {
        assert_eq!(
            super::sign_in_error_url("Sign-in was refused (denied). Try again."),
            "tauri://localhost/signin.html?error=Sign-in+was+refused+%28denied%29.+Try+again."
        );
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn the_usage_page_asks_with_its_grouping() {
        // As ui/settings.js sends it: invoke("usage", { by }).
        let command: PageCommand =
            serde_json::from_value(json!({"command": "usage", "args": {"by": "session"}})).unwrap();
        assert_eq!(
            command,
            PageCommand::Usage {
                by: "session".into()
            }
        );
    }

    #[test]
    fn the_requests_page_asks_for_the_list_and_one_request() {
        // As ui/settings.js sends them.
        let list: PageCommand =
            serde_json::from_value(json!({"command": "requests", "args": {"last": 100}})).unwrap();
        assert_eq!(list, PageCommand::Requests { last: Some(100) });
        let default: PageCommand =
            serde_json::from_value(json!({"command": "requests", "args": {}})).unwrap();
        assert_eq!(default, PageCommand::Requests { last: None });
        let one: PageCommand =
            serde_json::from_value(json!({"command": "request_detail", "args": {"id": "req_3"}}))
                .unwrap();
        assert_eq!(one, PageCommand::RequestDetail { id: "req_3".into() });
        let replay: PageCommand =
            serde_json::from_value(json!({"command": "replay_request", "args": {"id": "req_3"}}))
                .unwrap();
        assert_eq!(replay, PageCommand::ReplayRequest { id: "req_3".into() });
    }

    #[test]
    fn the_settings_form_carries_the_capture_switch() {
        // As ui/settings.js saves it; an older page without the switch reads as off.
        let mut form = json!({
            "host": "127.0.0.1", "port": 14550, "api_key": null, "models": "",
            "extra_models": "", "model_fallback": "", "model_aliases": "", "autostart": false,
            "proxy": "", "capture": true,
        });
        let save: PageCommand =
            serde_json::from_value(json!({"command": "save_settings", "args": {"form": form}}))
                .unwrap();
        let PageCommand::SaveSettings { form: read } = save else {
            panic!("{save:?}");
        };
        assert!(read.capture);
        form.as_object_mut().unwrap().remove("capture");
        let read: SettingsForm = serde_json::from_value(form).unwrap();
        assert!(!read.capture);
    }

    #[test]
    fn replies_carry_either_a_value_or_an_error_sentence() {
        let ok = encode(&ToWindow::Reply {
            id: 7,
            outcome: Outcome::Ok(json!({"port": 1})),
        });
        assert_eq!(ok, "{\"type\":\"reply\",\"id\":7,\"ok\":{\"port\":1}}\n");
        let err: ToWindow = serde_json::from_str(
            r#"{"type":"reply","id":8,"error":{"message":"Bind address: bad."}}"#,
        )
        .unwrap();
        assert!(matches!(
            err,
            ToWindow::Reply { id: 8, outcome: Outcome::Error(ref e) } if e.message == "Bind address: bad."
        ));
    }

    #[test]
    fn requests_without_arguments_read_as_the_bare_command() {
        let request: FromWindow =
            serde_json::from_str(r#"{"id":1,"command":"get_settings"}"#).unwrap();
        assert_eq!(request.request, PageCommand::GetSettings);
        assert_eq!(request.id, 1);
        // What a page sends for a command without arguments (`args` undefined, or null).
        let bare: PageCommand = serde_json::from_value(json!({"command": "get_settings"})).unwrap();
        let null: PageCommand =
            serde_json::from_value(json!({"command": "get_settings", "args": null})).unwrap();
        assert_eq!(
            (bare, null),
            (PageCommand::GetSettings, PageCommand::GetSettings)
        );
    }

    #[test]
    fn requests_with_arguments_round_trip_through_the_pipe() {
        let page = json!({"command": "submit_redirect_url", "args": {"url": "http://localhost:1455/auth/callback?code=a"}});
        let request: PageCommand = serde_json::from_value(page).unwrap();
        let line = encode(&FromWindow {
            id: 3,
            request: request.clone(),
        });
        assert_eq!(
            line,
            "{\"id\":3,\"command\":\"submit_redirect_url\",\"args\":{\"url\":\"http://localhost:1455/auth/callback?code=a\"}}\n"
        );
        let back: FromWindow = serde_json::from_str(&line).unwrap();
        assert_eq!(back.request, request);
        let unknown = serde_json::from_value::<PageCommand>(json!({"command": "format_disk"}));
        assert!(unknown.is_err());
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
