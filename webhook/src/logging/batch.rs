//! Log lines gathered in memory and written out together by a flusher thread, at most
//! [`BatchLimits::interval`] after they were logged.
//!
//! A logger only copies its line into a shared buffer: no system call, no wake-up per line. The
//! flusher sleeps until a line arrives, lets more gather for up to the interval (or until
//! [`BatchLimits::eager_bytes`] are waiting), and writes them in one call. Past
//! [`BatchLimits::max_pending_bytes`] (the sink is slower than the logging) the logger writes the
//! waiting lines and its own itself, in order, so logging slows down instead of losing lines or
//! growing without bound. Dropping the [`FlushGuard`] writes out whatever is still waiting, and
//! lines logged after that are written by their logger. Lines are lost only when the process
//! dies without dropping the guard.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// When the flusher writes.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// A line waits at most this long (plus the write itself) before it is written.
    pub interval: Duration,
    /// This much waiting wakes the flusher before the interval is over.
    pub eager_bytes: usize,
    /// Beyond this much waiting, loggers write it out themselves.
    pub max_pending_bytes: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(50),
            eager_bytes: 64 * 1024,
            max_pending_bytes: 1024 * 1024,
        }
    }
}

struct Pending {
    bytes: Vec<u8>,
    stopping: bool,
}

struct Shared<W> {
    pending: Mutex<Pending>,
    arrived: Condvar,
    sink: Mutex<W>,
    limits: BatchLimits,
}

impl<W> Shared<W> {
    /// A logger that panicked while holding a lock left whole lines behind (each is appended in
    /// one `extend`), so the buffer is still usable.
    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sink(&self) -> MutexGuard<'_, W> {
        self.sink.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `MakeWriter` handed to `tracing-subscriber`: each event's formatted line is appended to
/// the shared buffer in one piece.
pub struct BatchWriter<W> {
    shared: Arc<Shared<W>>,
}

/// Keeps the flusher running; dropping it writes out what is waiting and stops the thread.
pub struct FlushGuard<W> {
    shared: Arc<Shared<W>>,
    flusher: Option<JoinHandle<()>>,
}

/// A writer over `sink` and the guard of its flusher thread (named `thread_name`).
pub fn batched<W: Write + Send + 'static>(
    sink: W,
    limits: BatchLimits,
    thread_name: &str,
) -> io::Result<(BatchWriter<W>, FlushGuard<W>)> {
    let shared = Arc::new(Shared {
        pending: Mutex::new(Pending {
            bytes: Vec::new(),
            stopping: false,
        }),
        arrived: Condvar::new(),
        sink: Mutex::new(sink),
        limits,
    });
    let flusher = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(thread_name.to_string())
            .spawn(move || flush_until_stopped(&shared))?
    };
    Ok((
        BatchWriter {
            shared: Arc::clone(&shared),
        },
        FlushGuard {
            shared,
            flusher: Some(flusher),
        },
    ))
}

fn flush_until_stopped<W: Write>(shared: &Shared<W>) {
    let limits = shared.limits;
    let mut batch = Vec::new();
    loop {
        let pending = shared.pending();
        let pending = shared
            .arrived
            .wait_while(pending, |pending| {
                pending.bytes.is_empty() && !pending.stopping
            })
            .unwrap_or_else(PoisonError::into_inner);
        let (mut pending, _) = shared
            .arrived
            .wait_timeout_while(pending, limits.interval, |pending| {
                pending.bytes.len() < limits.eager_bytes && !pending.stopping
            })
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::swap(&mut pending.bytes, &mut batch);
        let stopping = pending.stopping;
        // The sink is taken before the buffer is let go, so a logger that finds the buffer full
        // and writes through cannot overtake this batch.
        let mut sink = shared.sink();
        drop(pending);
        write_out(&mut *sink, &batch);
        drop(sink);
        batch.clear();
        if batch.capacity() > limits.max_pending_bytes {
            batch.shrink_to(limits.eager_bytes);
        }
        if stopping {
            return;
        }
    }
}

/// Logging has nowhere to report its own failure: a line that cannot be written is lost.
fn write_out<W: Write>(sink: &mut W, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let _ = sink.write_all(bytes);
    let _ = sink.flush();
}

/// One event's writer: appends to the shared buffer.
pub struct LineWriter<'a, W> {
    shared: &'a Shared<W>,
}

impl<W: Write> Write for LineWriter<'_, W> {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let limits = self.shared.limits;
        let mut pending = self.shared.pending();
        let before = pending.bytes.len();
        // Past the cap, or after the flusher has stopped (a line logged while the process
        // exits): the logger writes itself.
        if pending.stopping || before + line.len() > limits.max_pending_bytes {
            let mut sink = self.shared.sink();
            let waiting = std::mem::take(&mut pending.bytes);
            write_out(&mut *sink, &waiting);
            write_out(&mut *sink, line);
            return Ok(line.len());
        }
        pending.bytes.extend_from_slice(line);
        // Wake the flusher when the buffer stops being empty (it sleeps until then) and when it
        // reaches the eager size (it would otherwise wait for the interval): twice per batch.
        let after = pending.bytes.len();
        if before == 0 || (before < limits.eager_bytes && after >= limits.eager_bytes) {
            drop(pending);
            self.shared.arrived.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a, W: Write + 'a> MakeWriter<'a> for BatchWriter<W> {
    type Writer = LineWriter<'a, W>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
        }
    }
}

