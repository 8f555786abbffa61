#!/usr/bin/env bash
# Runs pg's whole test suite on a fresh machine: installs what the build needs, then
# runs every unit, property and end-to-end test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --locked
