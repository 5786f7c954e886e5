//! `codexia login`: ChatGPT sign-in with authorization code + PKCE, or `--device`.
//!
//! The browser flow prints the authorize URL on a line of its own, opens the browser unless
//! `--no-browser` or there is no display, and then waits for whichever comes first: the
//! browser's redirect to the loopback listener, or a redirect URL (or bare code) pasted on
//! stdin. A wrong `state` or an unreadable paste gets a message and another try; the wait ends
//! with a clear message after a timeout.
//!
//! Invariant: nothing outlives the sign-in that the exit would wait for. Standard input is read
//! on a plain thread that nobody joins (see [`stdin_lines`]), so the command returns as soon as
//! the sign-in is done, whichever way it finished.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;

use crate::auth::callback::{
    self, Attempt, CallbackHit, CallbackServer, LOGIN_PORT_ENV, Page, parse_pasted,
};
use crate::auth::oauth::{self, AuthorizeRequest, OAuthError};
use crate::auth::pkce::{PkceCodes, generate_state};
use crate::auth::store::{StoreError, StoreSpec, select_store};
use crate::auth::{AuthError, AuthManager, Credentials};
use crate::cli::UserError;
use crate::cli::args::LoginArgs;
use crate::cli::output::Printer;
use crate::logging::{self, Loudness};
use crate::settings::{Env, Overrides, Settings};
use crate::upstream::UpstreamClient;

/// Overrides how long the browser flow waits, in seconds (tests). Not a user setting.
pub(crate) const LOGIN_TIMEOUT_ENV: &str = "CODEXIA_LOGIN_TIMEOUT";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const DEVICE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Settings with `--auth-file` applied, and logging at `warn` unless asked for more.
pub(crate) fn settings_with_auth_file(
    auth_file: Option<&std::path::Path>,
    verbose: u8,
) -> anyhow::Result<Settings> {
    let overrides = Overrides {
        auth_file: auth_file.map(std::path::Path::to_path_buf),
        ..Overrides::default()
    };
    let settings = Settings::resolve(&overrides, &Env::from_process())?;
    // Commands other than `serve` stay quiet unless asked: their output is the answer.
    logging::init(&settings, Loudness::QuietUnlessConfigured, verbose);
    Ok(settings)
}

/// The credential store for a CLI command; prints the one-line fallback warning.
pub(crate) async fn open_auth(settings: &Settings) -> anyhow::Result<AuthManager> {
    let spec = StoreSpec::from_settings(settings);
    let chosen = spec.clone();
    let choice = tokio::task::spawn_blocking(move || select_store(&chosen))
        .await
        .context("the credential store check was interrupted")?
        .map_err(|err| match err {
            StoreError::KeychainUnavailable(message) => anyhow::Error::new(UserError::with_hint(
                message,
                "start a Secret Service (e.g. gnome-keyring) in this session, or set CODEXIA_CREDENTIAL_STORE=file (or auto) to keep the credentials in a file",
            )),
            other => anyhow::Error::new(other),
        })?;
    if let Some(warning) = &choice.fallback_warning {
        Printer.warn(warning);
    }
    Ok(AuthManager::with_store(
        choice,
        spec,
        UpstreamClient::new(settings),
    ))
}

/// Turns an auth failure into the CLI's error classes.
pub(crate) fn auth_error(err: AuthError) -> anyhow::Error {
    match err {
        AuthError::NotSignedIn
        | AuthError::SignInAgain { .. }
        | AuthError::UnknownAccount(_)
        | AuthError::BadAccountName(_) => UserError::new(err.to_string()).into(),
        other => anyhow::Error::new(other),
    }
}

