//! The call scheduler: write requests go out in BatchWriteItem calls of up to 25, many in
//! flight, each call paced by the table's governor, and what DynamoDB does not take comes back
//! here rather than to the call it came in: a request sent back unprocessed waits (exponential
//! backoff, full jitter) while the calls after it go on, so a throttled key holds back its own
//! items and nothing else.
//!
//! Hot keys have lanes of their own: a lane's items leave at the key's own rate, a governor
//! per key that starts at DynamoDB's 1,000 WCU/s per partition and then follows what the key
//! accepts. A lane is fed from the start of the load, so a key that sets the load's lower
//! bound is busy from the first second while the rest of the table goes at the table's pace.
//! Refusals in a lane slow that lane only (the item waits its backoff, then goes back to the
//! lane's front), and the table's governor gets back the pace they took; other refusals slow
//! the table's governor.
//!
//! An item refused again and again for [`MAX_THROTTLED`] stops the load, as does one whose
//! calls failed (5xx, a timeout, a dropped connection) `max_attempts` times in a row, and any
//! refusal of the request itself. On a stop no call starts; the calls in flight are awaited and what they
//! wrote is reported.
//!
//! Calls go through [`Writer`]: the SDK client is the real one, and the tests below put a
//! scripted stand-in there, on tokio's paused clock.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::governor::Governor;
use super::send::{
    backoff, rejected, Answer, Writer, FAILED_MAX_DELAY, MAX_BATCH_BYTES, MAX_BATCH_ITEMS,
    THROTTLED_MAX_DELAY,
};
use super::SinkError;

/// How long an item may be refused (UnprocessedItems, or a throttling error) without a
/// break before it stops the load.
pub const MAX_THROTTLED: Duration = Duration::from_secs(300);

/// What a request is, for messages: `TYPE pk sk`.
pub trait Label {
    fn label(&self) -> String;
}

/// A write request waiting to be written, with what the scheduler keeps about it.
pub struct Pending<T> {
    /// The request in the wire format: `{"PutRequest":{"Item":{…}}}` or
    /// `{"DeleteRequest":{"Key":{…}}}`.
    request: String,
    /// Write capacity it takes in the table.
    wcu: f64,
    /// The lane it goes through, and the capacity it takes on the lane's key.
    lane: Option<(u64, f64)>,
    tag: T,
    refused: u32,
    /// When the refusals in a row began.
    refused_since: Option<Instant>,
    failed: u32,
}

impl<T> Pending<T> {
    /// A request of `wcu` for the table, through the lane of key `lane` (with what it takes
    /// on that key) once that key is paced.
    pub fn new(request: String, wcu: f64, lane: Option<(u64, f64)>, tag: T) -> Self {
        Pending {
            request,
            wcu,
            lane,
            tag,
            refused: 0,
            refused_since: None,
            failed: 0,
        }
    }
}

/// What one call came to.
pub struct Done<T> {
    /// The requests it wrote.
    pub accepted: Vec<T>,
    /// The requests DynamoDB sent back unprocessed; each waits to be sent again.
    pub unprocessed: Vec<T>,
    /// Whether the whole call was throttled or failed, its requests waiting to be sent again.
    pub retried: bool,
    /// The reasons DynamoDB gave for throttling the call, as `REASON on RESOURCE`.
    pub reasons: Vec<String>,
}

/// How the scheduler sends.
pub struct Settings {
    pub table: String,
    /// The table's governor: every call waits for it.
    pub governor: Governor,
    /// Calls in a row that may fail with a retryable error before the load stops.
    pub max_attempts: u32,
    /// Calls in flight at once.
    pub in_flight: usize,
    /// The table's key attributes: how a request sent back unprocessed is told apart when its
    /// text is not the one sent.
    pub key_names: Vec<String>,
}

/// A key's lane: its governor and its items in order.
struct Lane<T> {
    governor: Governor,
    queue: VecDeque<Pending<T>>,
}

