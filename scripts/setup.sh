#!/usr/bin/env bash
# Installs what building pg needs and the machine may lack: Debian's RocksDB (linked
# instead of compiling its C++ for ~20 minutes), libclang (for its bindings) and git
# (the tests use it as the oracle of interop).
# Idempotent: installs nothing when everything is there.
set -euo pipefail
needed=(librocksdb-dev libclang-dev git)
missing=()
for pkg in "${needed[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo is missing: install Rust (https://rustup.rs)" >&2; exit 1; }
