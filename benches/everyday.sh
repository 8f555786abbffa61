#!/usr/bin/env bash
# Everyday commands, pg against git on the same generated tree in the same run.
#
#   benches/everyday.sh [FILES] [SIZE_MB]     (defaults: 20000 files, 200 MB)
#
# Builds pg in release mode, generates the tree once, copies it for each tool, then
# times `add -A && commit` and `status` (clean, and after editing 10 files) and
# prints each ratio pg/git (below 1.0: pg is faster). Status timings are medians of
# 15 runs of each tool, alternated.
set -euo pipefail
files=${1:-20000}
size_mb=${2:-200}
source "$(dirname "$0")/common.sh"
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

# Runs pg status and git status alternately (so drift in the machine's state hits
# both alike) and sets pg_med and git_med to the medians of $rounds runs each.
rounds=15
median_status() {
  local pg_times=() git_times=()
  for _ in $(seq $rounds); do
    pg_times+=("$(timeit "$work/pg" "$pg" status)")
    git_times+=("$(timeit "$work/git" git status)")
  done
  local mid=$(( (rounds + 1) / 2 ))
  pg_med=$(printf '%s\n' "${pg_times[@]}" | sort -g | sed -n "${mid}p")
  git_med=$(printf '%s\n' "${git_times[@]}" | sort -g | sed -n "${mid}p")
}


report() {
  printf '%-28s pg %7.3fs  git %7.3fs  ratio pg/git %s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"
}

(cd "$work/pg" && "$pg" init >/dev/null)
# No automatic gc: after 20,000 loose objects git would start one in the background
# and disturb every timing that follows, pg's included.
(cd "$work/git" && git init -q && git config core.fsmonitor false && git config gc.auto 0)
sync

pg_add=$(timeit "$work/pg" sh -c "'$pg' add -A && '$pg' commit -m initial")
git_add=$(timeit "$work/git" sh -c "git add -A && git commit -q -m initial")
report "add -A && commit" "$pg_add" "$git_add"

# Let the kernel write back the gigabyte just created: status timings of ~50 ms
# are otherwise noise from the disk, for both tools.
sync; sleep 10

median_status
report "status (clean)" "$pg_med" "$git_med"

for dir in pg git; do
  for i in 7 1234 2345 3456 4567 5678 6789 7890 8901 9012; do
    # gen_tree.py's layout: d<i%20>/s<(i/20)%20>/f<i>.txt
    f=$(printf '%s/%s/d%02d/s%02d/f%05d.txt' "$work" "$dir" $((i % 20)) $(((i / 20) % 20)) "$i")
    echo "edited" >> "$f"
  done
done
median_status
report "status (10 files edited)" "$pg_med" "$git_med"

echo "sizes: pg $(du -sh "$work/pg/.pg" | cut -f1), git $(du -sh "$work/git/.git" | cut -f1)"
