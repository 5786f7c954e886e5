//! `codexia logout [ACCOUNT] [--all]`: signs out of the active account, of ACCOUNT, or of
//! every account (deleting the tokens under the same locks as a refresh).

use std::process::ExitCode;

use crate::cli::args::LogoutArgs;
use crate::cli::output::Printer;

use super::login::{auth_error, open_auth, settings_with_auth_file};

pub(crate) async fn run(args: &LogoutArgs, verbose: u8) -> anyhow::Result<ExitCode> {
    let settings = settings_with_auth_file(args.auth.auth_file.as_deref(), verbose)?;
    let auth = open_auth(&settings).await?;
    let place = auth.store_description().await.map_err(auth_error)?;
    let mut removed = Vec::new();
    if args.all {
        while let Some(entry) = auth.remove(None).await.map_err(auth_error)? {
            removed.push(entry);
        }
    } else if let Some(entry) = auth
        .remove(args.account.as_deref())
        .await
        .map_err(auth_error)?
    {
        removed.push(entry);
    }
    if removed.is_empty() {
        Printer.out(format!("Not signed in: no credentials in {place}."));
        return Ok(ExitCode::SUCCESS);
    }
    let index = auth.index().await.map_err(auth_error)?;
    if index.accounts.is_empty() && removed.len() == 1 {
        // The single-account wording of earlier versions.
        Printer.out(format!("Signed out: deleted the credentials from {place}."));
        return Ok(ExitCode::SUCCESS);
    }
    for entry in &removed {
        Printer.out(format!(
            "Signed out of {:?}{}: deleted its credentials from {place}.",
            entry.name,
            entry
                .email
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        ));
    }
    if let Some(active) = index.active() {
        Printer.out(format!("Account {:?} is now active.", active.name));
    }
    Ok(ExitCode::SUCCESS)
}
