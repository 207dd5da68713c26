//! What the soak measures, gathered as the run goes: requests per minute (rate, failures,
//! percentiles), the whole run's latencies, handshakes, resident memory every second with the
//! machine's load average beside it, and how RSS trends once warmed up.

use std::time::Duration;

use crate::traffic::Sample;

/// Latency percentiles of a set of samples, in milliseconds.
#[derive(Debug, Default)]
pub struct Latencies {
    micros: Vec<u32>,
}

impl Latencies {
    pub fn push(&mut self, micros: u32) {
        self.micros.push(micros);
    }

    pub fn len(&self) -> usize {
        self.micros.len()
    }

    pub fn extend(&mut self, other: &Latencies) {
        self.micros.extend_from_slice(&other.micros);
    }

    /// The `p`-th percentile (0 < p ≤ 100), in ms; NaN without samples.
    pub fn percentile_ms(&mut self, p: f64) -> f64 {
        if self.micros.is_empty() {
            return f64::NAN;
        }
        self.micros.sort_unstable();
        let rank = ((p / 100.0) * (self.micros.len() - 1) as f64).round() as usize;
        f64::from(self.micros[rank]) / 1000.0
    }
}

/// One minute of requests.
#[derive(Debug, Default)]
pub struct Minute {
    pub requests: u64,
    pub failed: u64,
    pub latencies: Latencies,
}

impl Minute {
    pub fn add(&mut self, sample: &Sample) {
        self.requests += 1;
        if !sample.ok {
            self.failed += 1;
        }
        self.latencies.push(sample.micros);
    }
}

/// Resident memory and load average, once a second.
#[derive(Debug, Default, Clone)]
pub struct Memory {
    /// (seconds since the start, VmRSS KiB, 1-minute load average)
    pub samples: Vec<(f64, u64, f64)>,
}

impl Memory {
    pub fn peak_kib(&self) -> u64 {
        self.samples
            .iter()
            .map(|(_, kib, _)| *kib)
            .max()
            .unwrap_or(0)
    }

    /// The least-squares trend of RSS after `warm_up`, in MiB per hour; none for a run too
    /// short to have two samples after it.
    pub fn trend_mib_per_hour(&self, warm_up: Duration) -> Option<f64> {
        let points: Vec<(f64, f64)> = self
            .samples
            .iter()
            .filter(|(at, _, _)| *at >= warm_up.as_secs_f64())
            .map(|(at, kib, _)| (*at, *kib as f64 / 1024.0))
            .collect();
        if points.len() < 2 {
            return None;
        }
        let n = points.len() as f64;
        let mean_t = points.iter().map(|(t, _)| t).sum::<f64>() / n;
        let mean_m = points.iter().map(|(_, m)| m).sum::<f64>() / n;
        let covariance: f64 = points
            .iter()
            .map(|(t, m)| (t - mean_t) * (m - mean_m))
            .sum();
        let variance: f64 = points.iter().map(|(t, _)| (t - mean_t).powi(2)).sum();
        if variance == 0.0 {
            return Some(0.0);
        }
        Some(covariance / variance * 3600.0)
    }

    /// Minimum, median and maximum of the 1-minute load average over the run.
    pub fn load_average(&self) -> (f64, f64, f64) {
        let mut loads: Vec<f64> = self.samples.iter().map(|(_, _, load)| *load).collect();
        if loads.is_empty() {
            return (f64::NAN, f64::NAN, f64::NAN);
        }
        loads.sort_by(f64::total_cmp);
        (loads[0], loads[loads.len() / 2], loads[loads.len() - 1])
    }
}

/// The machine's 1-minute load average (`/proc/loadavg`).
pub fn load_average_now() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
