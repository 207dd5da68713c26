#!/usr/bin/env bash
# The one command that runs every test (README "Tests"). Tests that need Docker, kind or a
# cluster check for their tools first and print why they skip.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo nextest run --workspace --locked --no-fail-fast "$@"
