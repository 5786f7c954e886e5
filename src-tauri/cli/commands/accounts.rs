//! `codexia accounts [--json]`, `codexia accounts use ACCOUNT`, `codexia accounts rename
//! ACCOUNT NAME`: the signed-in ChatGPT accounts, each with its plan and windows, and which
//! one serves by default.

use std::process::ExitCode;

use crate::cli::UserError;
use crate::cli::args::{AccountsAction, AccountsArgs};
use crate::cli::output::Printer;
use crate::status::{self, AccountSummary};
use crate::upstream::UpstreamClient;

use super::login::{auth_error, open_auth, settings_with_auth_file};

pub(crate) async fn run(args: &AccountsArgs, verbose: u8) -> anyhow::Result<ExitCode> {
    let settings = settings_with_auth_file(args.auth.auth_file.as_deref(), verbose)?;
    let auth = open_auth(&settings).await?;
    match &args.action {
        Some(AccountsAction::Use { account }) => {
            let entry = auth.use_account(account).await.map_err(auth_error)?;
            Printer.out(format!(
                "Account {:?}{} is now active: it serves every request without a key bound to another account.",
                entry.name,
                entry
                    .email
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ));
            return Ok(ExitCode::SUCCESS);
        }
        Some(AccountsAction::Rename { account, name }) => {
            let entry = auth.rename(account, name).await.map_err(auth_error)?;
            Printer.out(format!(
                "Account {} is now called {:?}.",
                entry.id, entry.name
            ));
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
    }
    let accounts =
        status::collect_accounts(&auth, &UpstreamClient::new(&settings), None, None).await;
    if args.json {
        Printer.out(serde_json::to_string_pretty(&accounts)?);
        return Ok(ExitCode::SUCCESS);
    }
    if accounts.is_empty() {
        return Err(UserError::with_hint(
            "no ChatGPT account is signed in",
            "run `codexia login` to sign in",
        )
        .into());
    }
    for account in &accounts {
        Printer.out(line(account));
    }
    Ok(ExitCode::SUCCESS)
}

/// `* work  me@example.com · team  5h 97% left · weekly 80% left` (`*`: the active account).
fn line(account: &AccountSummary) -> String {
    let mark = if account.active { '*' } else { ' ' };
    let who = account.email.as_deref().unwrap_or("(no email)");
    let plan = account
        .plan
        .as_deref()
        .map(|p| format!(" · {p}"))
        .unwrap_or_default();
    let state = if account.signed_in {
        account
            .rate_limits
            .iter()
            .map(|w| format!("{} {:.0}% left", w.name, w.remaining_percent))
            .collect::<Vec<_>>()
            .join(" · ")
    } else {
        account.warnings.first().cloned().unwrap_or_default()
    };
    format!("{mark} {}  {who}{plan}  {state}", account.name)
        .trim_end()
        .to_owned()
}
