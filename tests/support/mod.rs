//! Test support: the fake remote side and helpers that run the real `codexia` binary.
#![allow(dead_code, unreachable_pub)]

pub mod codexia;
pub mod fake_backend;
pub mod harness;
pub mod snapshot;
pub mod tray;

/// Whether a session-only resource is there. Without it a test says it is skipped and
/// returns — except under `make test`'s session (`CODEXIA_TEST_REQUIRE_SESSION=1`), where a
/// missing resource is a failure, so CI cannot pass by skipping.
pub fn session_resource(available: bool, what: &str) -> bool {
    if !available {
        assert!(
            std::env::var("CODEXIA_TEST_REQUIRE_SESSION").as_deref() != Ok("1"),
            "{what} is missing inside the test session (scripts/in-session.sh)"
        );
        eprintln!("skipped: {what} is missing (run `make test`, which provides it)");
    }
    available
}

/// An unlocked Secret Service (gnome-keyring) on the session bus.
pub fn secret_service_available() -> bool {
    session_resource(
        std::env::var("CODEXIA_TEST_SECRET_SERVICE").as_deref() == Ok("1"),
        "an unlocked Secret Service",
    )
}
