//! The load generator: keep-alive HTTP/1.1 connections over rustls, either as fast as the
//! server answers (closed loop, peak throughput) or at a fixed rate (open loop; a request
//! delayed by the server's previous answer counts from when it should have been sent).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_rustls::TlsConnector;

use crate::client;

pub struct Review {
    pub path: String,
    pub body: Vec<u8>,
}

#[derive(Default)]
pub struct Stats {
    pub requests: u64,
    pub errors: u64,
    pub elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Stats {
    pub fn merge(&mut self, other: Stats) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.latencies_us.extend(other.latencies_us);
    }

    fn record(&mut self, started: Instant, ok: bool) {
        self.requests += 1;
        if !ok {
            self.errors += 1;
        }
        let micros = started.elapsed().as_micros();
        self.latencies_us
            .push(u32::try_from(micros).unwrap_or(u32::MAX));
    }

    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-th percentile latency (0 < p < 100), in milliseconds.
    pub fn percentile_ms(&mut self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        self.latencies_us.sort_unstable();
        let rank = ((p / 100.0) * (self.latencies_us.len() - 1) as f64).round() as usize;
        f64::from(self.latencies_us[rank]) / 1000.0
    }
}

async fn send(connection: &mut client::Connection, review: &Review) -> bool {
    matches!(
        connection.post(&review.path, &review.body).await,
        Ok((200, _))
    )
}

/// `connections` connections sending back to back for `duration`.
pub async fn closed_loop(
    addr: SocketAddr,
    connector: &TlsConnector,
    reviews: &Arc<Vec<Review>>,
    connections: usize,
    duration: Duration,
) -> Stats {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for task in 0..connections {
        let connector = connector.clone();
        let reviews = Arc::clone(reviews);
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            let mut connection = client::connect(&connector, addr).await.unwrap();
            let mut next = task;
            while Instant::now() < deadline {
                let review = &reviews[next % reviews.len()];
                next += 1;
                let sent = Instant::now();
                let ok = send(&mut connection, review).await;
                stats.record(sent, ok);
            }
            stats
        }));
    }
    let mut total = Stats::default();
    for task in tasks {
        total.merge(task.await.unwrap());
    }
    total.elapsed = started.elapsed();
    total
}

/// `rate` requests per second in total, spread over `connections`, for `duration`.
pub async fn fixed_rate(
    addr: SocketAddr,
    connector: &TlsConnector,
    reviews: &Arc<Vec<Review>>,
    connections: usize,
    rate: f64,
    duration: Duration,
) -> Stats {
    let total_requests = (rate * duration.as_secs_f64()) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut ready = Vec::new();
    for _ in 0..connections {
        ready.push(client::connect(connector, addr).await.ok());
    }
    let started = Instant::now() + Duration::from_millis(10);
    let mut tasks = Vec::new();
    for (task, connection) in ready.into_iter().enumerate() {
        let reviews = Arc::clone(reviews);
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            // A connection that could not be made (a failed handshake): each of its requests
            // failed, and the run goes on to report it.
            let Some(mut connection) = connection else {
                let lost = (task..total_requests).step_by(connections).count() as u64;
                stats.requests += lost;
                stats.errors += lost;
                return stats;
            };
            let mut previous_done = started;
            for request in (task..total_requests).step_by(connections) {
                let scheduled = started + interval * u32::try_from(request).unwrap();
                tokio::time::sleep_until(scheduled.into()).await;
                // Late because the server had not answered the previous request yet: that wait
                // is latency. Late because of timer granularity: it is not.
                let from = if previous_done > scheduled {
                    scheduled
                } else {
                    Instant::now()
                };
                let ok = send(&mut connection, &reviews[request % reviews.len()]).await;
                stats.record(from, ok);
                previous_done = Instant::now();
            }
            stats
        }));
    }
    let mut total = Stats::default();
    for task in tasks {
        total.merge(task.await.unwrap());
    }
    total.elapsed = started.elapsed();
    total
}

/// Median latency of each review alone, `count` times back to back on one connection.
pub async fn per_review(
    addr: SocketAddr,
    connector: &TlsConnector,
    reviews: &[Review],
    count: usize,
) -> Vec<f64> {
    let mut connection = client::connect(connector, addr).await.unwrap();
    let mut medians = Vec::new();
    for review in reviews {
        let mut stats = Stats::default();
        for _ in 0..count {
            let sent = Instant::now();
            let ok = send(&mut connection, review).await;
            stats.record(sent, ok);
        }
        medians.push(stats.percentile_ms(50.0));
    }
    medians
}
