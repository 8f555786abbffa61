#!/usr/bin/env bash
# The merge engine on real merges, pg against git, on the same merges in the same run.
#
#   benches/merge-replay.sh GIT_REPO [N]   the N newest true merges of a repository
#   benches/merge-replay.sh                a generated history (benches/gen_merges.py:
#                                          300 merges made by git, conflicts resolved
#                                          as people do, some merges amended)
#
# Imports the repository with `pg import git`, replays its N newest true merges
# (both sides changed since the base) with `pg bench-merge`, and merges the same
# parents with `git merge-tree --write-tree --stdin`. Prints each tool's clean rate,
# identical-to-commit rate, wrong-clean count and total time.
set -euo pipefail
source "$(dirname "$0")/common.sh"

if [ $# -ge 1 ]; then
  source_repo=$(cd "$1" && pwd)
else
  echo "generating a history with merges..."
  source_repo="$work/source"
  python3 "$here/gen_merges.py" "$source_repo" 300
fi
limit=${2:-1000000}

mkdir "$work/pg"
(cd "$work/pg" && "$pg" init >/dev/null && "$pg" import git "$source_repo" >/dev/null 2>&1)
# Both replay the history of the repository's HEAD.
head=$(cd "$work/pg" && "$pg" rev-parse --git "$(git -C "$source_repo" rev-parse HEAD)")
sync
# Best of three runs for each tool (the git side does the same in merge_replay.py).
pg_secs=
for run in 1 2 3; do
  start=$(date +%s.%N)
  (cd "$work/pg" && "$pg" bench-merge "$head" --limit "$limit" --json > "$work/records.jsonl")
  end=$(date +%s.%N)
  pg_secs=$(awk -v a="$start" -v b="$end" -v best="$pg_secs" 'BEGIN { t = b - a; if (best != "" && best < t) t = best; printf "%.3f", t }')
done
python3 "$here/merge_replay.py" "$work/records.jsonl" "$source_repo" "$pg_secs"
