# Shared set-up of the benchmark scripts (sourced): builds pg in release mode and
# makes a scratch directory removed on exit. Sets $here, $root, $pg and $work.
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# From the root, where .cargo/config.toml (how RocksDB is linked) is read.
(cd "$root" && cargo build --release --quiet -p pg-cli)
pg="${CARGO_TARGET_DIR:-$root/target}/release/pg"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PG_AUTHOR_NAME=bench PG_AUTHOR_EMAIL=bench@example.com PG_HOME="$work/home"
