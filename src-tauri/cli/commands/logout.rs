//! `codexia logout`: deletes the stored credentials (under the same locks as a refresh).

use std::process::ExitCode;

use crate::cli::args::AuthFileArgs;
use crate::cli::output::Printer;

use super::login::{auth_error, open_auth, settings_with_auth_file};

pub(crate) async fn run(args: &AuthFileArgs, verbose: u8) -> anyhow::Result<ExitCode> {
    let settings = settings_with_auth_file(args.auth_file.as_deref(), verbose)?;
    let auth = open_auth(&settings).await?;
    let place = auth.store_description().await.map_err(auth_error)?;
    if auth.sign_out().await.map_err(auth_error)? {
        Printer.out(format!("Signed out: deleted the credentials from {place}."));
    } else {
        Printer.out(format!("Not signed in: no credentials in {place}."));
    }
    Ok(ExitCode::SUCCESS)
}
