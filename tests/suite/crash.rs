//! `kill -9` during token refreshes (issue 13, point 2): the built `codexia serve` against the
//! fake issuer, whose refresh tokens rotate and are single-use, with access tokens shorter
//! than the refresh margin so that every request refreshes first.
//!
//! Each round sends one request to a running gateway and kills it with SIGKILL at a point
//! chosen by a seeded generator, synchronised on what the fake observes (no sleeps):
//!
//! - `Held`: the token request reached the issuer, which holds it before processing it;
//! - `Rotated`: the issuer spent the old refresh token and issued a new set, but holds the
//!   answer (the set can never reach codexia: the loss is inherent to single-use tokens);
//! - `Delivered`: the issuer handed the whole answer to the connection (codexia may or may not
//!   have read and stored it when the kill lands);
//! - `InUse`: the backend saw the new access token (codexia stores a set before using it).
//!
//! Then a new gateway starts on the same home and serves one request. Which refresh token is
//! live is known from the fake's ledger (the last one it issued, or the seeded one); whether
//! codexia had it is read from what codexia left behind (the store, a crash's leftover file, the
//! keychain's recovery file). The rules checked after every kill:
//!
//! 1. if codexia kept the live set anywhere, the restarted gateway serves, and its refresh
//!    presents exactly that token (stored or recovered);
//! 2. a set the backend saw in use, and an unspent seeded set, were always kept;
//! 3. otherwise the restart answers 401 with the "sign in again" sentence; such rounds are
//!    counted apart: *inherent* (rotated, never delivered) or *in flight* (delivered, killed
//!    before codexia wrote it — the microseconds between the socket and the disk);
//! 4. no crash leftover (`.auth.json.*.tmp`, a keychain recovery file) remains once the
//!    restarted gateway has served.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::codexia::{Server, TestHome};
use crate::support::fake_backend::{FakeUpstream, Gate, RefreshOutcome};
use crate::support::harness::{home_for, seed_credentials};

/// Rounds per store; the whole file-store run takes well under a minute in a debug build.
const ROUNDS: usize = 50;
/// Access tokens live 30 s, inside codexia's 60 s refresh margin: every request refreshes.
const TOKEN_LIFETIME_SECS: i64 = 30;
/// A safety net for a hung gateway, not a synchronisation device.
const DEADLINE: Duration = Duration::from_secs(60);
const KEYCHAIN_SERVICE: &str = "codexia-crash-test";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KillPoint {
    Held,
    Rotated,
    Delivered,
    InUse,
}

const POINTS: [KillPoint; 4] = [
    KillPoint::Held,
    KillPoint::Rotated,
    KillPoint::Delivered,
    KillPoint::InUse,
];

/// SplitMix64: a seeded, reproducible sequence of kill points (the seed is printed).
struct Points(u64);

impl Points {
    fn next(&mut self) -> KillPoint {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        POINTS[usize::try_from(z % 4).unwrap()]
    }
}

fn seed() -> u64 {
    std::env::var("CODEXIA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(13)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Store {
    File,
    Keychain,
}

/// How each round ended, for the closing line.
#[derive(Default, Debug)]
struct Tally {
    served_unspent: usize,
    served_stored: usize,
    served_recovered: usize,
    inherent: usize,
    in_flight: usize,
}

/// Where codexia kept the live refresh token when it was killed.
#[derive(Debug, PartialEq, Eq)]
enum Kept {
    /// In the store proper (auth.json, or the keychain entry).
    Stored,
    /// Only in what an interrupted save left (a temporary file, the keychain recovery file).
    Leftover,
    Nowhere,
}

fn refresh_token_of(text: &str) -> Option<String> {
    serde_json::from_str::<Value>(text)
        .ok()?
        .get("refresh_token")?
        .as_str()
        .map(str::to_owned)
}

fn names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Files an interrupted save leaves: temporary files of the atomic writer and the keychain
/// store's recovery file.
fn leftovers(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| {
            Path::new(n).extension().is_some_and(|e| e == "tmp") || n.ends_with(".recovery.json")
        })
        .collect()
}

