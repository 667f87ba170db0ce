//! Shards: a run's part of the items, `--shard I/N`. An item belongs to shard
//! `SHA-256(pk, sk) mod N`, so the shards' parts are disjoint, cover every item, and are the
//! same on every run and machine whatever order the rows come in.

use sha2::{Digest, Sha256};

/// Shard `index` of `count` (counted from 0, as Kubernetes' `JOB_COMPLETION_INDEX` and AWS
/// Batch's `AWS_BATCH_JOB_ARRAY_INDEX` are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Whether the item with key `(pk, sk)` (as the plan writes keys) is this shard's.
    pub fn holds(&self, (pk, sk): &(String, String)) -> bool {
        let mut hash = Sha256::new();
        hash.update(pk.as_bytes());
        hash.update([0x1f]);
        hash.update(sk.as_bytes());
        let digest = hash.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % u64::from(self.count) == u64::from(self.index)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N` (0 ≤ I < N), or `auto/N` for the index the orchestrator gives
    /// (`JOB_COMPLETION_INDEX`, else `AWS_BATCH_JOB_ARRAY_INDEX`).
    fn from_str(text: &str) -> Result<Self, String> {
        let bad =
            || format!("\"{text}\" is not a shard; write I/N (0 ≤ I < N, such as 0/4) or auto/N");
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let count: u32 = count
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(bad)?;
        let index = match index.trim() {
            "auto" => {
                let (name, value) = ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"]
                    .iter()
                    .find_map(|name| std::env::var(name).ok().map(|v| (*name, v)))
                    .ok_or("auto takes the shard's index from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or AWS_BATCH_JOB_ARRAY_INDEX (an AWS Batch array job), and neither is set; give the index: I/N")?;
                value
                    .trim()
                    .parse()
                    .map_err(|_| format!("{name} is \"{value}\", not a shard index"))?
            }
            index => index.parse().map_err(|_| bad())?,
        };
        if index >= count {
            return Err(format!(
                "shard {index}/{count}: the index counts from 0, so it is below {count}"
            ));
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::Shard;

    #[test]
    fn every_key_is_in_exactly_one_shard() {
        let shards: Vec<Shard> = (0..4).map(|i| format!("{i}/4").parse().unwrap()).collect();
        let mut sizes = [0; 4];
        for n in 0..1000 {
            let key = (format!("WORD#{n}"), "WORD".to_string());
            let holding: Vec<usize> = (0..4).filter(|&i| shards[i].holds(&key)).collect();
            assert_eq!(holding.len(), 1);
            sizes[holding[0]] += 1;
        }
        assert!(sizes.iter().all(|&s| s > 200), "{sizes:?}");
        assert_eq!(
            "4/4".parse::<Shard>().unwrap_err(),
            "shard 4/4: the index counts from 0, so it is below 4"
        );
        assert!("x/4".parse::<Shard>().is_err() && "1/0".parse::<Shard>().is_err());
    }
}
