//! Several queries read in step: each returns rows led by the same key columns, in Postgres's
//! order of that key, and each step takes from every query the rows up to the last key of at
//! least N rows of the first. The windowed plan reads a window of roots and every row they
//! reach this way, on the source's snapshot.

use std::cmp::Ordering;

use futures::StreamExt;

use super::{PostgresSource, RowBatches, Rows, SourceError, TableShape, Value};

/// A query of [`InStep`]: `sql` returns rows typed by `shape`, whose first columns are the key.
pub struct StepQuery {
    pub sql: String,
    pub shape: TableShape,
}

/// One query's rows, each led by its key.
struct Stream {
    batches: RowBatches,
    /// The batch being read: its rows from `start` to `at` are taken, from `at` on not yet.
    batch: Rows,
    start: usize,
    at: usize,
    done: bool,
    /// The rows taken since the last step.
    taken: Vec<Rows>,
}

impl Stream {
    fn new(batches: RowBatches) -> Self {
        Stream {
            batches,
            batch: Rows::default(),
            start: 0,
            at: 0,
            done: false,
            taken: Vec::new(),
        }
    }

    async fn peek(&mut self) -> Result<Option<&[Value]>, SourceError> {
        while self.at == self.batch.len() && !self.done {
            self.cut();
            match self.batches.next().await {
                Some(batch) => (self.batch, self.start, self.at) = (batch?, 0, 0),
                None => self.done = true,
            }
        }
        Ok((self.at < self.batch.len()).then(|| &self.batch[self.at]))
    }

    /// Takes the row [`Stream::peek`] gave.
    fn take(&mut self) {
        self.at += 1;
    }

    /// Moves the rows taken from the batch to `taken`: the batch itself when they are all of
    /// it, else a copy of them.
    fn cut(&mut self) {
        if self.start == self.at {
            return;
        }
        if self.start == 0 && self.at == self.batch.len() {
            self.taken.push(std::mem::take(&mut self.batch));
            (self.start, self.at) = (0, 0);
            return;
        }
        let mut rows = Rows::with_capacity(self.batch.width(), self.at - self.start);
        for r in self.start..self.at {
            rows.push(self.batch.row_mut(r).iter_mut().map(std::mem::take));
        }
        self.taken.push(rows);
        self.start = self.at;
    }

    /// The rows taken since the last step.
    fn step(&mut self) -> Vec<Rows> {
        self.cut();
        std::mem::take(&mut self.taken)
    }
}

/// Postgres's order of keys read as whole numbers or as text collated `"C"`: whole numbers by
/// value, text byte by byte, NULL last.
fn pg_cmp(a: &[Value], b: &[Value]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x, y) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Greater,
            (_, Value::Null) => Ordering::Less,
            (Value::Int(x), Value::Int(y)) => x.cmp(y),
            (Value::Text(x), Value::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
            _ => unreachable!("keys are read as whole numbers or text"),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// One step: the first query's rows (at least N, more only to finish a key), and every other
/// query's rows up to the same key, in the order of the queries; each query's rows as the
/// batches they came in, every row still led by its key.
pub struct Step {
    pub first: Vec<Rows>,
    pub others: Vec<Vec<Rows>>,
}

/// Queries whose rows are led by `key_len` key columns (whole numbers, or text collated `"C"`,
/// each query ordered by them), read in step.
pub struct InStep {
    streams: Vec<Stream>,
    key_len: usize,
}

impl InStep {
    /// Starts every query, each on a connection of its own reading `source`'s snapshot; the
    /// connections are made at once.
    ///
    /// # Errors
    /// A connection that cannot be made or a query Postgres refuses.
    pub async fn open(
        source: &PostgresSource,
        queries: Vec<StepQuery>,
        key_len: usize,
    ) -> Result<Self, SourceError> {
        let streams = futures::future::try_join_all(queries.into_iter().map(|query| async {
            let batches = source.query_rows(query.sql, query.shape).await?;
            Ok::<_, SourceError>(Stream::new(batches))
        }))
        .await?;
        Ok(InStep { streams, key_len })
    }

    /// The next step of at least `size` rows of the first query; `None` once it has no more.
    ///
    /// # Errors
    /// A query that fails as it is read.
    pub async fn next(&mut self, size: usize) -> Result<Option<Step>, SourceError> {
        let n = self.key_len;
        let Some((first_stream, others)) = self.streams.split_first_mut() else {
            return Ok(None);
        };
        let mut taken = 0;
        let mut last: Option<Vec<Value>> = None;
        while let Some(row) = first_stream.peek().await? {
            let at = &row[..n];
            let boundary = last
                .as_deref()
                .is_some_and(|l| pg_cmp(l, at) != Ordering::Equal);
            if taken >= size && boundary {
                break;
            }
            if boundary || last.is_none() {
                last = Some(at.to_vec());
            }
            first_stream.take();
            taken += 1;
        }
        let Some(high) = last else {
            return Ok(None);
        };
        let first = first_stream.step();
        // Every other query's rows up to the step's last key, each decoded on a task of its own.
        let high = &high;
        let others = futures::future::try_join_all(others.iter_mut().map(|stream| async move {
            while let Some(row) = stream.peek().await? {
                if pg_cmp(&row[..n], high) == Ordering::Greater {
                    break;
                }
                stream.take();
            }
            Ok::<_, SourceError>(stream.step())
        }))
        .await?;
        Ok(Some(Step { first, others }))
    }
}
