//! Who used the windows: each window's increase in used percent between two consecutive
//! observations is shared among the requests that completed in between (the later one
//! included), in proportion to their [`weight`]. Pure: the writer feeds rows in the order they
//! completed and stores each row's share; queries only add shares up, so the shares of one
//! window always add up to its observed increase.
//!
//! **The weighting** follows what a token costs against the plan, using the API prices of the
//! GPT-5 family as the ratio: an uncached input token counts 1, a cached input token 0.1 (the
//! prompt cache makes it ten times cheaper), an output token — reasoning included, the backend
//! counts reasoning inside `output_tokens` — counts 8. When every request of an interval weighs
//! 0 (failures without usage), the increase is split equally among them.
//!
//! **The increase** of a window between observations `p` and `c`: `c.used − p.used` when both
//! belong to the same window period; when the reset time moved on (by more than
//! [`RESET_TOLERANCE_SECONDS`]) or the used percent fell, a new period began and all of
//! `c.used` is new. A first observation has nothing to compare with and shares nothing.

use super::{WindowKind, WindowObservation};

/// Reset times computed from `reset-after-seconds` wobble by a second or two between answers;
/// a move beyond this means a new window period.
pub(crate) const RESET_TOLERANCE_SECONDS: i64 = 120;

/// Weight of a cached input token relative to an uncached one.
pub(crate) const CACHED_WEIGHT: f64 = 0.1;
/// Weight of an output token relative to an uncached input token.
pub(crate) const OUTPUT_WEIGHT: f64 = 8.0;

/// Requests kept waiting for an observation, at most (answers without rate-limit headers
/// never complete an interval; the oldest are let go).
pub(crate) const MAX_WAITING: usize = 1000;

/// A request's weight in the sharing of a window's increase.
#[expect(
    clippy::cast_precision_loss,
    reason = "token counts are far below 2^52"
)]
pub(crate) fn weight(input: u64, cached: u64, output: u64) -> f64 {
    let cached = cached.min(input);
    (input - cached) as f64 + cached as f64 * CACHED_WEIGHT + output as f64 * OUTPUT_WEIGHT
}

/// The increase from `previous` to `current` (see the module comment).
pub(crate) fn increase(previous: Option<WindowObservation>, current: WindowObservation) -> f64 {
    let Some(previous) = previous else {
        return 0.0;
    };
    let new_period = match (previous.reset_at, current.reset_at) {
        (Some(before), Some(now)) => now - before > RESET_TOLERANCE_SECONDS,
        _ => false,
    } || current.used_percent < previous.used_percent;
    if new_period {
        current.used_percent
    } else {
        current.used_percent - previous.used_percent
    }
}

/// A share of one window given to one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Share<K> {
    pub key: K,
    pub window: WindowKind,
    /// Percentage points of the window.
    pub percent: f64,
}

#[derive(Debug, Clone)]
struct Pending<K> {
    key: K,
    weight: f64,
}

/// The sharing state: the last observation of each window and the requests completed since.
#[derive(Debug, Clone)]
pub(crate) struct Attributor<K> {
    last: [Option<WindowObservation>; 2],
    pending: [Vec<Pending<K>>; 2],
}

impl<K> Default for Attributor<K> {
    fn default() -> Self {
        Self {
            last: [None, None],
            pending: [Vec::new(), Vec::new()],
        }
    }
}

fn slot(window: WindowKind) -> usize {
    match window {
        WindowKind::FiveHour => 0,
        WindowKind::Weekly => 1,
    }
}

impl<K: Clone + PartialEq> Attributor<K> {
    /// Starts from earlier observations (the newest stored ones, after a restart).
    pub(crate) fn resume(
        five_hour: Option<WindowObservation>,
        weekly: Option<WindowObservation>,
    ) -> Self {
        Self {
            last: [five_hour, weekly],
            pending: [Vec::new(), Vec::new()],
        }
    }

    /// A request completed with `weight`, and (per window) what was observed after it.
    /// Answers the shares this completes: of this request and of earlier ones that were
    /// waiting for an observation. Shares of zero are left out.
    pub(crate) fn push(
        &mut self,
        key: &K,
        weight: f64,
        five_hour: Option<WindowObservation>,
        weekly: Option<WindowObservation>,
    ) -> Vec<Share<K>> {
        let mut shares = Vec::new();
        for (window, observed) in [
            (WindowKind::FiveHour, five_hour),
            (WindowKind::Weekly, weekly),
        ] {
            let i = slot(window);
            if self.pending[i].len() >= MAX_WAITING {
                self.pending[i].remove(0);
            }
            self.pending[i].push(Pending {
                key: key.clone(),
                weight: weight.max(0.0),
            });
            let Some(observed) = observed else { continue };
            let grow = increase(self.last[i], observed);
            self.last[i] = Some(observed);
            let waiting = std::mem::take(&mut self.pending[i]);
            if grow <= 0.0 {
                continue;
            }
            let total: f64 = waiting.iter().map(|p| p.weight).sum();
            #[expect(clippy::cast_precision_loss, reason = "a handful of requests")]
            let count = waiting.len() as f64;
            for pending in waiting {
                let part = if total > 0.0 {
                    pending.weight / total
                } else {
                    1.0 / count
                };
                if part > 0.0 {
                    shares.push(Share {
                        key: pending.key,
                        window,
                        percent: grow * part,
                    });
                }
            }
        }
        shares
    }

    /// Renames a request that still waits for an observation (the writer's batch index becomes
    /// the stored row id).
    pub(crate) fn rekey(&mut self, from: &K, to: &K) {
        for pending in self.pending.iter_mut().flatten() {
            if pending.key == *from {
                pending.key = to.clone();
            }
        }
    }

