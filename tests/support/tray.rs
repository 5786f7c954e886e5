//! Drives the real tray app under Xvfb and D-Bus: reads its menu over D-Bus (dbusmenu, as a
//! desktop panel would), clicks items, and talks WebDriver to its windows through
//! `tauri-driver` + `WebKitWebDriver`.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Where libayatana-appindicator exports the menu of the tray icon with id `main`.
const MENU_PATH: &str = "/org/ayatana/NotificationItem/tray_icon_tray_app_main/Menu";

/// Skips a tray test (with a line saying so) when there is no display or session bus.
pub fn gui_session_available() -> bool {
    super::session_resource(
        std::env::var_os("DISPLAY").is_some()
            && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "a display and a D-Bus session (xvfb-run, dbus-run-session)",
    )
}

fn gdbus(args: &[&str]) -> Option<String> {
    let output = Command::new("gdbus")
        .args(["call", "--session", "--timeout", "3"])
        .args(args)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The unique bus names owned by a process.
fn bus_names_of(pid: u32) -> Vec<String> {
    let Some(names) = gdbus(&[
        "--dest",
        "org.freedesktop.DBus",
        "--object-path",
        "/org/freedesktop/DBus",
        "--method",
        "org.freedesktop.DBus.ListNames",
    ]) else {
        return Vec::new();
    };
    names
        .split('\'')
        .filter(|n| n.starts_with(':'))
        .filter(|name| {
            gdbus(&[
                "--dest",
                "org.freedesktop.DBus",
                "--object-path",
                "/org/freedesktop/DBus",
                "--method",
                "org.freedesktop.DBus.GetConnectionUnixProcessID",
                name,
            ])
            .is_some_and(|out| out.contains(&format!("uint32 {pid},")))
        })
        .map(str::to_owned)
        .collect()
}

/// One menu item as exported over D-Bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    pub id: u32,
    pub label: String,
}

/// The tray menu of a running app, read over D-Bus.
pub struct TrayMenu {
    bus_name: String,
}

