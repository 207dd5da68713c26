#!/usr/bin/env bash
# Soak of `backstop-webhook serve` (release build) over real TLS, on demand (not in CI): a fixed
# rate of reviews for a long time while the certificate rotates through a Kubernetes
# Secret-style `..data` symlink swap (old generation removed, as the kubelet does). Prints a line
# per minute and a Markdown table: failed requests, RSS at start/peak/end and its trend, latency
# percentiles against the 2 ms p99 target, the machine's load average; fails on any failed
# request or handshake, or a rotated certificate not served within 15 s.
#   SOAK_SECONDS          duration (default 1800: 30 minutes)
#   SOAK_RATE             requests per second (default 1000)
#   SOAK_ROTATE_SECONDS   rotation period (default 60)
#   SOAK_CONNECTIONS      keep-alive connections of the load generator (default 8): half kept
#                         through every rotation, half re-opened every SOAK_REOPEN_SECONDS
#   SOAK_REOPEN_SECONDS   (default 5)
#   SOAK_DATA=platform    the platform fixtures alone instead of 10,000 namespaces
#   SOAK_PROFILE=dev      build profile (default: cargo bench's, the optimised release one);
#                         `dev` reuses a debug build, for a quick check of the soak itself
# Loopback only; the load generator shares the machine with the server.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p backstop-webhook --bench soak ${SOAK_PROFILE:+--profile "$SOAK_PROFILE"} "$@"
