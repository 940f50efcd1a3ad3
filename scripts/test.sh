#!/usr/bin/env bash
# Runs the whole test suite: unit tests, CLI tests on temp buckets, and fleet tests
# against a local fleet of sshd workers on 127.0.0.0/8 (needs root; setup installs sshd).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export MAAND_TEST=1
# A test that would skip for want of a tool (sshd, sudo, bun, Prometheus) fails instead.
export MAAND_TEST_NO_SKIP=1
cargo build --workspace --all-targets
cargo test --workspace -- --test-threads 4
