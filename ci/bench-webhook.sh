#!/usr/bin/env bash
# Load benchmark of `backstop-webhook serve` over real TLS (on demand, not in CI): peak
# throughput and latency at 2,000 req/s side by side with a bare axum+rustls server answering a
# fixed 200 in the same run, and resident memory with 10,000 namespaces and 1,000 schedules.
# Loopback only. A server's peak is its best rate over 8, 16, 32 and 64 connections; the sweep
# runs in BENCH_ROUNDS interleaved rounds (default 3, at most 9) of BENCH_SECONDS per phase
# (default 3, at most 10), and the ratio reported is the median round's. The figures in
# docs/benchmarks.md were taken with BENCH_ROUNDS=5 BENCH_SECONDS=4.
# BENCH_DATA=platform runs it over the platform fixtures alone; BENCH_LOG_FORMAT=text logs as
# the default text format instead of the deployed JSON lines; BENCH_WEBHOOK_BIN=path drives
# another build of the webhook; BENCH_COMPARE_BIN=path runs a second build in the same rounds and
# prints the median of its per-round ratios to bare and to the first build (A/B on a drifting
# machine).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p backstop-webhook --bench load "$@"
