//! The write-capacity governor: spaces BatchWriteItem calls so consumed capacity stays within
//! `--max-wcu`, and slows down on its own when DynamoDB throttles, then speeds up again.
//!
//! Pacing is a virtual clock (GCRA): a call of `w` WCU may start at `next` and moves `next` on by
//! `w / rate` seconds, so over any window the calls started never exceed `rate × window` plus one
//! call. Without a budget the rate is unlimited until the table pushes back.
//!
//! Once a second the governor looks at the last [`WINDOW`]: when the table turned away more than
//! half of the capacity asked for (throttling errors and items sent back unprocessed), it was
//! offered far more than it takes, so the rate drops to a little above what it accepted; else the
//! rate rises by [`RISE`] a second, up to the budget (or back to unlimited). A table pinned at its
//! capacity is so kept full while at most half the calls bounce; throttles that do not come from
//! the rate (a hot partition, a blip) do not starve the load.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The measuring window of sent, accepted and refused capacity.
const WINDOW: Duration = Duration::from_secs(2);
/// The share of capacity asked for and refused above which the rate drops.
const HEAVY: f64 = 0.5;
/// How much the rate rises in a second without heavy throttling.
const RISE: f64 = 1.05;
/// The share of a budget the governor paces at: any window may hold one call beyond the pace,
/// and this margin keeps that call inside the budget too.
const BUDGET_SHARE: f64 = 0.99;
/// The lowest rate the governor drops to, in WCU/s.
const FLOOR: f64 = 5.0;

/// Shared by every task that writes (clones share one state); cheap to call from many at once.
#[derive(Clone)]
pub struct Governor {
    budget: Option<f64>,
    state: Arc<Mutex<State>>,
}

struct State {
    rate: Option<f64>,
    next: Instant,
    last_look: Instant,
    /// WCU sent, accepted and refused (throttled) over the last [`WINDOW`].
    sent: Window,
    accepted: Window,
    refused: Window,
    throttles: u64,
}

/// Amounts over a sliding window, and their rate.
#[derive(Default)]
struct Window(VecDeque<(Instant, f64)>);

impl Window {
    fn add(&mut self, now: Instant, amount: f64) {
        self.0.push_back((now, amount));
        while self
            .0
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > WINDOW)
        {
            self.0.pop_front();
        }
    }

    /// Amount per second over the window (over at least one second, so a burst is no rate).
    fn rate(&self, now: Instant) -> f64 {
        let Some((first, _)) = self.0.front() else {
            return 0.0;
        };
        let span = now.duration_since(*first).as_secs_f64().max(1.0);
        self.0.iter().map(|(_, w)| w).sum::<f64>() / span
    }
}

impl Governor {
    /// A governor held to `budget` WCU per second, or unlimited until throttled.
    pub fn new(budget: Option<f64>) -> Self {
        let now = Instant::now();
        let budget = budget.map(|b| b * BUDGET_SHARE);
        Governor {
            budget,
            state: Arc::new(Mutex::new(State {
                rate: budget,
                next: now,
                last_look: now,
                sent: Window::default(),
                accepted: Window::default(),
                refused: Window::default(),
                throttles: 0,
            })),
        }
    }