pub(crate) async fn run(args: &LoginArgs, verbose: u8) -> anyhow::Result<ExitCode> {
    let settings = settings_with_auth_file(args.auth.auth_file.as_deref(), verbose)?;
    let auth = open_auth(&settings).await?;
    let upstream = UpstreamClient::new(&settings);
    let credentials = if args.device {
        device_login(&upstream).await?
    } else {
        browser_login(&upstream, &auth, !args.no_browser).await?
    };
    let known = auth.index().await.map_err(auth_error)?;
    let entry = auth
        .replace(credentials.clone())
        .await
        .map_err(auth_error)?;
    let place = auth.store_description().await.map_err(auth_error)?;
    let claims = credentials.claims();
    Printer.out(format!(
        "Signed in as {} (plan: {}, account {}).",
        claims.email.as_deref().unwrap_or("(no email in the token)"),
        claims.plan.as_deref().unwrap_or("unknown"),
        credentials.account_id
    ));
    Printer.out(format!("Credentials stored in {place}."));
    let others = known.accounts.iter().filter(|a| a.id != entry.id).count();
    if others > 0 {
        Printer.out(format!(
            "Account {:?} is now active ({} signed in; `codexia accounts` lists them).",
            entry.name,
            others + 1
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn oauth_error(err: OAuthError) -> anyhow::Error {
    match err {
        OAuthError::Refused { code } => UserError::with_hint(
            format!("the ChatGPT sign-in server refused the sign-in ({code})"),
            "run `codexia login` again and complete the sign-in in one go",
        )
        .into(),
        OAuthError::Transient(message) => anyhow::anyhow!("the sign-in failed: {message}"),
    }
}

async fn device_login(upstream: &UpstreamClient) -> anyhow::Result<Credentials> {
    let device = oauth::request_device_code(upstream)
        .await
        .map_err(oauth_error)?;
    Printer.note("To sign in, open this URL on any device and enter the code:");
    Printer.out(&device.verification_url);
    Printer.out(format!("Code: {}", device.user_code));
    Printer.note("Waiting for you to approve the sign-in (Ctrl-C cancels)…");
    oauth::complete_device_code(upstream, &device, DEVICE_TIMEOUT)
        .await
        .map_err(oauth_error)
}

fn login_port(env: &Env) -> anyhow::Result<Option<u16>> {
    env.get(LOGIN_PORT_ENV)
        .map(|v| {
            v.trim().parse::<u16>().map_err(|_| {
                UserError::new(format!("{LOGIN_PORT_ENV}={v:?} is not a port number")).into()
            })
        })
        .transpose()
}

fn login_timeout(env: &Env) -> Duration {
    env.get(LOGIN_TIMEOUT_ENV)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
}

fn describe_timeout(timeout: Duration) -> String {
    let secs = timeout.as_secs();
    if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} seconds")
    }
}

/// The outcome of one attempt (a callback or a pasted line).
enum Step {
    Done(Credentials),
    KeepWaiting,
}

async fn browser_login(
    upstream: &UpstreamClient,
    _auth: &AuthManager,
    open_browser: bool,
) -> anyhow::Result<Credentials> {
    let env = Env::from_process();
    let port = login_port(&env)?;
    let timeout = login_timeout(&env);
    let server = match CallbackServer::bind(port).await {
        Ok(server) => Some(server),
        Err(err) => {
            Printer.warn(format!(
                "cannot listen for the browser on 127.0.0.1:{} or {} ({err}); paste the redirect URL here instead",
                callback::DEFAULT_PORT,
                callback::FALLBACK_PORT
            ));
            None
        }
    };
    let redirect_uri = server.as_ref().map_or_else(
        || {
            format!(
                "http://localhost:{}{}",
                callback::DEFAULT_PORT,
                callback::CALLBACK_PATH
            )
        },
        CallbackServer::redirect_uri,
    );
    let request = oauth::authorize_request(
        upstream,
        &redirect_uri,
        PkceCodes::generate().context("cannot generate the sign-in secret")?,
        generate_state().context("cannot generate the sign-in state")?,
    );

    Printer.note("Sign in with your ChatGPT account at this URL:");
    Printer.out(&request.url);
    if open_browser && super::has_display() {
        if open::that_detached(&request.url).is_ok() {
            Printer.note("(opened in your browser)");
        } else {
            Printer.note("(could not open a browser; open the URL yourself)");
        }
    }
    Printer.note(
        "Waiting for the browser. If it cannot reach this machine, paste the address it ends on (http://localhost:…/auth/callback?code=…) here and press Enter.",
    );

    let (hits_tx, mut hits) = mpsc::channel::<CallbackHit>(8);
    let running = server.map(|server| server.spawn(hits_tx));
    let mut stdin = stdin_lines();
    let mut stdin_open = true;
    let mut loopback_open = running.is_some();
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);

    let result = loop {
        tokio::select! {
            hit = hits.recv(), if loopback_open => {
                let Some(hit) = hit else {
                    loopback_open = false;
                    continue;
                };
                match loopback_attempt(upstream, &request, hit).await {
                    Ok(Step::Done(credentials)) => break Ok(credentials),
                    Ok(Step::KeepWaiting) => {}
                    Err(err) => break Err(err),
                }
            }
            line = stdin.recv(), if stdin_open => {
                let Some(line) = line else {
                    stdin_open = false;
                    continue;
                };
                match pasted_attempt(upstream, &request, &line).await {
                    Ok(Step::Done(credentials)) => break Ok(credentials),
                    Ok(Step::KeepWaiting) => {}
                    Err(err) => break Err(err),
                }
            }
            () = &mut deadline => {
                break Err(UserError::with_hint(
                    format!("the sign-in timed out: no redirect arrived within {}", describe_timeout(timeout)),
                    "run `codexia login` again; without a browser on this machine, use `codexia login --device` or paste the redirect URL",
                )
                .into());
            }
        }
    };
    if let Some(running) = running {
        running.finish().await;
    }
    result
}

/// Lines typed or pasted on standard input; the channel closes at the end of input.
///
/// A blocking read of a terminal cannot be cancelled. Read with `tokio::io::stdin` it would
/// run on tokio's blocking pool, and the runtime's shutdown waits for that pool: `codexia
/// login` would print "Signed in" and then hang until the user pressed Enter. A plain thread
/// that is never joined ends with the process instead.
fn stdin_lines() -> mpsc::Receiver<String> {
    let (lines_tx, lines) = mpsc::channel(4);
    let reader = std::thread::Builder::new()
        .name("login-stdin".to_owned())
        .spawn(move || {
            use std::io::BufRead;
            for line in std::io::stdin().lock().lines() {
                // An unreadable line (not UTF-8) ends the paste path, as the end of input does.
                let Ok(line) = line else { break };
                if lines_tx.blocking_send(line).is_err() {
                    break;
                }
            }
        });
    if let Err(err) = reader {
        // The sender is gone with the closure: only the browser's redirect can finish.
        tracing::warn!("cannot read pasted redirect URLs: {err}");
    }
    lines
}

const WRONG_STATE: &str = "that redirect belongs to a different sign-in attempt (its state does not match this one); use the URL printed above, or paste the address from this attempt";

async fn loopback_attempt(
    upstream: &UpstreamClient,
    request: &AuthorizeRequest,
    hit: CallbackHit,
) -> anyhow::Result<Step> {
    match callback::judge(&hit.params, &request.state, true) {
        Attempt::Code(code) => {
            match oauth::exchange_code(
                upstream,
                &code,
                &request.pkce.code_verifier,
                &request.redirect_uri,
            )
            .await
            {
                Ok(credentials) => {
                    let who = credentials.claims().email.map_or_else(
                        || "You are signed in.".to_owned(),
                        |e| format!("You are signed in as {e}."),
                    );
                    let _ = hit.reply.send(Page::success(&who));
                    Ok(Step::Done(credentials))
                }
                Err(err) => {
                    let _ = hit.reply.send(Page::failure(
                        "The sign-in server refused this sign-in. Run `codexia login` again.",
                    ));
                    Err(oauth_error(err))
                }
            }
        }
        Attempt::WrongState => {
            let _ = hit.reply.send(Page::failure(
                "This page belongs to an older sign-in attempt. Use the URL codexia printed most recently.",
            ));
            Printer.warn(WRONG_STATE);
            Ok(Step::KeepWaiting)
        }
        Attempt::Denied(why) => {
            let _ = hit.reply.send(Page::failure(format!(
                "The sign-in was not completed ({why})."
            )));
            Err(UserError::with_hint(
                format!("the sign-in was cancelled in the browser ({why})"),
                "run `codexia login` again",
            )
            .into())
        }
        Attempt::Invalid(why) => {
            let _ = hit.reply.send(Page::failure(format!(
                "This is not a valid sign-in redirect: {why}."
            )));
            Printer.warn(format!("ignored a request to the sign-in listener: {why}"));
            Ok(Step::KeepWaiting)
        }
    }
}

async fn pasted_attempt(
    upstream: &UpstreamClient,
    request: &AuthorizeRequest,
    line: &str,
) -> anyhow::Result<Step> {
    let params = match parse_pasted(line) {
        None => return Ok(Step::KeepWaiting),
        Some(Err(message)) => {
            Printer.warn(format!("{message}; try again"));
            return Ok(Step::KeepWaiting);
        }
        Some(Ok(params)) => params,
    };
    match callback::judge(&params, &request.state, false) {
        Attempt::Code(code) => {
            match oauth::exchange_code(
                upstream,
                &code,
                &request.pkce.code_verifier,
                &request.redirect_uri,
            )
            .await
            {
                Ok(credentials) => Ok(Step::Done(credentials)),
                // A stale or mistyped code: say so and let the user paste again.
                Err(OAuthError::Refused { code }) => {
                    Printer.warn(format!(
                        "the sign-in server refused that code ({code}); it may be from an older attempt or already used. Paste the address from this attempt"
                    ));
                    Ok(Step::KeepWaiting)
                }
                Err(err) => Err(oauth_error(err)),
            }
        }
        Attempt::WrongState => {
            Printer.warn(WRONG_STATE);
            Ok(Step::KeepWaiting)
        }
        Attempt::Denied(why) => Err(UserError::with_hint(
            format!("the sign-in was cancelled in the browser ({why})"),
            "run `codexia login` again",
        )
        .into()),
        Attempt::Invalid(why) => {
            Printer.warn(format!("{why}; paste the whole address, try again"));
            Ok(Step::KeepWaiting)
        }
    }
}
