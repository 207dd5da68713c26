#!/usr/bin/env bash
# Load benchmark of `backstop-webhook serve` over real TLS (on demand, not in CI): peak
# throughput and latency at 2,000 req/s side by side with a bare axum+rustls server answering a
# fixed 200 in the same run, and resident memory with 10,000 namespaces and 1,000 schedules.
# Loopback only; each measured phase lasts BENCH_SECONDS (default 5, at most 10).
# BENCH_DATA=platform runs it over the platform fixtures alone.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p backstop-webhook --bench load "$@"
