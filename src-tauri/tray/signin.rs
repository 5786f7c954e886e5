//! Sign-in from the tray: one pending attempt (PKCE + state + loopback listener) finished by
//! whichever comes first — the Sign in window's own navigation to the redirect URL (caught
//! before it loads), the system browser reaching the loopback listener, or a pasted URL.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc};

use super::TrayApp;
use super::desktop::Handle;
use super::ipc::{ToWindow, TrayError, WindowKind};
use crate::auth::callback::{self, Attempt, CallbackHit, CallbackParams, CallbackServer, Page};
use crate::auth::oauth::{self, AuthorizeRequest};
use crate::auth::pkce::{PkceCodes, generate_state};
use crate::auth::{AuthManager, store::StoreSpec};
use crate::settings::{Env, Overrides, Settings};
use crate::upstream::UpstreamClient;

/// A redirect that reached us some way, with where to send the verdict page (loopback only).
struct Redirect {
    params: CallbackParams,
    reply: Option<tokio::sync::oneshot::Sender<Page>>,
}

/// The attempt in progress.
pub(crate) struct Pending {
    pub(crate) request: AuthorizeRequest,
    redirects: mpsc::Sender<Redirect>,
}

/// Holds at most one attempt.
#[derive(Default)]
pub(crate) struct SignIn {
    pending: Mutex<Option<Arc<Pending>>>,
}

/// The credentials to sign into: the in-process gateway's, or the configured store when the
/// tray is attached to another process's gateway.
pub(crate) enum AuthHandle {
    InProcess(crate::gateway::state::AppState),
    Own(Box<AuthManager>),
}

impl AuthHandle {
    pub(crate) async fn for_tray(tray: &TrayApp) -> Result<(Self, UpstreamClient), TrayError> {
        if let Some(state) = tray.gateway.state().await {
            let upstream = state.0.upstream.clone();
            return Ok((Self::InProcess(state), upstream));
        }
        let settings = Settings::resolve(&Overrides::default(), &Env::from_process())?;
        let upstream = UpstreamClient::new(&settings);
        let manager = AuthManager::new(StoreSpec::from_settings(&settings), upstream.clone());
        Ok((Self::Own(Box::new(manager)), upstream))
    }

    pub(crate) fn manager(&self) -> &AuthManager {
        match self {
            Self::InProcess(state) => state.auth(),
            Self::Own(manager) => manager,
        }
    }
}

impl SignIn {
    /// The current attempt, or a new one (binds the loopback listener, 1455 then 1457).
    pub(crate) async fn begin(
        &self,
        app: &Handle,
        tray: &Arc<TrayApp>,
    ) -> Result<Arc<Pending>, TrayError> {
        let mut pending = self.pending.lock().await;
        if let Some(existing) = pending.as_ref() {
            return Ok(Arc::clone(existing));
        }
        let (auth, upstream) = AuthHandle::for_tray(tray).await?;
        let port = std::env::var(callback::LOGIN_PORT_ENV)
            .ok()
            .and_then(|p| p.parse().ok());
        let server = CallbackServer::bind(port).await.map_err(|e| {
            TrayError::new(format!("Cannot listen for the sign-in redirect on port 1455 or 1457 ({e}); paste the redirect URL instead."))
        })?;
        let pkce = PkceCodes::generate()?;
        let state = generate_state()?;
        let request = oauth::authorize_request(&upstream, &server.redirect_uri(), pkce, state);
        let (hits_tx, hits) = mpsc::channel::<CallbackHit>(8);
        let listener = server.spawn(hits_tx);
        let (redirects, incoming) = mpsc::channel::<Redirect>(8);
        let attempt = Arc::new(Pending {
            request: request.clone(),
            redirects,
        });
        *pending = Some(Arc::clone(&attempt));
        drop(pending);

        let app = app.clone();
        let tray = Arc::clone(tray);
        tokio::spawn(async move {
            let outcome = finish(&app, auth.manager(), &upstream, &request, hits, incoming).await;
            listener.finish().await;
            app.signin.pending.lock().await.take();
            match outcome {
                Ok(who) => {
                    tracing::info!("signed in as {who}");
                    super::windows::send(&app, WindowKind::SignIn.label(), ToWindow::Close);
                    tray.refresh.notify_one();
                }
                Err(err) => show_error(&app, &err.message),
            }
        });
        Ok(attempt)
    }

