//! Shares an exact number of child rows among parent rows, with a tunable skew.

use rand::Rng;

/// How many children each parent gets: between `min` and `max` each, `total` in all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub total: u64,
    pub min: u32,
    pub max: u32,
    /// 0 shares evenly; around 1 gives a heavy tail (a few parents get up to `max`).
    pub skew: f64,
}

/// Draws the child count of each of `parents` parents; the counts add up to `spread.total`.
///
/// # Errors
/// Says why when `total` cannot be reached within `min` and `max`.
pub fn child_counts(
    rng: &mut impl Rng,
    parents: usize,
    spread: Spread,
) -> Result<Vec<u32>, String> {
    let Spread {
        total,
        min,
        max,
        skew,
    } = spread;
    let (low, high) = (
        parents as u64 * u64::from(min),
        parents as u64 * u64::from(max),
    );
    if total < low || total > high {
        return Err(format!(
            "{total} rows cannot be shared among {parents} parent rows with {min} to {max} each"
        ));
    }
    let mut counts = vec![min; parents];
    let remaining = total - low;
    if remaining == 0 {
        return Ok(counts);
    }
    let weights: Vec<f64> = (0..parents)
        .map(|_| {
            if skew == 0.0 {
                1.0
            } else {
                let u: f64 = rng.random_range(f64::EPSILON..1.0);
                u.powf(-skew)
            }
        })
        .collect();
    let sum: f64 = weights.iter().sum();
    let room = max - min;
    let mut given = 0u64;
    for (count, weight) in counts.iter_mut().zip(&weights) {
        let extra = ((remaining as f64 * weight / sum).floor() as u64).min(u64::from(room));
        *count += extra as u32;
        given += extra;
    }
    let mut left = remaining - given;
    while left > 0 {
        let i = rng.random_range(0..parents);
        if counts[i] < max {
            counts[i] += 1;
            left -= 1;
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn exact_total_within_bounds_and_skewed() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let spread = Spread {
            total: 180_000,
            min: 0,
            max: 400,
            skew: 1.0,
        };
        let counts = child_counts(&mut rng, 160_000, spread).unwrap();
        assert_eq!(counts.iter().map(|&c| u64::from(c)).sum::<u64>(), 180_000);
        assert!(counts.iter().all(|&c| c <= 400));
        assert!(
            counts.iter().filter(|&&c| c >= 100).count() >= 3,
            "a few heavy parents"
        );
        let small = counts.iter().filter(|&&c| c <= 2).count();
        assert!(small > 150_000, "most parents have few children: {small}");
    }

    #[test]
    fn impossible_totals_are_refused() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let spread = Spread {
            total: 10,
            min: 1,
            max: 2,
            skew: 0.0,
        };
        assert_eq!(
            child_counts(&mut rng, 3, spread).unwrap_err(),
            "10 rows cannot be shared among 3 parent rows with 1 to 2 each"
        );
    }
}
