#!/usr/bin/env bash
# The one command that runs every test (README "Tests"). None needs Docker, kind or a cluster
# yet; one that does must check for its tools first and print why it skips.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo nextest run --workspace --locked --no-fail-fast "$@"
