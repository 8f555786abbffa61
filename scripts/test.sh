#!/usr/bin/env bash
# Runs pg's whole test suite on a fresh machine: installs what the build needs, then
# runs every unit, property and end-to-end test of the workspace, and the demo
# (the README's first command must keep working, exit status included).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --locked
scripts/demo.sh > /dev/null
echo "demo: ok"