/// An item waiting out its backoff, earliest first.
struct Waiting<T> {
    at: Instant,
    seq: u64,
    item: Pending<T>,
    /// Whether it goes back to its lane (refused there) rather than to the front.
    to_lane: bool,
}

impl<T> PartialEq for Waiting<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<T> Eq for Waiting<T> {}
impl<T> PartialOrd for Waiting<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Waiting<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A call in flight comes back with its id, its requests and its answer.
type Flown = (u64, Vec<String>, Result<Answer, SinkError>);

/// Sends requests through `W` until each is written or the load stops.
pub struct Scheduler<W, T> {
    writer: W,
    settings: Settings,
    table: Arc<str>,
    /// New requests, in the order given.
    fresh: VecDeque<Pending<T>>,
    /// Requests whose wait is over, or released by their lane: they go first.
    ready: VecDeque<Pending<T>>,
    waiting: BinaryHeap<Reverse<Waiting<T>>>,
    lanes: HashMap<u64, Lane<T>>,
    calls: FuturesUnordered<JoinHandle<Flown>>,
    /// The requests of each call in flight (their text travels with the call).
    flying: HashMap<u64, Vec<Pending<T>>>,
    next_id: u64,
    throttles: u64,
    error: Option<SinkError>,
    stopping: bool,
}

