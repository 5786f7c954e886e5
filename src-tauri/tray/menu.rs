//! The tray menu: one table of ids and labels, a pure description of the menu from the
//! current view, and building it with Tauri.

use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::{AppHandle, Wry};

use super::status::{AccountState, TrayView};

/// Menu item ids: the single place that names them.
pub(crate) mod ids {
    pub(crate) const ACCOUNT: &str = "account";
    pub(crate) const LIMIT: &str = "limit";
    pub(crate) const GATEWAY: &str = "gateway";
    pub(crate) const COPY_SETUP: &str = "copy-claude-setup";
    pub(crate) const SIGN_IN: &str = "sign-in";
    pub(crate) const SIGN_OUT: &str = "sign-out";
    pub(crate) const SETTINGS: &str = "settings";
    pub(crate) const AUTOSTART: &str = "autostart";
    pub(crate) const QUIT: &str = "quit";
}

/// One entry of the menu, before it becomes a Tauri item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    Item {
        id: String,
        label: String,
        enabled: bool,
    },
    Check {
        id: String,
        label: String,
        checked: bool,
    },
    Separator,
}

/// What the gateway line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GatewayLine {
    Starting,
    Running { url: String, attached: bool },
    Failed { reason: String },
}

/// The whole menu, top to bottom (docs/architecture.md §7).
pub(crate) fn entries(view: &TrayView, gateway: &GatewayLine, autostart: bool) -> Vec<Entry> {
    let item = |id: &str, label: String, enabled: bool| Entry::Item {
        id: id.to_owned(),
        label,
        enabled,
    };
    let mut menu = vec![item(ids::ACCOUNT, view.account_line(), false)];
    for (i, limit) in view.limits.iter().enumerate() {
        menu.push(item(
            &format!("{}:{i}", ids::LIMIT),
            limit.text.clone(),
            false,
        ));
    }
    menu.push(Entry::Separator);
    let gateway_label = match gateway {
        GatewayLine::Starting => "Gateway: starting…".to_owned(),
        GatewayLine::Running {
            url,
            attached: false,
        } => format!("Gateway: {url} · running"),
        GatewayLine::Running {
            url,
            attached: true,
        } => format!("Gateway: {url} · daemon"),
        GatewayLine::Failed { reason } => format!("Gateway: stopped · {reason}"),
    };
    let running = matches!(gateway, GatewayLine::Running { .. });
    menu.push(item(ids::GATEWAY, gateway_label, running));
    menu.push(item(
        ids::COPY_SETUP,
        "Copy Claude Code setup".to_owned(),
        running,
    ));
    menu.push(Entry::Separator);
    match view.account {
        AccountState::SignedIn { .. } => {
            menu.push(item(ids::SIGN_OUT, "Sign out".to_owned(), true));
        }
        _ => {
            menu.push(item(ids::SIGN_IN, "Sign in…".to_owned(), true));
        }
    }
    menu.push(item(ids::SETTINGS, "Settings…".to_owned(), true));
    menu.push(Entry::Check {
        id: ids::AUTOSTART.to_owned(),
        label: "Start at login".to_owned(),
        checked: autostart,
    });
    menu.push(Entry::Separator);
    menu.push(item(ids::QUIT, "Quit codexia".to_owned(), true));
    menu
}

/// A Tauri item of the menu, kept to change it in place.
enum Built {
    Item(MenuItem<Wry>),
    Check(CheckMenuItem<Wry>),
    Separator,
}

/// A menu attached to the tray, with the entries it was built from.
pub(crate) struct BuiltMenu {
    pub(crate) menu: Menu<Wry>,
    entries: Vec<Entry>,
    items: Vec<Built>,
}

fn shape(entry: &Entry) -> (u8, &str) {
    match entry {
        Entry::Item { id, .. } => (0, id),
        Entry::Check { id, .. } => (1, id),
        Entry::Separator => (2, ""),
    }
}

impl BuiltMenu {
    /// Whether `entries` have the same items in the same order (texts may differ).
    pub(crate) fn same_shape(&self, entries: &[Entry]) -> bool {
        self.entries.len() == entries.len()
            && self
                .entries
                .iter()
                .zip(entries)
                .all(|(a, b)| shape(a) == shape(b))
    }