impl<W> Drop for FlushGuard<W> {
    fn drop(&mut self) {
        self.shared.pending().stopping = true;
        self.shared.arrived.notify_one();
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// A sink the test can read while the writer owns it, counting the writes it receives and
    /// naming the threads that made them.
    #[derive(Clone, Default)]
    struct Sink {
        written: Arc<Mutex<(Vec<u8>, usize)>>,
        writers: Arc<Mutex<Vec<String>>>,
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.written.lock().unwrap().0.clone()).unwrap()
        }

        fn writes(&self) -> usize {
            self.written.lock().unwrap().1
        }
    }

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let mut written = self.written.lock().unwrap();
            written.0.extend_from_slice(bytes);
            written.1 += 1;
            let thread = std::thread::current()
                .name()
                .unwrap_or_default()
                .to_string();
            self.writers.lock().unwrap().push(thread);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn log(writer: &BatchWriter<Sink>, line: &str) {
        writer.make_writer().write_all(line.as_bytes()).unwrap();
    }

    const SLOW: BatchLimits = BatchLimits {
        interval: Duration::from_secs(3600),
        eager_bytes: 1024,
        max_pending_bytes: 4096,
    };

    #[test]
    fn writes_every_waiting_line_in_order_when_the_guard_drops() {
        let sink = Sink::default();
        let (writer, guard) = batched(sink.clone(), SLOW, "test-log").unwrap();
        for number in 0..10 {
            log(&writer, &format!("line {number}\n"));
        }
        drop(guard);
        let expected: String = (0..10).map(|number| format!("line {number}\n")).collect();
        assert_eq!(sink.text(), expected);
    }

    #[test]
    fn writes_a_line_within_the_interval_without_waiting_for_more() {
        let sink = Sink::default();
        let limits = BatchLimits {
            interval: Duration::from_millis(20),
            ..SLOW
        };
        let (writer, _guard) = batched(sink.clone(), limits, "test-log").unwrap();
        log(&writer, "alone\n");
        let started = Instant::now();
        while sink.text().is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the line was never written"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(sink.text(), "alone\n");
    }

    #[test]
    fn writes_a_line_logged_after_the_guard_dropped_itself() {
        let sink = Sink::default();
        let (writer, guard) = batched(sink.clone(), SLOW, "test-log").unwrap();
        drop(guard);
        log(&writer, "late\n");
        assert_eq!(sink.text(), "late\n");
    }

    #[test]
    fn writes_lines_that_gathered_together_in_one_call() {
        let sink = Sink::default();
        let (writer, guard) = batched(sink.clone(), SLOW, "test-log").unwrap();
        for _ in 0..100 {
            log(&writer, "short\n");
        }
        drop(guard);
        assert_eq!(sink.text().lines().count(), 100);
        assert!(sink.writes() <= 2, "{} writes for 100 lines", sink.writes());
    }

    #[test]
    fn wakes_the_flusher_early_once_the_eager_size_is_waiting() {
        let sink = Sink::default();
        let (writer, _guard) = batched(sink.clone(), SLOW, "test-log").unwrap();
        let line = format!("{}\n", "x".repeat(99));
        for _ in 0..11 {
            log(&writer, &line);
        }
        let started = Instant::now();
        while sink.text().len() < 1024 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "1,100 waiting bytes were not written before the hour-long interval"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn writes_through_in_order_when_the_flusher_falls_behind() {
        let sink = Sink::default();
        let (writer, guard) = batched(sink.clone(), SLOW, "test-log").unwrap();
        // Hold the sink: the flusher cannot write, and the logger fills the buffer past its cap.
        let held = sink.written.lock().unwrap();
        let logger = std::thread::Builder::new()
            .name("logger".to_string())
            .spawn(move || {
                for number in 0..200 {
                    log(&writer, &format!("{number:0>40}\n"));
                }
                writer
            })
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        drop(held);
        let writer = logger.join().unwrap();
        drop(guard);
        drop(writer);
        let expected: String = (0..200).map(|number| format!("{number:0>40}\n")).collect();
        assert_eq!(sink.text(), expected);
        // 8,200 bytes against a 4,096-byte cap: the logger wrote some of it itself.
        assert!(
            sink.writers
                .lock()
                .unwrap()
                .iter()
                .any(|name| name == "logger"),
            "every write came from the flusher: {:?}",
            sink.writers.lock().unwrap()
        );
    }
}
