//! Several queries read in step: each returns rows led by the same key columns, in Postgres's
//! order of that key, and each step takes from every query the rows up to the last key of at
//! least N rows of the first. The windowed plan reads a window of roots and every row they
//! reach this way, on the source's snapshot.

use std::cmp::Ordering;
use std::collections::VecDeque;

use futures::StreamExt;

use super::{PostgresSource, Row, RowBatches, SourceError, TableShape, Value};

/// A query of [`InStep`]: `sql` returns rows typed by `shape`, whose first columns are the key.
pub struct StepQuery {
    pub sql: String,
    pub shape: TableShape,
}

/// One query's rows, each led by its key.
struct Stream {
    batches: RowBatches,
    buffer: VecDeque<Row>,
    done: bool,
}

impl Stream {
    async fn peek(&mut self) -> Result<Option<&Row>, SourceError> {
        while self.buffer.is_empty() && !self.done {
            match self.batches.next().await {
                Some(batch) => self.buffer.extend(batch?),
                None => self.done = true,
            }
        }
        Ok(self.buffer.front())
    }

    /// The next row, without its key.
    fn take(&mut self, key_len: usize) -> Row {
        let mut row = self.buffer.pop_front().expect("a row was peeked");
        row.values.drain(..key_len);
        row
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
/// query's rows up to the same key, in the order of the queries; keys taken off.
pub struct Step {
    pub first: Vec<Row>,
    pub others: Vec<Vec<Row>>,
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
            Ok::<_, SourceError>(Stream {
                batches: source.query_rows(query.sql, query.shape).await?,
                buffer: VecDeque::new(),
                done: false,
            })
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
        let mut first = Vec::new();
        let mut last: Option<Vec<Value>> = None;
        while let Some(row) = first_stream.peek().await? {
            let at = &row.values[..n];
            let boundary = last
                .as_deref()
                .is_some_and(|l| pg_cmp(l, at) != Ordering::Equal);
            if first.len() >= size && boundary {
                break;
            }
            last = Some(at.to_vec());
            first.push(first_stream.take(n));
        }
        let Some(high) = last else {
            return Ok(None);
        };
        // Every other query's rows up to the step's last key, each decoded on a task of its own.
        let high = &high;
        let others = futures::future::try_join_all(others.iter_mut().map(|stream| async move {
            let mut taken = Vec::new();
            while let Some(row) = stream.peek().await? {
                if pg_cmp(&row.values[..n], high) == Ordering::Greater {
                    break;
                }
                taken.push(stream.take(n));
            }
            Ok::<_, SourceError>(taken)
        }))
        .await?;
        Ok(Some(Step { first, others }))
    }
}