impl<W, T> Scheduler<W, T>
where
    W: Writer + Clone + Send + Sync + 'static,
    T: Label + Clone,
{
    pub fn new(writer: W, settings: Settings) -> Self {
        Scheduler {
            writer,
            table: Arc::from(settings.table.as_str()),
            settings,
            fresh: VecDeque::new(),
            ready: VecDeque::new(),
            waiting: BinaryHeap::new(),
            lanes: HashMap::new(),
            calls: FuturesUnordered::new(),
            flying: HashMap::new(),
            next_id: 0,
            throttles: 0,
            error: None,
            stopping: false,
        }
    }

    /// Gives key `key` a lane paced from `rate` WCU/s (a key that has one keeps it).
    pub fn pace(&mut self, key: u64, rate: f64) {
        self.lanes.entry(key).or_insert_with(|| Lane {
            governor: self.settings.governor.for_key(rate),
            queue: VecDeque::new(),
        });
    }

    /// Adds a request: to its key's lane when the key is paced, else after the others.
    pub fn push(&mut self, item: Pending<T>) {
        match item.lane.and_then(|(key, _)| self.lanes.get_mut(&key)) {
            Some(lane) => lane.queue.push_back(item),
            None => self.fresh.push_back(item),
        }
    }

    /// New requests not yet sent (lanes' not counted).
    pub fn backlog(&self) -> usize {
        self.fresh.len()
    }

    /// Requests held: not sent yet, waiting, or in a lane.
    pub fn held(&self) -> usize {
        self.fresh.len()
            + self.ready.len()
            + self.waiting.len()
            + self.lanes.values().map(|l| l.queue.len()).sum::<usize>()
    }

    /// Throttled calls and calls with requests sent back unprocessed, so far.
    pub fn throttles(&self) -> u64 {
        self.throttles
    }

    /// Stops the load with `error`: no call starts; the calls in flight still report.
    pub fn stop(&mut self, error: SinkError) {
        self.stopping = true;
        self.error.get_or_insert(error);
    }

    /// Sends what can be sent and waits for the next call to come back: what it came to, or
    /// (once, after the calls in flight) the error that stopped the load. `None` when nothing
    /// is left to send (or the load stopped and every call is back).
    pub async fn next(&mut self) -> Option<Result<Done<T>, SinkError>> {
        loop {
            let now = Instant::now();
            self.release(now);
            if !self.stopping {
                while self.calls.len() < self.settings.in_flight {
                    let Some(items) = self.assemble() else { break };
                    self.launch(items);
                }
            }
            if self.calls.is_empty() {
                if let Some(error) = self.error.take() {
                    return Some(Err(error));
                }
                if self.stopping {
                    return None;
                }
                match self.earliest() {
                    Some(at) => {
                        tokio::time::sleep_until(at).await;
                        continue;
                    }
                    None => return None,
                }
            }
            let wake = if self.stopping || self.calls.len() >= self.settings.in_flight {
                None
            } else {
                self.earliest()
            };
            tokio::select! {
                Some(joined) = self.calls.next() => return Some(Ok(self.settle(joined))),
                () = sleep_until(wake), if wake.is_some() => {}
            }
        }
    }

    /// Moves requests whose wait is over, and those their lane lets go, to the front.
    fn release(&mut self, now: Instant) {
        while self.waiting.peek().is_some_and(|w| w.0.at <= now) {
            let Reverse(waiting) = self.waiting.pop().expect("peeked");
            let lane = waiting.item.lane.filter(|_| waiting.to_lane);
            match lane.and_then(|(key, _)| self.lanes.get_mut(&key)) {
                Some(lane) => lane.queue.push_front(waiting.item),
                None => self.ready.push_back(waiting.item),
            }
        }
        for lane in self.lanes.values_mut() {
            while let Some(item) = lane.queue.front() {
                let wcu = lane_wcu(item);
                if lane.governor.take_now(now, wcu, ahead(wcu)).is_err() {
                    break;
                }
                self.ready
                    .push_back(lane.queue.pop_front().expect("a front"));
            }
        }
    }

    /// When the next request waiting (for its backoff or its lane) may go.
    fn earliest(&self) -> Option<Instant> {
        let now = Instant::now();
        let lanes = self.lanes.values().filter_map(|lane| {
            let wcu = lane_wcu(lane.queue.front()?);
            Some(lane.governor.free_at(ahead(wcu)).unwrap_or(now))
        });
        self.waiting
            .peek()
            .map(|w| w.0.at)
            .into_iter()
            .chain(lanes)
            .min()
    }

    /// The next call's requests: those ready first, then new ones, up to the call's limits.
    fn assemble(&mut self) -> Option<Vec<Pending<T>>> {
        let mut items = Vec::new();
        let mut bytes = 0;
        while items.len() < MAX_BATCH_ITEMS {
            let source = if self.ready.is_empty() {
                &mut self.fresh
            } else {
                &mut self.ready
            };
            let Some(next) = source.front() else { break };
            if bytes + next.request.len() > MAX_BATCH_BYTES && !items.is_empty() {
                break;
            }
            bytes += next.request.len();
            items.push(source.pop_front().expect("a front"));
        }
        (!items.is_empty()).then_some(items)
    }

    fn launch(&mut self, mut items: Vec<Pending<T>>) {
        let id = self.next_id;
        self.next_id += 1;
        let requests: Vec<String> = items
            .iter_mut()
            .map(|item| std::mem::take(&mut item.request))
            .collect();
        let wcu: f64 = items.iter().map(|item| item.wcu).sum();
        self.flying.insert(id, items);
        let (writer, table, governor) = (
            self.writer.clone(),
            self.table.clone(),
            self.settings.governor.clone(),
        );
        // A task of its own, so calls are built, signed and sent on every core of the runtime.
        self.calls.push(tokio::spawn(async move {
            governor.acquire(wcu).await;
            let answer = writer.call(&table, &requests).await;
            (id, requests, answer)
        }));
    }

    /// Takes a call's answer: what was written is reported, the rest waits to go again.
    fn settle(&mut self, joined: Result<Flown, tokio::task::JoinError>) -> Done<T> {
        let mut done = Done {
            accepted: Vec::new(),
            unprocessed: Vec::new(),
            retried: false,
            reasons: Vec::new(),
        };
        let (id, requests, answer) = match joined {
            Ok(flown) => flown,
            Err(e) => {
                self.stop(SinkError::Other(format!("a write task failed: {e}")));
                return done;
            }
        };
        let mut items = self.flying.remove(&id).expect("a call in flight");
        for (item, request) in items.iter_mut().zip(requests) {
            item.request = request;
        }
        let first = items[0].tag.label();
        let answer = match answer {
            Ok(answer) => answer,
            Err(fatal) => {
                self.stop(rejected(fatal, &self.settings.table, &first));
                return done;
            }
        };
        let now = Instant::now();
        let refused: Vec<bool> = match &answer {
            Answer::Done(unprocessed) => match self.which(&items, unprocessed) {
                Ok(refused) => refused,
                Err(error) => {
                    self.stop(error);
                    return done;
                }
            },
            Answer::Throttled(reasons) => {
                done.reasons = reasons.clone();
                done.retried = true;
                vec![true; items.len()]
            }
            Answer::Failed(what) => {
                done.retried = true;
                self.failed(items, what, &first, now);
                return done;
            }
        };
        if refused.contains(&true) {
            self.throttles += 1;
        }
        let lane_refused = items
            .iter()
            .zip(&refused)
            .any(|(item, &refused)| refused && self.lane_of(item).is_some());
        let key_fault = lane_refused && self.key_fault(&answer, &items, &refused, now);
        let (mut accepted_wcu, mut refused_wcu) = (0.0, 0.0);
        let mut over = 0;
        for (mut item, refused) in items.into_iter().zip(refused) {
            let lane = self.lane_of(&item);
            if !refused {
                accepted_wcu += item.wcu;
                if let Some((key, wcu)) = lane {
                    self.lanes[&key].governor.record(wcu, 0.0);
                }
                done.accepted.push(item.tag);
                continue;
            }
            if matches!(answer, Answer::Done(_)) {
                done.unprocessed.push(item.tag.clone());
            }
            item.failed = 0;
            item.refused += 1;
            let since = *item.refused_since.get_or_insert(now);
            if now - since > MAX_THROTTLED {
                over += 1;
            }
            let at = now + backoff(item.refused, THROTTLED_MAX_DELAY);
            match lane {
                Some((key, wcu)) if key_fault => {
                    self.lanes[&key].governor.record(0.0, wcu);
                    self.settings.governor.refund(now, item.wcu);
                    self.wait(item, at, true);
                }
                Some((key, _)) => {
                    self.lanes[&key].governor.bounced();
                    refused_wcu += item.wcu;
                    self.wait(item, at, true);
                }
                None => {
                    refused_wcu += item.wcu;
                    self.wait(item, at, false);
                }
            }
        }
        self.settings.governor.record(accepted_wcu, refused_wcu);
        if over > 0 {
            self.stop(SinkError::Unprocessed {
                table: self.settings.table.clone(),
                left: over,
                seconds: MAX_THROTTLED.as_secs(),
            });
        }
        done
    }

    /// The lane `item` goes through, with what it takes on the lane's key, when its key is
    /// paced.
    fn lane_of(&self, item: &Pending<T>) -> Option<(u64, f64)> {
        item.lane.filter(|(key, _)| self.lanes.contains_key(key))
    }

    /// Whether the lane items a call had refused were refused for their key rather than for
    /// the table's capacity. A throttling error says why; items sent back unprocessed do not,
    /// so they count as the key's only while the table takes the rest: no other item of the
    /// call refused, and the table not refusing lately.
    fn key_fault(
        &self,
        answer: &Answer,
        items: &[Pending<T>],
        refused: &[bool],
        now: Instant,
    ) -> bool {
        if let Answer::Throttled(reasons) = answer {
            if !reasons.is_empty() {
                return reasons.iter().any(|r| r.contains("KeyRange"));
            }
        }
        let others_refused = items
            .iter()
            .zip(refused)
            .any(|(item, &refused)| refused && self.lane_of(item).is_none());
        !others_refused && !self.settings.governor.refusing(now)
    }

    /// A call that failed: its requests wait to go again, unless one has failed too often.
    fn failed(&mut self, items: Vec<Pending<T>>, what: &str, first: &str, now: Instant) {
        let attempts = items.iter().map(|item| item.failed + 1).max().unwrap_or(1);
        if attempts >= self.settings.max_attempts {
            self.stop(SinkError::GaveUp {
                table: self.settings.table.clone(),
                key: first.to_string(),
                attempts,
                last: what.to_string(),
            });
        }
        tracing::debug!(table = %self.table, what, attempts, "retrying a failed call");
        for mut item in items {
            item.failed += 1;
            let at = now + backoff(item.failed, FAILED_MAX_DELAY);
            self.wait(item, at, false);
        }
    }

    fn wait(&mut self, item: Pending<T>, at: Instant, to_lane: bool) {
        let seq = self.next_id;
        self.next_id += 1;
        self.waiting.push(Reverse(Waiting {
            at,
            seq,
            item,
            to_lane,
        }));
    }

    /// Which of a call's requests came back unprocessed: by their text, or (where the text
    /// differs from what was sent) by their key.
    fn which(&self, items: &[Pending<T>], unprocessed: &[String]) -> Result<Vec<bool>, SinkError> {
        let mut refused = vec![false; items.len()];
        let mut unmatched = Vec::new();
        for request in unprocessed {
            match (0..items.len()).find(|&i| !refused[i] && items[i].request == *request) {
                Some(i) => refused[i] = true,
                None => unmatched.push(request),
            }
        }
        for request in unmatched {
            let key = request_key(request, &self.settings.key_names);
            let found = (0..items.len()).find(|&i| {
                !refused[i]
                    && key.is_some()
                    && request_key(&items[i].request, &self.settings.key_names) == key
            });
            match found {
                Some(i) => refused[i] = true,
                None => {
                    let shown: String = request.chars().take(200).collect();
                    return Err(SinkError::Other(format!(
                        "table {}: DynamoDB sent back as unprocessed a request that was not in the call ({shown}); the load stopped; rerun the same command to resume",
                        self.settings.table
                    )));
                }
            }
        }
        Ok(refused)
    }
}

