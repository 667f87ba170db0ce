//! CPU time this process has used, for reports that show what work cost the client.

/// User plus system CPU seconds used by this process so far (Linux: /proc/self/stat; `None`
/// elsewhere).
pub fn process_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at state, field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // The kernel counts in USER_HZ, 100 on every Linux target Rust supports.
    Some((utime + stime) / 100.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_time_grows_with_work() {
        let before = super::process_seconds().expect("Linux");
        let mut x = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed().as_millis() < 300 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let after = super::process_seconds().unwrap();
        assert!(after - before >= 0.1, "{before} → {after}");
    }
}
