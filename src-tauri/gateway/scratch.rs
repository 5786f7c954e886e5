//! The tokenizer's scratch space handed back once counting pauses (issue 15 point 2).
//!
//! Each count that ran at the same time as another leaves a scratch space behind (the
//! pre-tokenizer's search cache and the counts of recent pieces, about 1.5 MB after a long
//! text; `translate::count_tokens::release_tokenizer_scratch`). A burst of long requests thus
//! left several megabytes for the life of the process. After every count the gateway notes the
//! time ([`counted`]); once no count has ended for [`PAUSE`], one timer frees what is left.
//!
//! One timer per pause, not a periodic tick: an idle gateway wakes for nothing. A Claude Code
//! turn that follows after the pause starts with cold caches, which costs its count little:
//! the memo still knows every text seen before, so only the new texts are tokenized
//! (docs/performance.md has the figures).

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::translate::count_tokens::release_tokenizer_scratch;

/// How long counting must pause before its scratch space is freed: longer than the gaps
/// within a burst of requests, shorter than a person's wait for the next answer.
const PAUSE: Duration = Duration::from_secs(1);

/// When the process started counting time for [`LAST_COUNT_MS`].
static START: LazyLock<Instant> = LazyLock::new(Instant::now);
/// Milliseconds after [`START`] at which the last count ended.
static LAST_COUNT_MS: AtomicU64 = AtomicU64::new(0);
/// Whether a timer is waiting for the pause.
static ARMED: AtomicBool = AtomicBool::new(false);

/// Notes that a count has ended, and makes sure a timer will free the scratch space once
/// counting pauses. Call it from within the runtime.
pub(crate) fn counted() {
    LAST_COUNT_MS.store(elapsed_ms(), Ordering::Relaxed);
    if !ARMED.swap(true, Ordering::AcqRel) {
        tokio::spawn(free_after_pause());
    }
}

fn elapsed_ms() -> u64 {
    u64::try_from(START.elapsed().as_millis()).unwrap_or(u64::MAX)
}

async fn free_after_pause() {
    let pause_ms = u64::try_from(PAUSE.as_millis()).unwrap_or(u64::MAX);
    loop {
        let since = elapsed_ms().saturating_sub(LAST_COUNT_MS.load(Ordering::Relaxed));
        if since >= pause_ms {
            break;
        }
        tokio::time::sleep(Duration::from_millis(pause_ms - since)).await;
    }
    // Disarmed first: a count that ends from now on arms the next timer. Scratch in use by a
    // count still running is not freed; it is given back when that count ends.
    ARMED.store(false, Ordering::Release);
    let freed = release_tokenizer_scratch();
    tracing::debug!(freed, "freed the tokenizer's scratch space after a pause");
}
