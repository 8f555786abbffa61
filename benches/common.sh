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

# Sets $source_repo: the repository given as $2 if any, else a generated history of
# $1 commits (benches/gen_history.py) whose HEAD is main; prints its size.
history_or_generated() {
  local commits=$1
  if [ $# -ge 2 ]; then
    source_repo=$(cd "$2" && pwd)
  else
    echo "generating $commits commits..."
    source_repo="$work/source.git"
    git init -q --bare "$source_repo"
    python3 "$here/gen_history.py" "$commits" | git -C "$source_repo" fast-import --quiet
    git -C "$source_repo" gc -q
    git -C "$source_repo" symbolic-ref HEAD refs/heads/main
  fi
  echo "history: $(git -C "$source_repo" rev-list --count --all) commits, $(git -C "$source_repo" count-objects -v | awk '/^(count|in-pack):/ { s += $2 } END { print s }') objects"
}

# Runs a command, its output dropped (its errors shown if it fails); sets $secs and
# $mb (peak RSS, from /usr/bin/time).
measure() {
  /usr/bin/time -f "%e %M" -o "$work/time.log" "$@" >/dev/null 2>"$work/err.log" || { cat "$work/err.log" >&2; exit 1; }
  local kb
  read -r secs kb < "$work/time.log"
  mb=$((kb / 1024))
}

# $1 / $2 to two decimals ("-" when there is nothing to compare with).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "-") print "-"; else printf "%.2f", a / b }'; }
