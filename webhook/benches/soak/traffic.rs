//! The soak's load: an open loop at a fixed total rate over keep-alive HTTP/1.1 connections, one
//! sample per request. Some connections are kept for the whole run (they live through every
//! certificate rotation); the others are re-opened every few seconds (so handshakes happen before,
//! during and after each rotation). A re-open happens right after an answer, off the clock of the
//! next request; its handshake time is sampled on its own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use tokio_rustls::TlsConnector;

use crate::client::{self, Connection};
use crate::drive::Review;

/// One request's fate.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When it was due, since the start of the run.
    pub due: Duration,
    /// From when it was due (or sent, if the connection was free) to the whole answer.
    pub micros: u32,
    pub ok: bool,
}

/// What the load reports besides requests: handshakes, and the first failures' reasons.
#[derive(Debug)]
pub enum Event {
    Request(Sample),
    Handshake { micros: u32, ok: bool },
    Failure(String),
}

#[derive(Clone)]
pub struct Load {
    pub addr: SocketAddr,
    pub connector: TlsConnector,
    pub reviews: Arc<Vec<Review>>,
    /// Requests per second over all connections.
    pub rate: f64,
    pub kept: usize,
    pub reopened: usize,
    pub reopen_every: Duration,
    pub duration: Duration,
}

impl Load {
    /// Runs the load from `start` (the run's time zero) and sends every event to `events`.
    pub async fn run(self, start: Instant, events: Sender<Event>) {
        let connections = self.kept + self.reopened;
        let mut tasks = Vec::new();
        for index in 0..connections {
            let load = self.clone();
            let events = events.clone();
            let reopen = (index >= self.kept).then_some(self.reopen_every);
            tasks.push(tokio::spawn(async move {
                load.connection(index, connections, reopen, start, events)
                    .await;
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
    }

    async fn connect(&self, events: &Sender<Event>) -> Option<(Connection, Instant)> {
        let started = Instant::now();
        let connected = client::connect(&self.connector, self.addr).await;
        let micros = micros_since(started);
        let _ = events.send(Event::Handshake {
            micros,
            ok: connected.is_ok(),
        });
        match connected {
            Ok(connection) => Some((connection, Instant::now())),
            Err(error) => {
                let _ = events.send(Event::Failure(format!("connect: {error}")));
                None
            }
        }
    }

    /// Connection `index` of `connections` sends requests `index`, `index + connections`, ...
    async fn connection(
        &self,
        index: usize,
        connections: usize,
        reopen: Option<Duration>,
        start: Instant,
        events: Sender<Event>,
    ) {
        let interval = Duration::from_secs_f64(1.0 / self.rate);
        let total = (self.rate * self.duration.as_secs_f64()) as usize;
        let mut open = self.connect(&events).await;
        let mut previous_done = start;
        for request in (index..total).step_by(connections) {
            let due = start + interval * u32::try_from(request).unwrap_or(u32::MAX);
            tokio::time::sleep_until(due.into()).await;
            // Late because the previous answer had not come yet: that wait is latency.
            let from = if previous_done > due {
                due
            } else {
                Instant::now()
            };
            let ok = match open.as_mut() {
                Some((connection, _)) => {
                    let review = &self.reviews[request % self.reviews.len()];
                    match connection.post(&review.path, &review.body).await {
                        Ok((200, body)) if answers_review(&body) => true,
                        Ok((status, body)) => {
                            let _ = events.send(Event::Failure(format!(
                                "HTTP {status}: {}",
                                String::from_utf8_lossy(&body)
                            )));
                            false
                        }
                        Err(error) => {
                            let _ = events.send(Event::Failure(format!("request: {error}")));
                            open = None;
                            false
                        }
                    }
                }
                None => false,
            };
            let _ = events.send(Event::Request(Sample {
                due: due.saturating_duration_since(start),
                micros: micros_since(from),
                ok,
            }));
            previous_done = Instant::now();
            let stale = match (&open, reopen) {
                (Some((_, opened)), Some(every)) => opened.elapsed() >= every,
                (None, _) => true,
                (Some(_), None) => false,
            };
            if stale {
                open = self.connect(&events).await;
            }
        }
    }
}

fn answers_review(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .is_ok_and(|answer| answer["response"]["uid"].is_string())
}

fn micros_since(instant: Instant) -> u32 {
    u32::try_from(instant.elapsed().as_micros()).unwrap_or(u32::MAX)
}
