//! `codexia support-bundle [--out FILE] [--include-contents]`: writes the support bundle
//! (see `crate::support`) and says where, and what it holds.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::args::SupportBundleArgs;
use crate::cli::output::Printer;
use crate::local::LocalGateway;
use crate::logging::{self, Loudness};
use crate::settings::{Env, Overrides, Settings};
use crate::support::{self, BundleOptions};

pub(crate) async fn run(args: &SupportBundleArgs, verbose: u8) -> anyhow::Result<ExitCode> {
    let settings = Settings::resolve(&Overrides::default(), &Env::from_process())?;
    logging::init(&settings, Loudness::QuietUnlessConfigured, verbose);
    let options = BundleOptions {
        include_contents: args.include_contents,
    };
    let now = chrono::Local::now();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| support::default_file_name(now).into());
    let gateway = LocalGateway::find(&settings).await;
    let files = support::make(&settings, gateway, options, &out, now)
        .await
        .with_context(|| format!("cannot write the support bundle to {}", out.display()))?;
    Printer.out(format!(
        "wrote {} ({} files; README.txt inside says what they are)",
        out.display(),
        files
    ));
    if !args.include_contents {
        Printer.out("request contents are not included; add --include-contents to include them");
    }
    Ok(ExitCode::SUCCESS)
}