    /// Hands a redirect URL (pasted, or caught from the window's navigation) to the attempt.
    pub(crate) async fn submit(&self, url: &str) -> Result<(), TrayError> {
        let Some(pending) = self.pending.lock().await.clone() else {
            return Err(TrayError::new(
                "Start again: choose \"Continue with ChatGPT\" or \"Use my browser instead\" first.",
            ));
        };
        let params = match callback::parse_pasted(url) {
            None => {
                return Err(TrayError::new(
                    "Paste the whole address that starts with http://localhost:1455/auth/callback.",
                ));
            }
            Some(Err(message)) => return Err(TrayError::new(capitalize(&message))),
            Some(Ok(params)) => params,
        };
        pending
            .redirects
            .send(Redirect {
                params,
                reply: None,
            })
            .await
            .map_err(|_| TrayError::new("That sign-in attempt has ended; start again."))
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>() + "."
    })
}

/// Waits for the first valid redirect, exchanges the code and stores the credentials.
async fn finish(
    app: &Handle,
    auth: &AuthManager,
    upstream: &UpstreamClient,
    request: &AuthorizeRequest,
    mut hits: mpsc::Receiver<CallbackHit>,
    mut incoming: mpsc::Receiver<Redirect>,
) -> Result<String, TrayError> {
    let deadline = tokio::time::sleep(std::time::Duration::from_secs(15 * 60));
    tokio::pin!(deadline);
    loop {
        let redirect = tokio::select! {
            Some(hit) = hits.recv() => Redirect { params: hit.params, reply: Some(hit.reply) },
            Some(redirect) = incoming.recv() => redirect,
            () = &mut deadline => return Err(TrayError::new("The sign-in timed out; start again.")),
        };
        let code = match callback::judge(&redirect.params, &request.state, redirect.reply.is_some())
        {
            Attempt::Code(code) => code,
            Attempt::WrongState => {
                reply(
                    redirect.reply,
                    Page::failure("This sign-in link belongs to another attempt."),
                );
                show_error(
                    app,
                    "That redirect belongs to another sign-in attempt; use the newest one.",
                );
                continue;
            }
            Attempt::Denied(reason) => {
                reply(
                    redirect.reply,
                    Page::failure(format!("Sign-in was refused: {reason}")),
                );
                show_error(app, &format!("Sign-in was refused ({reason}). Try again."));
                continue;
            }
            Attempt::Invalid(message) => {
                reply(redirect.reply, Page::failure(message.clone()));
                show_error(app, &capitalize(&message));
                continue;
            }
        };
        match oauth::exchange_code(
            upstream,
            &code,
            &request.pkce.code_verifier,
            &request.redirect_uri,
        )
        .await
        {
            Ok(credentials) => {
                let claims = credentials.claims();
                let who = claims
                    .email
                    .clone()
                    .unwrap_or_else(|| credentials.account_id.clone());
                if let Err(err) = auth.replace(credentials).await {
                    reply(
                        redirect.reply,
                        Page::failure("codexia could not store the credentials."),
                    );
                    return Err(TrayError::new(format!(
                        "Signed in, but the credentials could not be stored: {err}"
                    )));
                }
                reply(
                    redirect.reply,
                    Page::success(&format!("Signed in as {who}.")),
                );
                return Ok(who);
            }
            Err(err) => {
                reply(
                    redirect.reply,
                    Page::failure("The sign-in code could not be exchanged."),
                );
                show_error(
                    app,
                    &format!("The sign-in code could not be exchanged ({err}). Try again."),
                );
            }
        }
    }
}

fn reply(to: Option<tokio::sync::oneshot::Sender<Page>>, page: Page) {
    if let Some(to) = to {
        let _ = to.send(page);
    }
}

/// Shows a message in the Sign in window (back on its own page).
fn show_error(app: &Handle, message: &str) {
    tracing::warn!("sign-in: {message}");
    super::windows::send(
        app,
        WindowKind::SignIn.label(),
        ToWindow::Navigate {
            url: super::ipc::sign_in_error_url(message),
        },
    );
}