    /// Changes texts, enabled and checked states in place (same shape only).
    pub(crate) fn update(&mut self, entries: &[Entry]) -> tauri::Result<()> {
        for ((old, new), item) in self.entries.iter().zip(entries).zip(&self.items) {
            if old == new {
                continue;
            }
            match (new, item) {
                (Entry::Item { label, enabled, .. }, Built::Item(item)) => {
                    item.set_text(label)?;
                    item.set_enabled(*enabled)?;
                }
                (Entry::Check { label, checked, .. }, Built::Check(item)) => {
                    item.set_text(label)?;
                    item.set_checked(*checked)?;
                }
                _ => {}
            }
        }
        self.entries = entries.to_vec();
        Ok(())
    }
}

/// Builds a Tauri menu from entries.
pub(crate) fn build(app: &AppHandle, entries: &[Entry]) -> tauri::Result<BuiltMenu> {
    let menu = Menu::new(app)?;
    let items = append_entries(app, &menu, entries)?;
    Ok(BuiltMenu {
        menu,
        entries: entries.to_vec(),
        items,
    })
}

fn append_entries(
    app: &AppHandle,
    menu: &Menu<Wry>,
    entries: &[Entry],
) -> tauri::Result<Vec<Built>> {
    let mut items = Vec::with_capacity(entries.len());
    for entry in entries {
        match entry {
            Entry::Item { id, label, enabled } => {
                let item = MenuItem::with_id(app, id.as_str(), label, *enabled, None::<&str>)?;
                menu.append(&item)?;
                items.push(Built::Item(item));
            }
            Entry::Check { id, label, checked } => {
                let item =
                    CheckMenuItem::with_id(app, id.as_str(), label, true, *checked, None::<&str>)?;
                menu.append(&item)?;
                items.push(Built::Check(item));
            }
            Entry::Separator => {
                menu.append(&PredefinedMenuItem::separator(app)?)?;
                items.push(Built::Separator);
            }
        }
    }
    Ok(items)
}

impl BuiltMenu {
    /// Replaces every item of the attached menu (the menu object itself stays, so the tray
    /// keeps exporting the same menu to the panel).
    pub(crate) fn replace(&mut self, app: &AppHandle, entries: &[Entry]) -> tauri::Result<()> {
        // Append the new items first, then remove the old ones: the menu is never empty.
        let old = self.menu.items()?.len();
        let items = append_entries(app, &self.menu, entries)?;
        for _ in 0..old {
            self.menu.remove_at(0)?;
        }
        self.items = items;
        self.entries = entries.to_vec();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tray::status::LimitLine;
    use pretty_assertions::assert_eq;

    fn labels(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| match e {
                Entry::Item { label, .. } | Entry::Check { label, .. } => label.clone(),
                Entry::Separator => "---".to_owned(),
            })
            .collect()
    }

    #[test]
    fn a_signed_in_menu_lists_account_limits_gateway_and_actions_in_order() {
        let view = TrayView {
            account: AccountState::SignedIn {
                label: "user@example.com · Pro".into(),
            },
            limits: vec![
                LimitLine {
                    name: "5h".into(),
                    remaining_percent: 97.0,
                    text: "5h: 97% left · resets in 2h 24m".into(),
                },
                LimitLine {
                    name: "weekly".into(),
                    remaining_percent: 68.0,
                    text: "Weekly: 68% left · resets Thu 02:19".into(),
                },
            ],
        };
        let gateway = GatewayLine::Running {
            url: "http://127.0.0.1:14550".into(),
            attached: false,
        };
        assert_eq!(
            labels(&entries(&view, &gateway, true)),
            [
                "user@example.com · Pro",
                "5h: 97% left · resets in 2h 24m",
                "Weekly: 68% left · resets Thu 02:19",
                "---",
                "Gateway: http://127.0.0.1:14550 · running",
                "Copy Claude Code setup",
                "---",
                "Sign out",
                "Settings…",
                "Start at login",
                "---",
                "Quit codexia"
            ]
        );
    }

    #[test]
    fn a_signed_out_menu_offers_sign_in() {
        let view = TrayView {
            account: AccountState::SignedOut,
            limits: vec![],
        };
        let menu = entries(&view, &GatewayLine::Starting, false);
        assert_eq!(labels(&menu)[0], "Not signed in");
        assert!(labels(&menu).contains(&"Sign in…".to_owned()));
        assert!(menu.contains(&Entry::Item {
            id: ids::COPY_SETUP.into(),
            label: "Copy Claude Code setup".into(),
            enabled: false
        }));
    }
}
