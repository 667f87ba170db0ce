//! The write-capacity governor: spaces BatchWriteItem calls so consumed capacity stays within
//! `--max-wcu`, and slows down on its own when DynamoDB throttles, then speeds up again.
//!
//! Pacing is a virtual clock (GCRA): a call of `w` WCU may start at `next` and moves `next` on by
//! `w / rate` seconds, so over any window the calls started never exceed `rate × window` plus one
//! call. Without a budget the rate is unlimited until the table pushes back.
//!
//! Once a second the governor looks at the last [`WINDOW`]: when the table turned away more than
//! half of the capacity asked for (throttling errors and items sent back unprocessed), it was
//! offered far more than it takes, so the rate drops to a little above what it accepted. When it
//! refused some, the table is at its capacity: the rate rises by [`RISE`] a second but stays
//! within [`OVER`] times what the table takes, so the table is kept full and its growth (an
//! on-demand table doubling) shows as refusals stopping. When it refused none, the rate rises by
//! [`FAST_RISE`] a second, up to the budget (or back to unlimited). Throttles that do not come
//! from the rate (a hot partition, a blip) do not starve the load.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The measuring window of sent, accepted and refused capacity.
const WINDOW: Duration = Duration::from_secs(2);
/// The share of capacity asked for and refused above which the rate drops.
const HEAVY: f64 = 0.5;
/// The same for a hot key's lane: a key's refusals are capacity sent for nothing (and, under a
/// budget, budget spent for nothing), so its lane keeps them few.
const KEY_HEAVY: f64 = 0.1;
/// How much a key's rate rises in a second while none of its writes has been refused.
const KEY_FREE_RISE: f64 = 2.0;
/// The share of its rate a key's lane must be sending at (unless held back by its pace) for
/// the rate to rise.
const KEY_BUSY: f64 = 0.8;
/// How much the rate rises in a second with some throttling, and with none.
const RISE: f64 = 1.05;
const FAST_RISE: f64 = 1.25;
/// The share refused at or below which the table is taken to have room to spare.
const LIGHT: f64 = 0.02;
/// How far above what the table takes the rate goes while it refuses some.
const OVER: f64 = 1.25;
/// The share of a budget the governor paces at: any window may hold one call beyond the pace,
/// and this margin keeps that call inside the budget too.
const BUDGET_SHARE: f64 = 0.99;
/// The lowest rate the governor drops to, in WCU/s.
const FLOOR: f64 = 5.0;

/// Shared by every task that writes (clones share one state); cheap to call from many at once.
#[derive(Clone)]
pub struct Governor {
    budget: Option<f64>,
    /// Whether it paces a hot key rather than a table.
    key: bool,
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
    /// Whether a key's lane has had any of its writes refused: until then the key has shown
    /// no limit (DynamoDB splits a hot partition by sort key), and its rate rises by [`KEY_FREE_RISE`] a second.
    limited: bool,
    /// Whether a send waited for the pace since the last look.
    held: bool,
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

    /// Amount over the last second.
    fn last_second(&self, now: Instant) -> f64 {
        let second = Duration::from_secs(1);
        self.0
            .iter()
            .rev()
            .take_while(|(t, _)| now.duration_since(*t) < second)
            .map(|(_, w)| w)
            .sum()
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
            key: false,
            state: Arc::new(Mutex::new(State {
                rate: budget,
                next: now,
                last_look: now,
                sent: Window::default(),
                accepted: Window::default(),
                refused: Window::default(),
                throttles: 0,
                limited: false,
                held: false,
            })),
        }
    }

    /// A hot key's governor beside this table's: it paces at `rate` WCU/s from the start,
    /// then follows what the key accepts, dropping as soon as a tenth of what it sends is
    /// refused, and rising only while the key is sent at its pace or held back by it (never to
    /// no pace at all): by [`KEY_FREE_RISE`] a second until a first refusal shows the key's
    /// limit, then by [`RISE`]. Under a budget it rises by [`RISE`] from the start: refusals
    /// found by rising fast would be budget spent for nothing.
    pub fn for_key(&self, rate: f64) -> Self {
        let governor = Governor::new(None);
        let key = Governor {
            key: true,
            ..governor
        };
        {
            let mut state = key.state.lock().expect("governor lock");
            state.rate = Some(rate);
            state.limited = self.budget.is_some();
        }
        key
    }

    /// Books a send of `wcu` at `now` when the pace allows one now, or up to `ahead` WCU
    /// ahead of it; else says when it will.
    pub fn take_now(&self, now: Instant, wcu: f64, ahead: f64) -> Result<(), Instant> {
        let mut state = self.state.lock().expect("governor lock");
        if let Some(rate) = state.rate {
            let slack = Duration::from_secs_f64(ahead / rate);
            if state.next > now + slack {
                state.held = true;
                return Err(state.next - slack);
            }
            state.next = state.next.max(now) + Duration::from_secs_f64(wcu / rate);
        }
        state.sent.add(now, wcu);
        Ok(())
    }

    /// A key's write was refused for the table's capacity rather than the key's: the table
    /// is full, so the key's rate rises slowly from now on.
    pub fn bounced(&self) {
        self.state.lock().expect("governor lock").limited = true;
    }

    /// Gives back the pace of `wcu` sent and refused for a reason of its own (a hot key), so
    /// the table's pace is spent on what DynamoDB takes. Not under a budget: pace given back
    /// late is spent in a later window, which could then take more than the budget.
    pub fn refund(&self, now: Instant, wcu: f64) {
        if self.budget.is_some() {
            return;
        }
        let mut state = self.state.lock().expect("governor lock");
        if let Some(rate) = state.rate {
            state.next = (state.next - Duration::from_secs_f64(wcu / rate)).max(now);
        }
    }

    /// When the next send may start, `ahead` WCU ahead of the pace, when the governor paces
    /// at all.
    pub fn free_at(&self, ahead: f64) -> Option<Instant> {
        let state = self.state.lock().expect("governor lock");
        state
            .rate
            .map(|rate| state.next - Duration::from_secs_f64(ahead / rate))
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
            state.adjust(now, self.budget, self.key);
        }
    }

    /// Whether the table refused more than a tenth of what it was sent over the last window.
    pub fn refusing(&self, now: Instant) -> bool {
        let state = self.state.lock().expect("governor lock");
        let refused = state.refused.rate(now);
        refused > KEY_HEAVY * (state.accepted.rate(now) + refused)
    }

    /// Throttle events seen so far.
    pub fn throttles(&self) -> u64 {
        self.state.lock().expect("governor lock").throttles
    }
}