/// What an item takes on its lane's key.
fn lane_wcu<T>(item: &Pending<T>) -> f64 {
    item.lane.map_or(item.wcu, |(_, wcu)| wcu)
}

/// How far ahead of its pace a lane lets items of `wcu` go: a call's worth, so its items fill
/// calls rather than go one per call.
fn ahead(wcu: f64) -> f64 {
    MAX_BATCH_ITEMS as f64 * wcu
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// The values of `names` in a request's item (or key), when it has them all.
fn request_key(request: &str, names: &[String]) -> Option<Vec<serde_json::Value>> {
    if names.is_empty() {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(request).ok()?;
    let attributes = value
        .pointer("/PutRequest/Item")
        .or_else(|| value.pointer("/DeleteRequest/Key"))?;
    names.iter().map(|n| attributes.get(n).cloned()).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;

    /// A stand-in for DynamoDB that gives scripted answers, in turn (then accepts everything),
    /// and records each call's requests and (paused-clock) time.
    #[derive(Clone, Default)]
    struct Scripted(Arc<Mutex<(Vec<Answer>, Vec<Call>)>>);

    /// A call's requests and when it was made.
    type Call = (Vec<String>, Instant);

    impl Scripted {
        fn new(answers: Vec<Answer>) -> Self {
            Scripted(Arc::new(Mutex::new((
                answers.into_iter().rev().collect(),
                Vec::new(),
            ))))
        }

        fn calls(&self) -> Vec<Call> {
            self.0.lock().unwrap().1.clone()
        }
    }

    impl Writer for Scripted {
        async fn call(&self, _table: &str, requests: &[String]) -> Result<Answer, SinkError> {
            let mut state = self.0.lock().unwrap();
            state.1.push((requests.to_vec(), Instant::now()));
            Ok(state.0.pop().unwrap_or(Answer::Done(Vec::new())))
        }
    }

    impl Label for String {
        fn label(&self) -> String {
            self.clone()
        }
    }

    fn scheduler(writer: &Scripted, in_flight: usize) -> Scheduler<Scripted, String> {
        Scheduler::new(
            writer.clone(),
            Settings {
                table: "t".into(),
                governor: Governor::new(None),
                max_attempts: 3,
                in_flight,
                key_names: Vec::new(),
            },
        )
    }

    fn push(scheduler: &mut Scheduler<Scripted, String>, names: &[&str], lane: Option<(u64, f64)>) {
        for name in names {
            scheduler.push(Pending::new(name.to_string(), 1.0, lane, name.to_string()));
        }
    }

    /// Runs the scheduler to its end: the requests written (in order), those sent back
    /// unprocessed, and the error that stopped it.
    async fn run(
        scheduler: &mut Scheduler<Scripted, String>,
    ) -> (Vec<String>, Vec<String>, Option<String>) {
        let (mut written, mut unprocessed, mut error) = (Vec::new(), Vec::new(), None);
        while let Some(done) = scheduler.next().await {
            match done {
                Ok(done) => {
                    written.extend(done.accepted);
                    unprocessed.extend(done.unprocessed);
                }
                Err(e) => error = Some(e.to_string()),
            }
        }
        (written, unprocessed, error)
    }

    /// The most the wait before the `attempt`-th retry of a throttled request may be.
    fn ceiling(attempt: u32) -> Duration {
        Duration::from_millis(50)
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(THROTTLED_MAX_DELAY)
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_sent_back_waits_while_the_rest_goes_on() {
        let names: Vec<String> = (0..30).map(|i| format!("r{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let writer = Scripted::new(vec![Answer::Done(vec!["r3".into()])]);
        let mut scheduler = scheduler(&writer, 1);
        push(&mut scheduler, &names, None);
        let (mut written, unprocessed, error) = run(&mut scheduler).await;
        assert_eq!((unprocessed, error), (vec!["r3".to_string()], None));
        written.sort();
        let mut all: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        all.sort();
        assert_eq!(written, all, "each written once");
        let calls = writer.calls();
        assert_eq!(calls[0].0.len(), 25);
        assert!(
            calls[1].0.ends_with(
                &names[25..]
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
            ),
            "the next call takes the new requests: {:?}",
            calls[1].0
        );
        let again = calls
            .iter()
            .skip(1)
            .find(|(r, _)| r.contains(&"r3".to_string()));
        assert!(again.unwrap().1 - calls[0].1 <= ceiling(1));
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_backs_off_under_a_doubling_ceiling_then_stops() {
        let writer = Scripted::new(vec![Answer::Throttled(Vec::new()); 10_000]);
        let mut scheduler = scheduler(&writer, 4);
        push(&mut scheduler, &["a"], None);
        let (written, _, error) = run(&mut scheduler).await;
        assert!(written.is_empty());
        assert_eq!(
            error.unwrap(),
            "table t: 1 item still throttled after 300 s of retries; lower --max-wcu or raise the table's capacity, then rerun the same command to resume"
        );
        let calls = writer.calls();
        let took = calls.last().unwrap().1 - calls[0].1;
        assert!(
            took > MAX_THROTTLED && took < MAX_THROTTLED + THROTTLED_MAX_DELAY,
            "{took:?}"
        );
        let waits: Vec<Duration> = calls.windows(2).map(|p| p[1].1 - p[0].1).collect();
        for (i, waited) in waits.iter().enumerate() {
            assert!(
                *waited <= ceiling(i as u32 + 1),
                "retry {}: {waited:?}",
                i + 1
            );
        }
        // Full jitter spreads the waits under the ceiling: not all near it, not all near zero.
        let late = &waits[10..];
        assert!(late.iter().any(|w| *w < THROTTLED_MAX_DELAY / 2));
        assert!(late.iter().any(|w| *w > THROTTLED_MAX_DELAY / 2));
    }

    #[tokio::test(start_paused = true)]
    async fn failed_calls_stop_the_load_after_max_attempts_in_a_row() {
        let writer = Scripted::new(vec![
            Answer::Failed("HTTP 500 InternalServerError".into()),
            Answer::Done(vec!["a".into()]),
            Answer::Failed("HTTP 500 InternalServerError".into()),
            Answer::Failed("no answer in time".into()),
            Answer::Failed("HTTP 503 ServiceUnavailable".into()),
        ]);
        let mut scheduler = scheduler(&writer, 1);
        push(&mut scheduler, &["a"], None);
        let (written, unprocessed, error) = run(&mut scheduler).await;
        assert_eq!((written, unprocessed), (vec![], vec!["a".to_string()]));
        assert_eq!(
            error.unwrap(),
            "table t: a batch (first item a) failed 3 calls in a row, the last with HTTP 503 ServiceUnavailable; the load stopped; rerun the same command to resume from the checkpoint"
        );
        assert_eq!(writer.calls().len(), 5, "an accepted call resets the count");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hot_key_goes_at_its_own_rate_and_the_rest_at_once() {
        let writer = Scripted::default();
        let mut scheduler = scheduler(&writer, 4);
        scheduler.pace(7, 100.0);
        let hot: Vec<String> = (0..50).map(|i| format!("h{i:02}")).collect();
        let cold: Vec<String> = (0..50).map(|i| format!("c{i:02}")).collect();
        push(
            &mut scheduler,
            &hot.iter().map(String::as_str).collect::<Vec<_>>(),
            Some((7, 1.0)),
        );
        push(
            &mut scheduler,
            &cold.iter().map(String::as_str).collect::<Vec<_>>(),
            None,
        );
        let start = Instant::now();
        let (written, _, error) = run(&mut scheduler).await;
        assert_eq!((written.len(), error), (100, None));
        let sent_at = |name: &str| {
            writer
                .calls()
                .iter()
                .find(|(r, _)| r.iter().any(|x| x == name))
                .map(|(_, at)| *at - start)
                .unwrap()
        };
        for name in &cold {
            assert!(sent_at(name) < Duration::from_millis(20), "{name}");
        }
        // 100 WCU/s: one item of 1 WCU every 10 ms, a call's worth (25) let go ahead.
        for (i, name) in hot.iter().enumerate() {
            let at = sent_at(name).as_secs_f64();
            assert!(at >= (i as f64 - 25.0) * 0.01 - 1e-6, "{name} at {at}");
        }
        assert!(sent_at("h49") <= Duration::from_millis(250));
        let hot_calls = writer
            .calls()
            .iter()
            .filter(|(r, _)| r.iter().any(|x| x.starts_with('h')))
            .count();
        assert!(
            hot_calls <= 26,
            "calls filled, not one per item: {hot_calls}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_lane_item_sent_back_is_the_key_s_fault_only_while_the_table_takes_the_rest() {
        let writer = Scripted::default();
        let mut scheduler = scheduler(&writer, 1);
        scheduler.pace(7, 100.0);
        let items = vec![
            Pending::new("h".into(), 1.0, Some((7, 1.0)), "h".to_string()),
            Pending::new("c".into(), 1.0, None, "c".to_string()),
        ];
        let now = Instant::now();
        let sent_back = Answer::Done(Vec::new());
        assert!(scheduler.key_fault(&sent_back, &items, &[true, false], now));
        assert!(!scheduler.key_fault(&sent_back, &items, &[true, true], now));
        let key = Answer::Throttled(vec!["TableWriteKeyRangeThroughputExceeded on t".into()]);
        assert!(scheduler.key_fault(&key, &items, &[true, true], now));
        let table = Answer::Throttled(vec!["TableWriteProvisionedThroughputExceeded on t".into()]);
        assert!(!scheduler.key_fault(&table, &items, &[true, true], now));
        // The table refused most of what it was sent lately: its capacity, not the key.
        scheduler.settings.governor.record(10.0, 90.0);
        assert!(!scheduler.key_fault(&sent_back, &items, &[true, false], now));
    }
}
