//! The tray menu: one table of ids and labels (`Item::spec`), a pure description of the menu
//! from the current view, and building it (`muda`'s menu items, main thread only).

use tray_icon::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};

use super::status::{AccountLine, AccountState, TrayView};

/// The items of the menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item {
    /// The account line (its text is the account).
    Account,
    /// One line per limit window (ids `limit:0`, `limit:1`…).
    Limit,
    /// The usage lines: today's tokens, the forecast (ids `usage:0`, `usage:1`).
    Usage,
    /// The Accounts submenu (with several accounts signed in, or one).
    Accounts,
    /// One account of the submenu (ids `use-account:NAME`); choosing it makes it active.
    UseAccount,
    /// "Sign in another account…": the Sign in window, adding an account.
    AddAccount,
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
    const ALL: [Self; 13] = [
        Self::Account,
        Self::Limit,
        Self::Usage,
        Self::Accounts,
        Self::UseAccount,
        Self::AddAccount,
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
            Self::Accounts => ("accounts", "Accounts"),
            Self::UseAccount => ("use-account", ""),
            Self::AddAccount => ("add-account", "Sign in another account…"),
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

    /// The id of one account's item in the Accounts submenu.
    pub(crate) fn use_account_id(name: &str) -> String {
        format!("{}:{name}", Self::UseAccount.id())
    }

    /// The account a `use-account:NAME` id names.
    pub(crate) fn account_of(id: &str) -> Option<&str> {
        id.strip_prefix(Self::UseAccount.id())?.strip_prefix(':')
    }
}