impl State {
    /// The once-a-second look: drop to what the table accepts, or rise.
    fn adjust(&mut self, now: Instant, budget: Option<f64>, key: bool) {
        let accepted = self.accepted.rate(now);
        let refused = self.refused.rate(now);
        let heavy = if key { KEY_HEAVY } else { HEAVY };
        if refused > heavy * (accepted + refused) {
            let rate = (accepted * RISE).max(FLOOR);
            self.rate = Some(budget.map_or(rate, |b| rate.min(b)));
            tracing::debug!(rate, accepted, refused, "throttled: slowing down");
            return;
        }
        let Some(rate) = self.rate else { return };
        if key {
            self.limited |= refused > 0.0;
            let busy =
                std::mem::take(&mut self.held) || self.sent.last_second(now) >= KEY_BUSY * rate;
            if busy {
                let rise = if self.limited { RISE } else { KEY_FREE_RISE };
                self.rate = Some(rate * rise + FLOOR);
            }
            return;
        }
        let risen = if refused > LIGHT * (accepted + refused) {
            // At the table's capacity: offer a little more than it takes, to see it grow.
            (rate * RISE + FLOOR).min(accepted * OVER)
        } else {
            rate * FAST_RISE + FLOOR
        };
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

    /// Runs `seconds` seconds of a table that takes `capacity` WCU/s against calls sent at
    /// the governor's rate (10,000 WCU/s when unlimited), in 10 ms steps; returns the rate
    /// after each second.
    fn table(governor: &Governor, start: Instant, seconds: u64, capacity: f64) -> Vec<f64> {
        (1..=seconds * 100)
            .filter_map(|tick| {
                let at = start + Duration::from_millis(10 * tick);
                let sent = rate(governor).unwrap_or(10_000.0) / 100.0;
                let taken = sent.min(capacity / 100.0);
                governor.reserve(at, sent);
                governor.record_at(at, taken, sent - taken);
                (tick % 100 == 0).then(|| rate(governor).unwrap_or(f64::MAX))
            })
            .collect()
    }

    #[test]
    fn at_capacity_the_table_is_kept_full_and_its_growth_followed() {
        let governor = Governor::new(None);
        let start = Instant::now();
        let rates = table(&governor, start, 10, 2000.0);
        // After the first drop the table is offered at least what it takes, and at most a
        // quarter more (so few calls are sent for nothing).
        for rate in &rates[2..] {
            assert!((2000.0..=2000.0 * OVER * 1.01).contains(rate), "{rates:?}");
        }
        // The table doubles: within 4 s the rate offers it all of its new capacity.
        let later = table(&governor, start + Duration::from_secs(10), 4, 4000.0);
        assert!(later[3] >= 4000.0, "{rates:?} then {later:?}");
    }

    #[test]
    fn a_key_rises_fast_until_refused_then_stays_near_what_it_takes() {
        let start = Instant::now();
        let free = Governor::new(None).for_key(1000.0);
        let rates = table(&free, start, 4, f64::MAX);
        assert!(rates[3] >= 8_000.0, "{rates:?}");
        let limited = Governor::new(None).for_key(1000.0);
        let rates = table(&limited, start, 12, 1500.0);
        // After the first refusals: within a fifth of what the key takes, no doubling again.
        for rate in &rates[4..] {
            assert!((1500.0 * 0.95..=1500.0 * 1.2).contains(rate), "{rates:?}");
        }
    }

    #[test]
    fn item_sizes_round_up_to_whole_kilobytes() {
        assert_eq!(wcu(1), 1.0);
        assert_eq!(wcu(1024), 1.0);
        assert_eq!(wcu(1025), 2.0);
        assert_eq!(wcu(0), 1.0);
    }
}