impl TrayMenu {
    /// Finds the menu of the app with this PID (waiting until it is exported).
    pub fn find(pid: u32, deadline: Duration) -> TrayMenu {
        let until = Instant::now() + deadline;
        loop {
            for name in bus_names_of(pid) {
                let menu = TrayMenu { bus_name: name };
                if menu.try_items().is_some() {
                    return menu;
                }
            }
            assert!(
                Instant::now() < until,
                "the tray menu of pid {pid} never appeared on D-Bus"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn try_items(&self) -> Option<Vec<MenuItem>> {
        let layout = gdbus(&[
            "--dest",
            &self.bus_name,
            "--object-path",
            MENU_PATH,
            "--method",
            "com.canonical.dbusmenu.GetLayout",
            "--",
            "0",
            "-1",
            "['label']",
        ])?;
        Some(parse_layout(&layout))
    }

    /// The whole layout with every property (for failure messages).
    pub fn raw_layout(&self) -> Option<String> {
        gdbus(&[
            "--dest",
            &self.bus_name,
            "--object-path",
            MENU_PATH,
            "--method",
            "com.canonical.dbusmenu.GetLayout",
            "--",
            "0",
            "-1",
            "[]",
        ])
    }

    /// The labelled items, top to bottom.
    pub fn items(&self) -> Vec<MenuItem> {
        self.try_items().unwrap_or_default()
    }

    /// The labels, top to bottom.
    pub fn labels(&self) -> Vec<String> {
        self.items().into_iter().map(|i| i.label).collect()
    }

    /// Waits until some label satisfies `check` (the menu updates itself asynchronously).
    pub fn wait_for(&self, what: &str, check: impl Fn(&[String]) -> bool) -> Vec<String> {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let labels = self.labels();
            if check(&labels) {
                return labels;
            }
            assert!(
                Instant::now() < until,
                "the tray menu never showed {what}: {labels:?}\nraw layout: {:?}",
                self.raw_layout()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The labels of the checked items (`toggle-state` 1), top to bottom.
    pub fn checked(&self) -> Vec<String> {
        let layout = gdbus(&[
            "--dest",
            &self.bus_name,
            "--object-path",
            MENU_PATH,
            "--method",
            "com.canonical.dbusmenu.GetLayout",
            "--",
            "0",
            "-1",
            "['label', 'toggle-state']",
        ])
        .unwrap_or_default();
        parse_checked(&layout)
    }

    /// Waits until the checked items are `wanted`.
    pub fn wait_for_checked(&self, wanted: &[&str]) {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let checked = self.checked();
            if checked == wanted {
                return;
            }
            assert!(
                Instant::now() < until,
                "the checked items never became {wanted:?}: {checked:?}\nraw layout: {:?}",
                self.raw_layout()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Clicks the item with this label, as a panel would.
    pub fn click(&self, label: &str) {
        let item = self
            .items()
            .into_iter()
            .find(|i| i.label == label)
            .unwrap_or_else(|| panic!("no menu item {label:?} in {:?}", self.labels()));
        gdbus(&[
            "--dest",
            &self.bus_name,
            "--object-path",
            MENU_PATH,
            "--method",
            "com.canonical.dbusmenu.Event",
            &item.id.to_string(),
            "clicked",
            "<0>",
            "0",
        ])
        .unwrap_or_else(|| panic!("clicking {label:?} failed"));
    }
}

/// Pulls `(id, {'label': <'text'>…` pairs out of gdbus's GVariant text.
fn parse_layout(text: &str) -> Vec<MenuItem> {
    let mut items = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("'label': <'") {
        let before = &rest[..at];
        let id = before
            .rfind('(')
            .and_then(|open| before[open + 1..].split(',').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        let after = &rest[at + "'label': <'".len()..];
        let end = after.find("'>").unwrap_or(after.len());
        // Id 0 is the root, which libdbusmenu labels "Label Empty"; it is not an item.
        if id != 0 {
            items.push(MenuItem {
                id,
                label: after[..end].replace("\\'", "'"),
            });
        }
        rest = &after[end..];
    }
    items
}

/// The labels of the items whose property dictionary holds `'toggle-state': <1>`.
fn parse_checked(text: &str) -> Vec<String> {
    let mut checked = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("'label': <'") {
        let dict_start = rest[..at].rfind('{').unwrap_or(0);
        let after = &rest[at + "'label': <'".len()..];
        let end = after.find("'>").unwrap_or(after.len());
        let label = after[..end].replace("\\'", "'");
        let dict_end = after[end..].find('}').map_or(after.len(), |i| end + i);
        let dict = format!("{}{}", &rest[dict_start..at], &after[end..dict_end]);
        if dict.contains("'toggle-state': <1>") {
            checked.push(label);
        }
        rest = &after[dict_end..];
    }
    checked
}

/// A W3C WebDriver session against the app, through `tauri-driver`.
pub struct WebDriver {
    base: String,
    session: String,
    client: reqwest::Client,
}

impl WebDriver {
    /// Starts a session that launches `application ARGS` (tauri-driver passes its own
    /// environment to the app).
    pub async fn start(driver_url: &str, application: &str, args: &[&str]) -> WebDriver {
        let client = reqwest::Client::new();
        let until = Instant::now() + Duration::from_secs(30);
        while client
            .get(format!("{driver_url}/status"))
            .send()
            .await
            .is_err()
        {
            assert!(Instant::now() < until, "tauri-driver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let answer: Value = client
            .post(format!("{driver_url}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {"tauri:options": {"application": application, "args": args}}}}))
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session json");
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_owned();
        WebDriver {
            base: driver_url.to_owned(),
            session,
            client,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .expect("webdriver call")
            .json()
            .await
            .expect("json");
        answer["value"].clone()
    }

    /// The element matching a CSS selector.
    pub async fn find(&self, css: &str) -> String {
        let value = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        value
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {value}"))
            .to_owned()
    }

    /// Replaces the text of an input.
    pub async fn fill(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The value property of an input.
    pub async fn value(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{id}/property/value"),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Whether a checkbox is checked.
    pub async fn is_selected(&self, css: &str) -> bool {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{id}/selected"),
            None,
        )
        .await
        .as_bool()
        .unwrap_or_else(|| panic!("{css} has no selected state"))
    }

    /// Waits until the element's text satisfies `check`.
    pub async fn wait_text(&self, css: &str, check: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.text(css).await;
            if check(&text) {
                return text;
            }
            assert!(
                Instant::now() < until,
                "{css} never showed the expected text; last: {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A PNG screenshot of the window.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("screenshot base64")
    }

    pub async fn close(self) {
        let _ = self
            .client
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gdbus_layouts_are_parsed_into_ids_and_labels() {
        let text = "(uint32 7, (0, {'label': <'Label Empty'>}, [<(1, {'label': <'Not signed in'>}, [])>, <(2, {'type': <'separator'>}, [])>, <(3, {'label': <'Quit codexia'>}, [])>]))";
        assert_eq!(
            parse_layout(text),
            vec![
                MenuItem {
                    id: 1,
                    label: "Not signed in".into()
                },
                MenuItem {
                    id: 3,
                    label: "Quit codexia".into()
                }
            ]
        );
    }
}
