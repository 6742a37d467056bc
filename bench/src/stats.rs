//! Summaries of timings: medians and percentiles by nearest rank, in
//! milliseconds.

use std::time::Duration;

/// A sorted sample of durations.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    sorted: Vec<Duration>,
}

impl Sample {
    pub fn new(mut values: Vec<Duration>) -> Self {
        values.sort();
        Self { sorted: values }
    }

    /// The `p`th percentile (0..=100), nearest rank; 0 when empty.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.sorted.len() as f64).ceil() as usize;
        self.sorted[rank.clamp(1, self.sorted.len()) - 1]
    }

    /// The median, by nearest rank (of an even count, the lower middle).
    pub fn median(&self) -> Duration {
        self.percentile(50.0)
    }

    pub fn min(&self) -> Duration {
        self.sorted.first().copied().unwrap_or_default()
    }

    pub fn max(&self) -> Duration {
        self.sorted.last().copied().unwrap_or_default()
    }

    /// `min / p50 / p90 / max` in ms, for raw output.
    pub fn spread(&self) -> String {
        format!(
            "n={} min {:.2} p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}",
            self.sorted.len(),
            ms(self.min()),
            ms(self.median()),
            ms(self.percentile(90.0)),
            ms(self.percentile(99.0)),
            ms(self.max())
        )
    }
}

/// Milliseconds, as a float for printing only (never for money).
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = Sample::new((1..=100).rev().map(Duration::from_millis).collect());
        assert_eq!(s.median(), Duration::from_millis(50));
        assert_eq!(s.percentile(99.0), Duration::from_millis(99));
        assert_eq!(s.percentile(100.0), Duration::from_millis(100));
        assert_eq!(s.min(), Duration::from_millis(1));
        let one = Sample::new(vec![Duration::from_millis(7)]);
        assert_eq!(one.percentile(99.0), Duration::from_millis(7));
        assert_eq!(Sample::default().median(), Duration::ZERO);
    }
}