fn keychain_entry(bus: &str) -> Option<String> {
    let output = std::process::Command::new("secret-tool")
        .args(["lookup", "service", KEYCHAIN_SERVICE, "username", "chatgpt"])
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .output()
        .unwrap();
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn kept(store: Store, home: &TestHome, bus: &str, live: &str) -> Kept {
    let dir = home.codexia_home();
    let stored = match store {
        Store::File => std::fs::read_to_string(dir.join("auth.json")).ok(),
        Store::Keychain => keychain_entry(bus),
    };
    if stored.as_deref().and_then(refresh_token_of).as_deref() == Some(live) {
        return Kept::Stored;
    }
    let in_leftover = leftovers(&dir).iter().any(|name| {
        std::fs::read_to_string(dir.join(name))
            .ok()
            .and_then(|text| refresh_token_of(&text))
            .as_deref()
            == Some(live)
    });
    if in_leftover {
        Kept::Leftover
    } else {
        Kept::Nowhere
    }
}

async fn ask(server: &Server) -> (u16, String) {
    let response = tokio::time::timeout(
        DEADLINE,
        reqwest::Client::new()
            .post(server.url("/v1/messages"))
            .header("anthropic-version", "2023-06-01")
            .json(&json!({
                "model": "gpt-5.5",
                "max_tokens": 16,
                "messages": [{"role": "user", "content": "hi"}],
            }))
            .send(),
    )
    .await
    .expect("codexia answered in time")
    .expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

async fn kill(mut server: Server) {
    server.child.start_kill().unwrap();
    tokio::time::timeout(DEADLINE, server.child.wait())
        .await
        .expect("killed in time")
        .unwrap();
}

/// Signs in afresh (after a round lost the sign-in): the seeded refresh token becomes live.
async fn sign_in(store: Store, fake: &FakeUpstream, home: &TestHome) -> String {
    match store {
        Store::File => {
            let tokens = fake.mint_tokens(TOKEN_LIFETIME_SECS);
            seed_credentials(home, &tokens);
            tokens.refresh_token
        }
        Store::Keychain => {
            let (ok, _, stderr) = super::auth::paste_login(home).await;
            assert!(ok, "{stderr}");
            keychain_entry(&bus_of(home))
                .as_deref()
                .and_then(refresh_token_of)
                .expect("the login stored a set in the keychain")
        }
    }
}

fn bus_of(home: &TestHome) -> String {
    home.extra_env()
        .iter()
        .find(|(k, _)| k == "DBUS_SESSION_BUS_ADDRESS")
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Waits for the kill point of this round (`before`: refresh grants processed before it).
async fn reach(point: KillPoint, fake: &FakeUpstream, gate: &Gate, before: usize) {
    match point {
        KillPoint::Held | KillPoint::Rotated => gate.wait_reached().await,
        KillPoint::Delivered => {
            fake.wait_for_refresh_outcomes(|o| o.get(before).is_some_and(|o| o.delivered))
                .await;
        }
        KillPoint::InUse => {
            fake.wait_for_refresh_outcomes(|o| o.get(before).is_some_and(|o| o.issued.is_some()))
                .await;
            let access = fake.refresh_outcomes()[before]
                .issued_access
                .clone()
                .unwrap();
            let bearer = format!("Bearer {access}");
            fake.wait_for(|requests| {
                requests.iter().any(|r| {
                    r.path.starts_with("/backend-api/")
                        && r.header("authorization") == Some(bearer.as_str())
                })
            })
            .await;
        }
    }
}

/// The refresh token the issuer holds as live after `outcomes` (the last one it issued).
fn live_after(outcomes: &[RefreshOutcome], before: &str) -> String {
    outcomes
        .iter()
        .rev()
        .find_map(|o| o.issued.clone())
        .unwrap_or_else(|| before.to_owned())
}

async fn crash_during_refreshes(store: Store) {
    let fake = FakeUpstream::start().await;
    fake.set_token_lifetime(TOKEN_LIFETIME_SECS);
    let mut home = home_for(&fake);
    let mut bus = String::new();
    match store {
        Store::File => home = home.env("CODEXIA_CREDENTIAL_STORE", "file"),
        Store::Keychain => {
            bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").expect("a session bus");
            home = home
                .env("DBUS_SESSION_BUS_ADDRESS", bus.clone())
                .env("CODEXIA_CREDENTIAL_STORE", "keychain")
                .env("CODEXIA_KEYCHAIN_SERVICE", KEYCHAIN_SERVICE);
            let output = home
                .run_with(&["logout"], &[("CODEXIA_BIND", "127.0.0.1:9")])
                .await;
            assert!(output.status.success());
        }
    }
    let mut live = sign_in(store, &fake, &home).await;
    let seed = seed();
    let mut points = Points(seed);
    let mut tallies: [Tally; 4] = Default::default();
    let mut abandoned = 0;
    let mut server = home.serve(&["--bind", "127.0.0.1:0"]).await;

    for round in 0..ROUNDS {
        let point = points.next();
        let context = format!("round {round} (seed {seed}), killed at {point:?}");
        let tally = &mut tallies[POINTS.iter().position(|p| *p == point).unwrap()];
        let before = fake.refresh_outcomes().len();
        let gate = Gate::new();
        match point {
            KillPoint::Held => fake.gate_next_token(gate.clone()),
            KillPoint::Rotated => fake.gate_next_token_response(gate.clone()),
            KillPoint::Delivered | KillPoint::InUse => {}
        }
        let url = server.url("/v1/messages");
        let request = tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .header("anthropic-version", "2023-06-01")
                .json(&json!({
                    "model": "gpt-5.5",
                    "max_tokens": 16,
                    "messages": [{"role": "user", "content": "hi"}],
                }))
                .send()
                .await
        });
        tokio::time::timeout(DEADLINE, reach(point, &fake, &gate, before))
            .await
            .unwrap_or_else(|_| panic!("{context}: the kill point was never reached"));
        kill(server).await;

        // What the issuer and the backend had seen when codexia died.
        let outcomes = fake.refresh_outcomes()[before..].to_vec();
        let recorded = fake.requests();
        let previous = live.clone();
        live = live_after(&outcomes, &previous);
        let delivered = outcomes
            .iter()
            .any(|o| o.issued.as_deref() == Some(live.as_str()) && o.delivered);
        let used = outcomes
            .iter()
            .filter(|o| o.issued.as_deref() == Some(live.as_str()))
            .filter_map(|o| o.issued_access.as_deref())
            .any(|access| {
                let bearer = format!("Bearer {access}");
                recorded
                    .iter()
                    .any(|r| r.header("authorization") == Some(bearer.as_str()))
            });
        let where_kept = kept(store, &home, &bus, &live);

        // A request held before processing dies with its client, unprocessed (as at the real
        // issuer); one held after processing is let go into the closed connection.
        match point {
            KillPoint::Held => {
                abandoned += 1;
                tokio::time::timeout(DEADLINE, fake.wait_for_abandoned_token_requests(abandoned))
                    .await
                    .unwrap_or_else(|_| panic!("{context}: the held request outlived its client"));
            }
            KillPoint::Rotated => gate.release(),
            KillPoint::Delivered | KillPoint::InUse => {}
        }
        let _ = request.await;

        if live == previous || used {
            assert_ne!(
                where_kept,
                Kept::Nowhere,
                "{context}: codexia lost a set it had (unspent seed, or used at the backend)"
            );
        }
        let restart_from = fake.refresh_outcomes().len();
        server = home.serve(&["--bind", "127.0.0.1:0"]).await;
        let (status, body) = ask(&server).await;
        if where_kept == Kept::Nowhere {
            assert_eq!(status, 401, "{context}: {body}");
            assert!(body.contains("Run `codexia login`"), "{context}: {body}");
            if delivered {
                tally.in_flight += 1;
            } else {
                tally.inherent += 1;
            }
            live = sign_in(store, &fake, &home).await;
        } else {
            assert_eq!(status, 200, "{context}: kept {where_kept:?} but: {body}");
            let restarted = fake.refresh_outcomes();
            assert_eq!(
                restarted[restart_from].presented, live,
                "{context}: the restarted gateway refreshed from another set"
            );
            match (live == previous, &where_kept) {
                (true, _) => tally.served_unspent += 1,
                (false, Kept::Stored) => tally.served_stored += 1,
                (false, _) => tally.served_recovered += 1,
            }
            live = live_after(&restarted[restart_from..], &live);
        }
        assert_eq!(
            leftovers(&home.codexia_home()),
            Vec::<String>::new(),
            "{context}: leftovers after the restart"
        );
    }
    server.terminate().await;
    let mut total = 0;
    for (point, tally) in POINTS.iter().zip(&tallies) {
        eprintln!("kill -9 at {point:?}: {tally:?}");
        total += tally.served_unspent
            + tally.served_stored
            + tally.served_recovered
            + tally.inherent
            + tally.in_flight;
    }
    eprintln!(
        "({ROUNDS} rounds, seed {seed}; served_*: the restart served; inherent: rotated, never \
         delivered; in_flight: delivered, killed before codexia wrote it)"
    );
    assert_eq!(total, ROUNDS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_fifty_refreshes_never_loses_a_set_that_reached_the_file_store() {
    crash_during_refreshes(Store::File).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_fifty_refreshes_never_loses_a_set_that_reached_the_keychain_store() {
    if !crate::support::secret_service_available() {
        return;
    }
    crash_during_refreshes(Store::Keychain).await;
}
