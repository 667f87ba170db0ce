//! Whether the tables a spec reads fit in memory here: a hint before planning in memory, from
//! the tables' size in Postgres and the memory the system (or this process's control group)
//! can still give.

use crate::source::PostgresSource;
use crate::spec::Spec;

/// Planning in memory holds about this many bytes per byte of the tables in Postgres (5.1 for
/// Rootski at scale 1, 4.3 at scale 4; docs/benchmarks.md).
const MEMORY_PER_TABLE_BYTE: u64 = 5;

/// Says on stderr when the tables `spec` reads look too large to plan in memory here. Only a
/// hint: when their size or the free memory cannot be read, it says nothing.
pub async fn warn_if_too_large(spec: &Spec, source: &PostgresSource) {
    let names: Vec<String> = spec
        .schema
        .tables
        .iter()
        .map(|t| format!("'{}'", t.sql_name().replace('\'', "''")))
        .collect();
    // to_regclass finds each table as the reads do: in its schema, or through the search path.
    let sql = format!(
        "SELECT coalesce(sum(pg_table_size(to_regclass(t))), 0)::bigint FROM unnest(ARRAY[{}]::text[]) AS t",
        names.join(", ")
    );
    let table_bytes = match source.query_numbers("(the tables' sizes)", sql, 1).await {
        Ok(numbers) => numbers[0].and_then(|n| u64::try_from(n).ok()),
        Err(_) => None,
    };
    if let (Some(table_bytes), Some(available)) = (table_bytes, available_memory()) {
        if let Some(warning) = memory_warning(table_bytes, available) {
            crate::say!("{warning}");
        }
    }
}

/// The memory this process can still take: the system's available memory, or its control
/// group's room when that is less.
fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let available = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?
        * 1024;
    let read =
        |path: String| -> Option<u64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    // This process's control group (`/proc/self/cgroup`): v2 (`0::/path`) or v1's memory
    // controller (`4:memory:/path`, whose "no limit" is a huge number).
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let room = cgroups.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let (dir, max, used) = if controllers.is_empty() {
            (
                format!("/sys/fs/cgroup{path}"),
                "memory.max",
                "memory.current",
            )
        } else if controllers.split(',').any(|c| c == "memory") {
            let dir = format!("/sys/fs/cgroup/memory{path}");
            (dir, "memory.limit_in_bytes", "memory.usage_in_bytes")
        } else {
            return None;
        };
        let max = read(format!("{dir}/{max}"))?;
        Some(max.saturating_sub(read(format!("{dir}/{used}")).unwrap_or(0)))
    });
    Some(room.map_or(available, |room| room.min(available)))
}

/// The warning before planning in memory tables of `table_bytes` bytes (in Postgres) with
/// `available` bytes of memory, when they look too large for it.
fn memory_warning(table_bytes: u64, available: u64) -> Option<String> {
    let needed = table_bytes.saturating_mul(MEMORY_PER_TABLE_BYTE);
    let gb = |bytes: u64| format!("{:.1} GB", bytes as f64 / 1e9);
    (needed > available).then(|| {
        format!(
            "warning: the tables the spec reads take {} in Postgres; planning them in memory takes about {MEMORY_PER_TABLE_BYTE} times that ({}), more than the {} available here. If it runs out of memory, use --window 20000, which holds one window of rows at a time",
            gb(table_bytes),
            gb(needed),
            gb(available)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::memory_warning;

    #[test]
    fn tables_too_large_for_the_memory_get_a_warning_that_points_to_windows() {
        assert_eq!(memory_warning(121_000_000, 24_000_000_000), None);
        assert_eq!(
            memory_warning(9_800_000_000, 24_000_000_000).as_deref(),
            Some("warning: the tables the spec reads take 9.8 GB in Postgres; planning them in memory takes about 5 times that (49.0 GB), more than the 24.0 GB available here. If it runs out of memory, use --window 20000, which holds one window of rows at a time")
        );
    }
}
