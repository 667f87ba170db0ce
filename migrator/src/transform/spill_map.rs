//! Counts by a 64-bit key that a windowed plan keeps for every key it meets (write units per
//! partition key, the state of every source row): held in a hash map up to a bound, then
//! spilled to a sorted run on disk and the map emptied, so memory stays flat however many keys
//! there are. Reading them back merges the runs and combines each key's values into one.

use std::io;
use std::path::Path;

use foldhash::HashMap;

use super::spill::Runs;

/// Keys a spilling map holds before it writes them out: its table is then under 2 MB.
const SPILL_AT: usize = 16_384;

/// A value counted per key: combined with another count of the same key, and written to disk.
pub trait Count: Default {
    /// Adds `other`, a count of the same key made elsewhere.
    fn combine(&mut self, other: Self);
    /// The value as bytes.
    fn encode(&self, out: &mut Vec<u8>);
    /// The value back from [`Count::encode`]'s bytes.
    fn decode(bytes: &[u8]) -> io::Result<Self>;
}

/// Counts by key, in memory or spilling to sorted runs in a folder.
pub struct SpillMap<V> {
    map: HashMap<u64, V>,
    runs: Option<Runs>,
}

impl<V: Count> SpillMap<V> {
    /// A map that never leaves memory.
    pub fn in_memory() -> Self {
        SpillMap {
            map: HashMap::default(),
            runs: None,
        }
    }

    /// A map that spills to runs named `{prefix}-{n}` in `dir`.
    pub fn spilling(dir: &Path, prefix: &str) -> Self {
        SpillMap {
            map: HashMap::default(),
            runs: Some(Runs::new(dir, prefix, 3)),
        }
    }

    /// Whether the map spills.
    pub fn spills(&self) -> bool {
        self.runs.is_some()
    }

    /// The count of `key`, to add to; the map spills first when it is full.
    ///
    /// # Errors
    /// A run that cannot be written.
    pub fn entry(&mut self, key: u64) -> io::Result<&mut V> {
        let full = self.map.len() >= SPILL_AT && self.map.len() == self.map.capacity();
        if full && self.runs.is_some() && !self.map.contains_key(&key) {
            self.spill()?;
        }
        Ok(self.map.entry(key).or_default())
    }

    /// Writes the map as a run sorted by key and empties it (keeping its table).
    fn spill(&mut self) -> io::Result<()> {
        let Some(runs) = &mut self.runs else {
            return Ok(());
        };
        let mut entries: Vec<(u64, V)> = self.map.drain().collect();
        entries.sort_unstable_by_key(|(key, _)| *key);
        let encoded: Vec<([u8; 8], Vec<u8>)> = entries
            .iter()
            .map(|(key, value)| {
                let mut bytes = Vec::new();
                value.encode(&mut bytes);
                (key.to_be_bytes(), bytes)
            })
            .collect();
        runs.write(
            encoded
                .iter()
                .map(|(key, value)| vec![key.as_slice(), &[], value.as_slice()]),
        )
    }

    /// Every key once, with its values combined, to `each`: in no set order when the map never
    /// spilled, else in key order.
    ///
    /// # Errors
    /// A run that cannot be written or read.
    pub fn finish(mut self, mut each: impl FnMut(u64, V)) -> io::Result<()> {
        let spilled = self.runs.as_ref().is_some_and(|runs| !runs.is_empty());
        if !spilled {
            self.map
                .into_iter()
                .for_each(|(key, value)| each(key, value));
            return Ok(());
        }
        self.spill()?;
        let Some(runs) = self.runs.take() else {
            return Ok(());
        };
        let mut current: Option<(u64, V)> = None;
        for record in runs.merge()? {
            let (_, fields) = record?;
            let key: [u8; 8] = fields[0]
                .as_slice()
                .try_into()
                .map_err(|_| io::Error::other("a spilled key is not 8 bytes"))?;
            let key = u64::from_be_bytes(key);
            let value = V::decode(&fields[2])?;
            match &mut current {
                Some((k, v)) if *k == key => v.combine(value),
                _ => {
                    if let Some((k, v)) = current.replace((key, value)) {
                        each(k, v);
                    }
                }
            }
        }
        if let Some((k, v)) = current {
            each(k, v);
        }
        Ok(())
    }
}

/// Reads a little-endian `u64` at `at` of `bytes`.
pub fn u64_at(bytes: &[u8], at: usize) -> io::Result<u64> {
    bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| io::Error::other("a spilled count is cut short"))
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Count for u64 {
        fn combine(&mut self, other: Self) {
            *self += other;
        }
        fn encode(&self, out: &mut Vec<u8>) {
            out.extend(self.to_le_bytes());
        }
        fn decode(bytes: &[u8]) -> io::Result<Self> {
            u64_at(bytes, 0)
        }
    }

    fn count(map: &mut SpillMap<u64>, keys: impl Iterator<Item = u64>) {
        for key in keys {
            *map.entry(key).unwrap() += 1;
        }
    }

    fn finished(map: SpillMap<u64>) -> Vec<(u64, u64)> {
        let mut all = Vec::new();
        map.finish(|k, v| all.push((k, v))).unwrap();
        all.sort_unstable();
        all
    }

    #[test]
    fn a_spilling_map_counts_what_one_in_memory_counts() {
        // Three passes over more keys than the map holds: every key spills several times.
        let keys = || (0..3u64).flat_map(|_| (0..250_000u64).map(|k| k.wrapping_mul(0x9e37_79b9)));
        let dir = tempfile::tempdir().unwrap();
        let mut spilling = SpillMap::spilling(dir.path(), "counts");
        count(&mut spilling, keys());
        let runs = std::fs::read_dir(dir.path()).unwrap().count();
        assert!(runs >= 5, "{runs} runs written");
        let mut in_memory = SpillMap::in_memory();
        count(&mut in_memory, keys());
        let spilled = finished(spilling);
        assert_eq!(spilled, finished(in_memory));
        assert_eq!(spilled.len(), 250_000);
        assert!(spilled.iter().all(|(_, n)| *n == 3));
    }
}