    /// Waits until a call consuming `wcu` may start.
    pub async fn acquire(&self, wcu: f64) {
        let wait = self.reserve(Instant::now(), wcu);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Books a call of `wcu` at `now`; returns how long it must wait to start.
    fn reserve(&self, now: Instant, wcu: f64) -> Duration {
        let mut state = self.state.lock().expect("governor lock");
        state.sent.add(now, wcu);
        match state.rate {
            None => Duration::ZERO,
            Some(rate) => {
                let start = state.next.max(now);
                state.next = start + Duration::from_secs_f64(wcu / rate);
                start - now
            }
        }
    }

    /// A call came back: the table accepted `accepted` WCU of it and refused `refused` WCU
    /// (a throttling error, or items sent back unprocessed).
    pub fn record(&self, accepted: f64, refused: f64) {
        self.record_at(Instant::now(), accepted, refused);
    }

    fn record_at(&self, now: Instant, accepted: f64, refused: f64) {
        let mut state = self.state.lock().expect("governor lock");
        state.accepted.add(now, accepted);
        state.refused.add(now, refused);
        if refused > 0.0 {
            state.throttles += 1;
        }
        if now.duration_since(state.last_look) >= Duration::from_secs(1) {
            state.last_look = now;
            state.adjust(now, self.budget);
        }
    }

    /// Throttle events seen so far.
    pub fn throttles(&self) -> u64 {
        self.state.lock().expect("governor lock").throttles
    }
}

impl State {
    /// The once-a-second look: drop to what the table accepts, or rise.
    fn adjust(&mut self, now: Instant, budget: Option<f64>) {
        let accepted = self.accepted.rate(now);
        let refused = self.refused.rate(now);
        if refused > HEAVY * (accepted + refused) {
            let rate = (accepted * RISE).max(FLOOR);
            self.rate = Some(budget.map_or(rate, |b| rate.min(b)));
            tracing::debug!(rate, accepted, refused, "throttled: slowing down");
            return;
        }
        let Some(rate) = self.rate else { return };
        let risen = rate * RISE + FLOOR;
        self.rate = match budget {
            Some(budget) => Some(risen.min(budget)),
            None if risen > 2.0 * self.sent.rate(now).max(FLOOR) => None,
            None => Some(risen),
        };
    }
}

/// Write capacity units an item of `bytes` consumes: one per started KB.
pub fn wcu(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(governor: &Governor) -> Option<f64> {
        governor.state.lock().unwrap().rate
    }

    #[test]
    fn a_budget_spaces_the_calls() {
        let governor = Governor::new(Some(100.0 / BUDGET_SHARE));
        let now = Instant::now();
        let waits: Vec<f64> = (0..11)
            .map(|_| governor.reserve(now, 25.0).as_secs_f64())
            .collect();
        // 11 calls of 25 WCU at 100 WCU/s: each starts 0.25 s after the one before.
        assert_eq!(waits[0], 0.0);
        assert!((waits[10] - 2.5).abs() < 1e-6, "{waits:?}");
        // Later calls start from the booked clock, not from now.
        let later = now + Duration::from_secs(1);
        assert!((governor.reserve(later, 10.0).as_secs_f64() - 1.75).abs() < 1e-6);
    }

    /// Feeds `seconds` seconds of calls of 100 WCU every 10 ms (10,000 WCU/s offered) of
    /// which the table accepts `accepted` per call; returns the rate after each second.
    fn feed(governor: &Governor, start: Instant, seconds: u64, accepted: f64) -> Vec<Option<f64>> {
        (1..=seconds * 100)
            .filter_map(|tick| {
                let at = start + Duration::from_millis(10 * tick);
                governor.reserve(at, 100.0);
                governor.record_at(at, accepted, 100.0 - accepted);
                (tick % 100 == 0).then(|| rate(governor))
            })
            .collect()
    }

    #[test]
    fn heavy_throttling_drops_to_what_the_table_accepts_then_rises_again() {
        let governor = Governor::new(None);
        let start = Instant::now();
        // The table takes 1,000 WCU/s of the 10,000 offered.
        let rates = feed(&governor, start, 3, 10.0);
        assert_eq!(rates[0], Some(1050.0), "{rates:?}");
        assert_eq!(governor.throttles(), 300);
        // Then the table takes everything: the rate rises by 5% (+5) a second.
        let later = feed(&governor, start + Duration::from_secs(3), 2, 100.0);
        let after = rates.last().unwrap().unwrap();
        assert!(later[1].unwrap() > after, "{rates:?} then {later:?}");
    }

    #[test]
    fn light_throttling_does_not_slow_the_load_and_the_budget_caps_the_rise() {
        let governor = Governor::new(None);
        // 30% refused, whatever the rate: not the rate's fault.
        assert_eq!(feed(&governor, Instant::now(), 3, 70.0), [None, None, None]);
        let budgeted = Governor::new(Some(2000.0 / BUDGET_SHARE));
        let rates = feed(&budgeted, Instant::now(), 3, 10.0);
        assert_eq!(rates[0], Some(1050.0));
        let rates = feed(
            &budgeted,
            Instant::now() + Duration::from_secs(3),
            30,
            100.0,
        );
        assert_eq!(rates.last().unwrap(), &Some(2000.0), "{rates:?}");
    }

    #[test]
    fn item_sizes_round_up_to_whole_kilobytes() {
        assert_eq!(wcu(1), 1.0);
        assert_eq!(wcu(1024), 1.0);
        assert_eq!(wcu(1025), 2.0);
        assert_eq!(wcu(0), 1.0);
    }
}