    /// Whether `key` still waits for an observation of some window.
    #[cfg(test)]
    pub(crate) fn is_waiting(&self, key: &K) -> bool {
        self.pending.iter().flatten().any(|p| p.key == *key)
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[expect(
        clippy::unnecessary_wraps,
        reason = "the rows take optional observations"
    )]
    fn obs(used: f64, reset_at: i64) -> Option<WindowObservation> {
        Some(WindowObservation {
            used_percent: used,
            reset_at: Some(reset_at),
        })
    }

    #[test]
    fn the_weighting_counts_cached_input_a_tenth_and_output_eight_times() {
        assert!((weight(1000, 0, 0) - 1000.0).abs() < 1e-9);
        assert!((weight(1000, 1000, 0) - 100.0).abs() < 1e-9);
        assert!((weight(1000, 900, 10) - (100.0 + 90.0 + 80.0)).abs() < 1e-9);
        // More cached than input (a malformed usage) counts as all cached.
        assert!((weight(10, 20, 0) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn increases_follow_the_window_period() {
        let cases = [
            // (previous, current, increase)
            (None, obs(40.0, 1000), 0.0),
            (obs(40.0, 1000), obs(43.0, 1000), 3.0),
            (obs(40.0, 1000), obs(40.0, 1001), 0.0),
            // The reset moved on: a new period, all of it is new.
            (obs(90.0, 1000), obs(2.0, 19000), 2.0),
            // Fell without a known reset time: a new period too.
            (
                Some(WindowObservation {
                    used_percent: 50.0,
                    reset_at: None,
                }),
                Some(WindowObservation {
                    used_percent: 1.0,
                    reset_at: None,
                }),
                1.0,
            ),
        ];
        for (previous, current, expected) in cases {
            let got = increase(previous, current.unwrap());
            assert!(
                (got - expected).abs() < 1e-9,
                "{previous:?} → {current:?}: {got}"
            );
        }
    }

    /// Each case: requests (key, input, cached, output, 5h used after), and the expected share of
    /// each key in the 5h window.
    #[test]
    fn shares_of_one_window_add_up_to_its_observed_increase() {
        type Case = (
            &'static str,
            Vec<(&'static str, u64, u64, u64, Option<f64>)>,
            Vec<(&'static str, f64)>,
        );
        let cases: Vec<Case> = vec![
            (
                "one request per observation takes the whole increase",
                vec![
                    ("a", 100, 0, 0, Some(10.0)),
                    ("b", 100, 0, 0, Some(12.0)),
                    ("a", 100, 0, 0, Some(15.0)),
                ],
                vec![("a", 3.0), ("b", 2.0)],
            ),
            (
                "requests without an observation share the next one by weight",
                vec![
                    ("a", 0, 0, 0, Some(10.0)),
                    ("a", 1000, 0, 0, None),
                    ("b", 2000, 1000, 100, Some(16.0)),
                ],
                // b weighs 1000 + 100 + 800 = 1900 against a's 1000.
                vec![("a", 6.0 * 1000.0 / 2900.0), ("b", 6.0 * 1900.0 / 2900.0)],
            ),
            (
                "weightless failures split the increase equally",
                vec![
                    ("a", 0, 0, 0, Some(10.0)),
                    ("a", 0, 0, 0, None),
                    ("b", 0, 0, 0, Some(14.0)),
                ],
                vec![("a", 2.0), ("b", 2.0)],
            ),
        ];
        for (name, requests, expected) in cases {
            let mut attributor = Attributor::default();
            let mut totals: Vec<(&str, f64)> = Vec::new();
            let mut observed = 0.0;
            let mut last = None;
            for (index, (_key, input, cached, output, used)) in requests.iter().enumerate() {
                let seen = used.and_then(|u| obs(u, 18_000));
                if let Some(seen) = seen {
                    observed += increase(last, seen);
                    last = Some(seen);
                }
                for share in attributor.push(&index, weight(*input, *cached, *output), seen, None) {
                    let who = requests[share.key].0;
                    match totals.iter_mut().find(|(k, _)| *k == who) {
                        Some((_, sum)) => *sum += share.percent,
                        None => totals.push((who, share.percent)),
                    }
                }
            }
            totals.sort_by(|a, b| a.0.cmp(b.0));
            let sum: f64 = totals.iter().map(|(_, p)| p).sum();
            assert!((sum - observed).abs() < 1e-9, "{name}: {sum} vs {observed}");
            assert_eq!(totals.len(), expected.len(), "{name}: {totals:?}");
            for ((key, got), (want_key, want)) in totals.iter().zip(&expected) {
                assert_eq!(key, want_key, "{name}");
                assert!((got - want).abs() < 1e-9, "{name}: {key} {got} vs {want}");
            }
        }
    }

    #[test]
    fn a_waiting_request_can_be_rekeyed() {
        let mut attributor = Attributor::resume(obs(10.0, 5), None);
        assert!(attributor.push(&1, 10.0, None, None).is_empty());
        assert!(attributor.is_waiting(&1));
        attributor.rekey(&1, &100);
        let shares = attributor.push(&2, 10.0, obs(12.0, 5), None);
        assert_eq!(
            shares,
            vec![
                Share {
                    key: 100,
                    window: WindowKind::FiveHour,
                    percent: 1.0
                },
                Share {
                    key: 2,
                    window: WindowKind::FiveHour,
                    percent: 1.0
                }
            ]
        );
        // Still waiting for a weekly observation.
        assert!(attributor.is_waiting(&100));
    }
}