/// One entry of the menu, before it becomes a menu item.
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
    Submenu {
        id: String,
        label: String,
        entries: Vec<Entry>,
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
    if !view.accounts.is_empty() {
        menu.push(accounts_submenu(&view.accounts));
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

/// The Accounts submenu: each account (the active one checked), then "Sign in another
/// account…".
fn accounts_submenu(accounts: &[AccountLine]) -> Entry {
    let mut entries: Vec<Entry> = accounts
        .iter()
        .map(|account| Entry::Check {
            id: Item::use_account_id(&account.name),
            label: account.label.clone(),
            checked: account.active,
        })
        .collect();
    entries.push(Entry::Separator);
    entries.push(Entry::Item {
        id: Item::AddAccount.id().to_owned(),
        label: Item::AddAccount.label().to_owned(),
        enabled: true,
    });
    Entry::Submenu {
        id: Item::Accounts.id().to_owned(),
        label: Item::Accounts.label().to_owned(),
        entries,
    }
}

/// An item of the menu, kept to change it in place.
enum Built {
    Item(MenuItem),
    Check(CheckMenuItem),
    Submenu(Submenu, Vec<Built>),
    Separator,
}

/// A menu attached to the tray, with the entries it was built from.
pub(crate) struct BuiltMenu {
    pub(crate) menu: Menu,
    entries: Vec<Entry>,
    items: Vec<Built>,
}

/// Whether two lists have the same items in the same order, submenus included (texts may
/// differ).
fn same_shape(a: &[Entry], b: &[Entry]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|pair| match pair {
            (Entry::Item { id: x, .. }, Entry::Item { id: y, .. })
            | (Entry::Check { id: x, .. }, Entry::Check { id: y, .. }) => x == y,
            (
                Entry::Submenu {
                    id: x, entries: a, ..
                },
                Entry::Submenu {
                    id: y, entries: b, ..
                },
            ) => x == y && same_shape(a, b),
            (Entry::Separator, Entry::Separator) => true,
            _ => false,
        })
}

/// Changes texts, enabled and checked states in place (same shape only).
fn update_items(old: &[Entry], new: &[Entry], items: &[Built]) {
    for ((old, new), item) in old.iter().zip(new).zip(items) {
        if old == new {
            continue;
        }
        match (old, new, item) {
            (_, Entry::Item { label, enabled, .. }, Built::Item(item)) => {
                item.set_text(label);
                item.set_enabled(*enabled);
            }
            (_, Entry::Check { label, checked, .. }, Built::Check(item)) => {
                item.set_text(label);
                item.set_checked(*checked);
            }
            (
                Entry::Submenu { entries: old, .. },
                Entry::Submenu { label, entries, .. },
                Built::Submenu(submenu, items),
            ) => {
                submenu.set_text(label);
                update_items(old, entries, items);
            }
            _ => {}
        }
    }
}

impl BuiltMenu {
    /// Whether `entries` have the same items in the same order (texts may differ).
    pub(crate) fn same_shape(&self, entries: &[Entry]) -> bool {
        same_shape(&self.entries, entries)
    }

    /// Changes texts, enabled and checked states in place (same shape only).
    pub(crate) fn update(&mut self, entries: &[Entry]) {
        update_items(&self.entries, entries, &self.items);
        self.entries = entries.to_vec();
    }
}

/// Builds a menu from entries.
pub(crate) fn build(entries: &[Entry]) -> tray_icon::menu::Result<BuiltMenu> {
    let menu = Menu::new();
    let items = append_entries(&|item| menu.append(item), entries)?;
    Ok(BuiltMenu {
        menu,
        entries: entries.to_vec(),
        items,
    })
}

/// Appends each entry through `append` (the menu's or a submenu's).
fn append_entries(
    append: &dyn Fn(&dyn IsMenuItem) -> tray_icon::menu::Result<()>,
    entries: &[Entry],
) -> tray_icon::menu::Result<Vec<Built>> {
    let mut items = Vec::with_capacity(entries.len());
    for entry in entries {
        match entry {
            Entry::Item { id, label, enabled } => {
                let item = MenuItem::with_id(id.as_str(), label, *enabled, None);
                append(&item)?;
                items.push(Built::Item(item));
            }
            Entry::Check { id, label, checked } => {
                let item = CheckMenuItem::with_id(id.as_str(), label, true, *checked, None);
                append(&item)?;
                items.push(Built::Check(item));
            }
            Entry::Submenu { id, label, entries } => {
                let submenu = Submenu::with_id(id.as_str(), label, true);
                let children = append_entries(&|item| submenu.append(item), entries)?;
                append(&submenu)?;
                items.push(Built::Submenu(submenu, children));
            }
            Entry::Separator => {
                append(&PredefinedMenuItem::separator())?;
                items.push(Built::Separator);
            }
        }
    }
    Ok(items)
}

impl BuiltMenu {
    /// Replaces every item of the attached menu (the menu object itself stays, so the tray
    /// keeps exporting the same menu to the panel).
    pub(crate) fn replace(&mut self, entries: &[Entry]) -> tray_icon::menu::Result<()> {
        // Append the new items first, then remove the old ones: the menu is never empty.
        let old = self.menu.items().len();
        let menu = self.menu.clone();
        let items = append_entries(&|item| menu.append(item), entries)?;
        for _ in 0..old {
            self.menu.remove_at(0);
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
                Entry::Item { label, .. }
                | Entry::Check { label, .. }
                | Entry::Submenu { label, .. } => label.clone(),
                Entry::Separator => "---".to_owned(),
            })
            .collect()
    }

    #[test]
    fn a_signed_in_menu_lists_account_limits_gateway_and_actions_in_order() {
        let view = TrayView {
            accounts: Vec::new(),
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
            accounts: Vec::new(),
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
        assert_eq!(
            Item::account_of(&Item::use_account_id("team")),
            Some("team")
        );
        assert_eq!(Item::account_of("use-accountteam"), None);
    }

    #[test]
    fn the_accounts_submenu_checks_the_active_account_and_offers_another() {
        let account = |name: &str, active| AccountLine {
            name: name.into(),
            label: format!("{name} — …"),
            active,
        };
        let view = TrayView {
            account: AccountState::SignedIn {
                label: "me@work.example · Team".into(),
            },
            limits: vec![],
            accounts: vec![account("plus", false), account("team", true)],
        };
        let menu = entries(&view, &[], &GatewayLine::Starting, false);
        assert_eq!(
            menu[1],
            Entry::Submenu {
                id: "accounts".into(),
                label: "Accounts".into(),
                entries: vec![
                    Entry::Check {
                        id: "use-account:plus".into(),
                        label: "plus — …".into(),
                        checked: false
                    },
                    Entry::Check {
                        id: "use-account:team".into(),
                        label: "team — …".into(),
                        checked: true
                    },
                    Entry::Separator,
                    Entry::Item {
                        id: "add-account".into(),
                        label: "Sign in another account…".into(),
                        enabled: true
                    },
                ]
            }
        );
        // A switch changes checks in place; another account changes the shape.
        let mut switched = view.clone();
        switched.accounts = vec![account("plus", true), account("team", false)];
        let after = entries(&switched, &[], &GatewayLine::Starting, false);
        assert!(same_shape(&menu, &after));
        assert_ne!(menu, after);
        switched.accounts.push(account("third", false));
        assert!(!same_shape(
            &menu,
            &entries(&switched, &[], &GatewayLine::Starting, false)
        ));
    }
}
