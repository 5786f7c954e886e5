//! The tray menu: one table of ids and labels (`Item::spec`), a pure description of the menu
//! from the current view, and building it with Tauri.

use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::{AppHandle, Wry};

use super::status::{AccountState, TrayView};

/// The items of the menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item {
    /// The account line (its text is the account).
    Account,
    /// One line per limit window (ids `limit:0`, `limit:1`…).
    Limit,
    /// The usage lines: today's tokens, the forecast (ids `usage:0`, `usage:1`).
    Usage,
    /// The gateway line; choosing it copies the gateway's address.
    Gateway,
    CopySetup,
    SignIn,
    SignOut,
    Settings,
    Autostart,
    Quit,
}

impl Item {
    const ALL: [Self; 10] = [
        Self::Account,
        Self::Limit,
        Self::Usage,
        Self::Gateway,
        Self::CopySetup,
        Self::SignIn,
        Self::SignOut,
        Self::Settings,
        Self::Autostart,
        Self::Quit,
    ];

    /// The table: each item's id and its label (empty for the lines whose text is computed).
    /// The single place that names them.
    const fn spec(self) -> (&'static str, &'static str) {
        match self {
            Self::Account => ("account", ""),
            Self::Limit => ("limit", ""),
            Self::Usage => ("usage", ""),
            Self::Gateway => ("gateway", ""),
            Self::CopySetup => ("copy-claude-setup", "Copy Claude Code setup"),
            Self::SignIn => ("sign-in", "Sign in…"),
            Self::SignOut => ("sign-out", "Sign out"),
            Self::Settings => ("settings", "Settings…"),
            Self::Autostart => ("autostart", "Start at login"),
            Self::Quit => ("quit", "Quit codexia"),
        }
    }

    pub(crate) const fn id(self) -> &'static str {
        self.spec().0
    }

    pub(crate) const fn label(self) -> &'static str {
        self.spec().1
    }

    /// The item a menu event names (limit lines are never chosen: they are disabled).
    pub(crate) fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|item| item.id() == id)
    }
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
pub(crate) fn entries(
    view: &TrayView,
    usage: &[String],
    gateway: &GatewayLine,
    autostart: bool,
) -> Vec<Entry> {
    let line = |id: String, label: String, enabled: bool| Entry::Item { id, label, enabled };
    let item =
        |item: Item, enabled: bool| line(item.id().to_owned(), item.label().to_owned(), enabled);
    let mut menu = vec![line(
        Item::Account.id().to_owned(),
        view.account_line(),
        false,
    )];
    for (i, limit) in view.limits.iter().enumerate() {
        menu.push(line(
            format!("{}:{i}", Item::Limit.id()),
            limit.text.clone(),
            false,
        ));
    }
    for (i, text) in usage.iter().enumerate() {
        menu.push(line(
            format!("{}:{i}", Item::Usage.id()),
            text.clone(),
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
    menu.push(line(Item::Gateway.id().to_owned(), gateway_label, running));
    menu.push(item(Item::CopySetup, running));
    menu.push(Entry::Separator);
    match view.account {
        AccountState::SignedIn { .. } => menu.push(item(Item::SignOut, true)),
        _ => menu.push(item(Item::SignIn, true)),
    }
    menu.push(item(Item::Settings, true));
    menu.push(Entry::Check {
        id: Item::Autostart.id().to_owned(),
        label: Item::Autostart.label().to_owned(),
        checked: autostart,
    });
    menu.push(Entry::Separator);
    menu.push(item(Item::Quit, true));
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
            labels(&entries(
                &view,
                &["Today: 1.2M tokens · cache 91%".into()],
                &gateway,
                true
            )),
            [
                "user@example.com · Pro",
                "5h: 97% left · resets in 2h 24m",
                "Weekly: 68% left · resets Thu 02:19",
                "Today: 1.2M tokens · cache 91%",
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
        let menu = entries(&view, &[], &GatewayLine::Starting, false);
        assert_eq!(labels(&menu)[0], "Not signed in");
        assert!(labels(&menu).contains(&"Sign in…".to_owned()));
        assert!(menu.contains(&Entry::Item {
            id: Item::CopySetup.id().into(),
            label: "Copy Claude Code setup".into(),
            enabled: false
        }));
    }

    #[test]
    fn every_item_has_its_own_id_and_is_found_by_it() {
        for item in Item::ALL {
            assert_eq!(Item::from_id(item.id()), Some(item));
        }
        assert_eq!(Item::from_id("limit:0"), None);
    }
}
