//! Which way to load a plan, at what cost and in what time: BatchWriteItem (`migrate`: write
//! request units in the table and in every index the items are in, on demand or provisioned)
//! against DynamoDB's ImportTable (billed per GB of uncompressed source, no write capacity,
//! a new table only).

use serde::Serialize;

use crate::transform::capacity::CapacityReport;

/// Prices in US dollars: settings, with today's us-east-1 list prices as defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prices {
    /// On-demand writes, per million write request units.
    pub per_million_write_units: f64,
    /// Provisioned writes, per WCU-hour.
    pub per_wcu_hour: f64,
    /// ImportTable, per GB of uncompressed source.
    pub per_import_gb: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            per_million_write_units: 0.625,
            per_wcu_hour: 0.00065,
            per_import_gb: 0.15,
        }
    }
}

/// The two load paths of one plan, priced.
#[derive(Debug, Clone, Serialize)]
pub struct LoadPaths {
    pub prices: Prices,
    /// Write units of every item in the table and in each index it is in.
    pub write_units: u64,
    pub batch_on_demand_usd: f64,
    /// Provisioned capacity used fully for the load's length (the least it can cost).
    pub batch_provisioned_usd: f64,
    /// The least load time at DynamoDB's default table quota (40,000 WCU/s).
    pub batch_seconds: f64,
    /// The plan as DynamoDB-JSON lines, what ImportTable bills.
    pub import_bytes: u64,
    pub import_usd: f64,
    /// About ten minutes, and about twelve more per GB, as users report (not a guarantee).
    pub import_minutes: f64,
    pub recommendation: String,
}

/// Bytes in a GB, as AWS bills storage and imports.
const GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Prices both paths of a plan whose writes `capacity` counts and whose lines take `json_bytes`.
pub fn load_paths(capacity: &CapacityReport, json_bytes: u64, prices: Prices) -> LoadPaths {
    let write_units: u64 = capacity.targets.iter().map(|t| t.wcu).sum();
    let batch_on_demand_usd = write_units as f64 / 1e6 * prices.per_million_write_units;
    let batch_provisioned_usd = write_units as f64 / 3600.0 * prices.per_wcu_hour;
    let batch_seconds = capacity
        .bounds
        .iter()
        .max_by_key(|b| b.capacity_wcu)
        .map_or(0.0, |b| b.seconds);
    let gb = json_bytes as f64 / GB;
    let import_usd = gb * prices.per_import_gb;
    let import_minutes = 10.0 + 12.0 * gb;
    let recommendation = if batch_on_demand_usd < 1.0 && batch_seconds < import_minutes * 60.0 {
        format!(
            "both paths cost under $1 here; BatchWriteItem (`migrator migrate`) is done sooner (at least {batch_seconds:.1} s against about {import_minutes:.0} min) and fills new and existing tables alike"
        )
    } else if import_usd < batch_on_demand_usd {
        format!(
            "into a new table, ImportTable costs less (${import_usd:.2} against ${batch_on_demand_usd:.2} on demand) and needs no write capacity: `migrator plan --out` writes its source; an existing table takes BatchWriteItem only (`migrator migrate`)"
        )
    } else {
        format!(
            "BatchWriteItem (`migrator migrate`) costs no more (${batch_on_demand_usd:.2} on demand against ${import_usd:.2} imported) and fills new and existing tables alike"
        )
    };
    LoadPaths {
        prices,
        write_units,
        batch_on_demand_usd,
        batch_provisioned_usd,
        batch_seconds,
        import_bytes: json_bytes,
        import_usd,
        import_minutes,
        recommendation,
    }
}

impl LoadPaths {
    /// The estimate in three lines, for people.
    pub fn lines(&self) -> Vec<String> {
        vec![
            format!(
                "BatchWriteItem: {} write units (table and indexes), ${:.2} on demand, ${:.2} provisioned and fully used, at least {:.1} s at 40,000 WCU/s",
                self.write_units, self.batch_on_demand_usd, self.batch_provisioned_usd, self.batch_seconds
            ),
            format!(
                "ImportTable: {:.3} GB of DynamoDB JSON, ${:.2}, about {:.0} min (users' reports), a new table only",
                self.import_bytes as f64 / GB,
                self.import_usd,
                self.import_minutes
            ),
            self.recommendation.clone(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::capacity::{Bound, TargetLoad};

    #[test]
    fn small_items_favour_import_and_large_ones_batch_writes() {
        let capacity = |wcu: u64| CapacityReport {
            targets: vec![TargetLoad {
                name: "t".into(),
                writes: wcu,
                wcu,
                distinct_keys: 1,
                hottest: Vec::new(),
            }],
            bounds: vec![Bound {
                capacity_wcu: 40_000,
                seconds: wcu as f64 / 40_000.0,
                set_by: "the table".into(),
            }],
            warnings: Vec::new(),
        };
        // Ten million 200-byte items: one write unit each, 2 GB.
        let small = load_paths(&capacity(10_000_000), 2_000_000_000, Prices::default());
        assert!((small.batch_on_demand_usd - 6.25).abs() < 1e-9);
        assert!((small.batch_provisioned_usd - 10_000_000.0 / 3600.0 * 0.00065).abs() < 1e-9);
        assert!((small.import_usd - 0.15 * 2_000_000_000.0 / GB).abs() < 1e-9);
        assert!(small
            .recommendation
            .starts_with("into a new table, ImportTable costs less ($0.28 against $6.25"));
        // Write units at a thirtieth of the price, ten times the items: the batch path wins.
        let cheap = Prices {
            per_million_write_units: 0.02,
            ..Prices::default()
        };
        let batch = load_paths(&capacity(100_000_000), 20_000_000_000, cheap);
        assert!(batch
            .recommendation
            .starts_with("BatchWriteItem (`migrator migrate`) costs no more"));
        // A plan of a few items: cents either way, and the batch path is done in seconds.
        let tiny = load_paths(&capacity(8), 1801, Prices::default());
        assert!(tiny
            .recommendation
            .starts_with("both paths cost under $1 here"));
    }
}
