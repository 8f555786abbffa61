#!/usr/bin/env bash
# Everyday commands, pg against git on the same tree in the same run.
#
#   benches/everyday.sh [FILES] [SIZE_MB]     a generated tree (defaults: 20000 files, 200 MB)
#   benches/everyday.sh --tree DIR            a copy of a real checkout (its .git and .pg left out)
#
# Builds pg in release mode, copies the tree once for each tool, then times
# `add -A && commit` and `status` (clean, and after editing 10 files), pg's with
# and without its watcher (`core.watch`), and prints each ratio pg/git (below
# 1.0: pg is faster) with the peak RSS of one run of each. Status timings are
# medians of 15 runs of each tool, alternated.
set -euo pipefail
tree=
if [ "${1:-}" = --tree ]; then
  [ $# -eq 2 ] || { echo "usage: $0 --tree DIR" >&2; exit 2; }
  tree=$(cd "$2" && pwd)
  shift 2
fi
files=${1:-20000}
size_mb=${2:-200}
source "$(dirname "$0")/common.sh"
# The watcher stops by itself when its working copy goes away; stopping it first
# keeps it from outliving the run by a moment.
trap '"$pg" -C "$work/pg" watch stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

mkdir "$work/tree"
if [ -n "$tree" ]; then
  echo "copying $tree..."
  tar -C "$tree" --exclude=./.git --exclude=./.pg -cf - . | tar -C "$work/tree" -xf -
else
  echo "generating $files files (~$size_mb MB)..."
  python3 "$here/gen_tree.py" "$work/tree" "$files" "$size_mb"
fi
cp -r "$work/tree" "$work/pg"
cp -r "$work/tree" "$work/git"
echo "tree: $(du -sh "$work/tree" | cut -f1), $(find "$work/tree" -type f | wc -l) files, $(find "$work/tree" -type d | wc -l) directories"

# seconds (float) that a command takes (run in this shell: a subshell's fork
# would add a millisecond to each side of a 15 ms comparison)
timeit() {
  local start=$EPOCHREALTIME
  "$@" >/dev/null
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f\n", b - a }'
}

# Runs pg status and git status alternately (so drift in the machine's state hits
# both alike) and sets pg_med and git_med to the medians of $rounds runs each,
# pg_mb and git_mb to the peak RSS of one more run of each.
rounds=15
median_status() {
  local pg_times=() git_times=()
  for _ in $(seq $rounds); do
    timeit "$pg" -C "$work/pg" status >"$work/secs"; pg_times+=("$(<"$work/secs")")
    timeit git -C "$work/git" status >"$work/secs"; git_times+=("$(<"$work/secs")")
  done
  local mid=$(( (rounds + 1) / 2 ))
  pg_med=$(printf '%s\n' "${pg_times[@]}" | sort -g | sed -n "${mid}p")
  git_med=$(printf '%s\n' "${git_times[@]}" | sort -g | sed -n "${mid}p")
  measure "$pg" -C "$work/pg" status; pg_mb=$mb
  measure git -C "$work/git" status; git_mb=$mb
}

report() {
  printf '%-38s pg %7.3fs %4s MB  git %7.3fs %4s MB  ratio pg/git %s\n' \
    "$1" "$pg_med" "$pg_mb" "$git_med" "$git_mb" "$(ratio "$pg_med" "$git_med")"
}

# Status of both, pg's without and then with its watcher. The first watched
# status starts the daemon and walks in full; the timed ones ask it.
status_both_ways() {
  "$pg" -C "$work/pg" config core.watch false
  median_status
  report "status ($1)"
  "$pg" -C "$work/pg" config core.watch true
  "$pg" -C "$work/pg" status >/dev/null
  median_status
  report "status ($1, pg watching)"
}

(cd "$work/pg" && "$pg" init >/dev/null)
# No automatic gc: after 20,000 loose objects git would start one in the background
# and disturb every timing that follows, pg's included. No fsmonitor: git's
# defaults are what pg is compared with.
(cd "$work/git" && git init -q && git config core.fsmonitor false && git config gc.auto 0)
sync

pg_med=$(timeit sh -c "cd '$work/pg' && '$pg' add -A && '$pg' commit -m initial"); pg_mb=-
git_med=$(timeit sh -c "cd '$work/git' && git add -A && git commit -q -m initial"); git_mb=-
report "add -A && commit"

# Let the kernel write back the gigabyte just created: status timings of ~50 ms
# are otherwise noise from the disk, for both tools.
sync; sleep 10

status_both_ways clean
# Ten files spread over the tree, the same in both copies.
total=$(cd "$work/git" && git ls-files | wc -l)
(cd "$work/git" && git ls-files | awk -v step=$((total / 10)) 'NR % step == 1' | head -10) > "$work/edits"
for dir in pg git; do
  while IFS= read -r f; do echo "edited" >> "$work/$dir/$f"; done < "$work/edits"
done
status_both_ways "10 files edited"
daemon=$("$pg" -C "$work/pg" watch status --json)
pid=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' <<< "$daemon")
echo "watcher: $(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["watched_directories"], "directories watched")' <<< "$daemon"), peak RSS $(awk '/VmHWM/ { printf "%d MB", $2 / 1024 }' "/proc/$pid/status")"
echo "sizes: pg $(du -sh "$work/pg/.pg" | cut -f1), git $(du -sh "$work/git/.git" | cut -f1)"
