#!/usr/bin/env bash
# Everyday commands, pg against git on the same generated tree in the same run.
#
#   benches/everyday.sh [FILES] [SIZE_MB]     (defaults: 20000 files, 200 MB)
#
# Builds pg in release mode, generates the tree once, copies it for each tool, then
# times `add -A && commit` and `status` (clean, and after editing 10 files) and
# prints each ratio pg/git (below 1.0: pg is faster). Status timings are the median
# of 5 runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
files=${1:-20000}
size_mb=${2:-200}

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p pg-cli
pg="$root/target/release/pg"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PG_AUTHOR_NAME=bench PG_AUTHOR_EMAIL=bench@example.com
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

echo "generating $files files (~$size_mb MB)..."
python3 "$here/gen_tree.py" "$work/tree" "$files" "$size_mb"
cp -r "$work/tree" "$work/pg"
cp -r "$work/tree" "$work/git"
echo "tree: $(du -sh "$work/tree" | cut -f1), $(find "$work/tree" -type f | wc -l) files"

# seconds (float) that a command takes, run in a directory
timeit() {
  local dir=$1; shift
  local start=$EPOCHREALTIME
  (cd "$dir" && "$@" >/dev/null)
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f\n", b - a }'
}

median5() {
  local dir=$1; shift
  for _ in 1 2 3 4 5; do timeit "$dir" "$@"; done | sort -g | sed -n 3p
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

report() {
  printf '%-28s pg %7.3fs  git %7.3fs  ratio pg/git %s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"
}

(cd "$work/pg" && "$pg" init >/dev/null)
(cd "$work/git" && git init -q && git config core.fsmonitor false)
sync

pg_add=$(timeit "$work/pg" sh -c "'$pg' add -A && '$pg' commit -m initial")
git_add=$(timeit "$work/git" sh -c "git add -A && git commit -q -m initial")
report "add -A && commit" "$pg_add" "$git_add"

pg_clean=$(median5 "$work/pg" "$pg" status)
git_clean=$(median5 "$work/git" git status)
report "status (clean)" "$pg_clean" "$git_clean"

for dir in pg git; do
  for i in 00007 01234 02345 03456 04567 05678 06789 07890 08901 09012; do
    f=$(find "$work/$dir" -name "f$i.txt" | head -1)
    echo "edited" >> "$f"
  done
done
pg_dirty=$(median5 "$work/pg" "$pg" status)
git_dirty=$(median5 "$work/git" git status)
report "status (10 files edited)" "$pg_dirty" "$git_dirty"

echo "sizes: pg $(du -sh "$work/pg/.pg" | cut -f1), git $(du -sh "$work/git/.git" | cut -f1)"
