//! Rows side by side: the values of a table's rows in a few large buffers, row after row.

use std::ops::Index;

use super::Value;

/// The most rows a buffer of [`Rows`] holds: a source hands rows over in batches of this
/// many (the last batch of a table may hold fewer), a whole number of buffers, so a table's
/// rows take over the batches' buffers whole.
pub const CHUNK_ROWS: usize = 1024;

/// The bytes of values a buffer holds at most when its rows are wide: buffers this small are
/// reused as soon as they are freed, so windows of rows come and go without the allocator
/// holding on to memory.
const CHUNK_BYTES: usize = 64 * 1024;

/// Rows of one table (or one query), each its values in column order, held a power of two
/// rows to a buffer (up to [`CHUNK_ROWS`], fewer when rows are wide): a row costs no
/// allocation of its own, a row's values sit next to the following row's, and growing never
/// copies the rows already held.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    width: usize,
    /// A buffer holds `1 << shift` rows.
    shift: u32,
    len: usize,
    /// Every buffer but the last is full.
    chunks: Vec<Vec<Value>>,
}

impl Default for Rows {
    fn default() -> Self {
        Rows::new(0)
    }
}

impl Rows {
    /// No rows yet, each to hold `width` values.
    pub fn new(width: usize) -> Self {
        let fits = CHUNK_BYTES / (width.max(1) * std::mem::size_of::<Value>());
        let rows = fits.clamp(1, CHUNK_ROWS);
        Rows {
            width,
            // The largest power of two not above `rows`.
            shift: rows.ilog2(),
            len: 0,
            chunks: Vec::new(),
        }
    }

    /// No rows yet, with room for `rows` of `width` values (up to a buffer's).
    pub fn with_capacity(width: usize, rows: usize) -> Self {
        let mut made = Rows::new(width);
        let rows = rows.min(made.chunk_rows());
        made.chunks.push(Vec::with_capacity(width * rows));
        made
    }

    fn chunk_rows(&self) -> usize {
        1 << self.shift
    }

    /// The values in each row.
    pub fn width(&self) -> usize {
        self.width
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether every buffer is full: the next row starts a new one.
    fn full(&self) -> bool {
        self.len == self.chunks.len() << self.shift
    }

    /// Appends a row made of `values`, which must be exactly [`Rows::width`] many.
    pub fn push(&mut self, values: impl IntoIterator<Item = Value>) {
        if self.full() {
            // The first buffer grows as rows come, so a small table stays small.
            let room = if self.chunks.is_empty() {
                0
            } else {
                self.chunk_rows()
            };
            self.chunks.push(Vec::with_capacity(self.width * room));
        }
        let chunk = self.chunks.last_mut().expect("a buffer with room");
        let before = chunk.len();
        chunk.extend(values);
        let pushed = chunk.len() - before;
        assert_eq!(
            pushed, self.width,
            "a row of {pushed} values among rows of {}",
            self.width
        );
        self.len += 1;
    }

    /// Moves every row of `other` (of the same width) after these: its buffers are taken over
    /// whole when these fill theirs, else its rows are moved one by one.
    pub fn append(&mut self, other: &mut Rows) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            *self = std::mem::take(other);
            return;
        }
        assert_eq!(self.width, other.width, "rows of two widths in one table");
        if self.full() {
            self.chunks.append(&mut other.chunks);
            self.len += std::mem::take(&mut other.len);
        } else {
            for r in 0..other.len {
                self.push(other.row_mut(r).iter_mut().map(std::mem::take));
            }
            *other = Rows::new(other.width);
        }
    }

    /// Each row's values, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[Value]> + Clone + '_ {
        (0..self.len).map(|r| &self[r])
    }

    /// Row `r`'s values, to move out of it (what is moved out leaves NULL behind).
    pub fn row_mut(&mut self, r: usize) -> &mut [Value] {
        assert!(r < self.len, "row {r} of {}", self.len);
        let at = (r & (self.chunk_rows() - 1)) * self.width;
        &mut self.chunks[r >> self.shift][at..at + self.width]
    }
}

impl Index<usize> for Rows {
    type Output = [Value];

    fn index(&self, r: usize) -> &[Value] {
        assert!(r < self.len, "row {r} of {}", self.len);
        let at = (r & (self.chunk_rows() - 1)) * self.width;
        &self.chunks[r >> self.shift][at..at + self.width]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(from: i64, count: usize) -> Rows {
        let mut rows = Rows::new(2);
        for i in from..from + count as i64 {
            rows.push([Value::Int(i), Value::Text(i.to_string().into())]);
        }
        rows
    }

    fn firsts(rows: &Rows) -> Vec<i64> {
        rows.iter()
            .map(|row| match row[0] {
                Value::Int(i) => i,
                _ => panic!("not a number"),
            })
            .collect()
    }

    #[test]
    fn rows_read_back_as_they_were_pushed_across_buffers() {
        let rows = numbered(0, CHUNK_ROWS + 3);
        assert_eq!(rows.len(), CHUNK_ROWS + 3);
        assert_eq!(rows.chunks.len(), 2);
        assert_eq!(
            firsts(&rows),
            (0..CHUNK_ROWS as i64 + 3).collect::<Vec<_>>()
        );
        assert_eq!(
            rows[CHUNK_ROWS + 1],
            [Value::Int(1025), Value::Text("1025".into())]
        );
    }

    #[test]
    fn appended_rows_follow_whether_buffers_are_taken_over_or_rows_moved() {
        // A full buffer takes the other's buffers over whole.
        let mut whole = numbered(0, CHUNK_ROWS);
        let mut more = numbered(5000, 2);
        whole.append(&mut more);
        assert!(more.is_empty());
        assert_eq!(whole.chunks.len(), 2);
        // A part-filled one gets the rows moved.
        let mut part = numbered(0, 3);
        let mut many = numbered(100, CHUNK_ROWS);
        part.append(&mut many);
        assert!(many.is_empty());
        assert_eq!(part.len(), CHUNK_ROWS + 3);
        assert_eq!(part.chunks.len(), 2);
        let expected: Vec<i64> = (0..3).chain(100..100 + CHUNK_ROWS as i64).collect();
        assert_eq!(firsts(&part), expected);
        assert_eq!(
            firsts(&whole),
            [(0..CHUNK_ROWS as i64).collect(), vec![5000, 5001]].concat()
        );
    }

    #[test]
    fn a_value_moved_out_of_a_row_leaves_null() {
        let mut rows = numbered(7, 1);
        assert_eq!(
            std::mem::take(&mut rows.row_mut(0)[1]),
            Value::Text("7".into())
        );
        assert_eq!(rows[0], [Value::Int(7), Value::Null]);
    }

    #[test]
    fn wide_rows_take_fewer_to_a_buffer() {
        // 100 values of 24 bytes: 16 rows fit in 64 KiB (27 would, rounded down to a power of 2).
        let mut rows = Rows::new(100);
        for i in 0..40 {
            rows.push((0..100).map(|c| Value::Int(i * 1000 + c)));
        }
        assert_eq!(rows.chunk_rows(), 16);
        assert_eq!(rows.chunks.len(), 3);
        assert_eq!(rows[37][99], Value::Int(37_099));
        assert_eq!(rows.iter().filter(|row| row.len() == 100).count(), 40);
    }

    #[test]
    fn rows_without_columns_still_count() {
        let mut rows = Rows::new(0);
        rows.push([]);
        rows.push([]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.iter().count(), 2);
        assert!(rows[1].is_empty());
    }
}
