#!/usr/bin/env bash
# pg fsck against git fsck on the same history, in the same run: time and peak RSS.
#
#   benches/fsck.sh GIT_REPO        a repository to check (imported into pg first)
#   benches/fsck.sh                 a generated history of 100,000 commits
#                                   (benches/gen_history.py)
#   FSCK_COMMITS=N benches/fsck.sh  a generated history of N commits
#
# Each is run twice, taking turns; the second run of each counts (the first warms
# the page cache for both). Prints time and memory ratios pg/git.
set -euo pipefail
source "$(dirname "$0")/common.sh"

history_or_generated "${FSCK_COMMITS:-100000}" "$@"
mkdir "$work/pg" && (cd "$work/pg" && "$pg" init >/dev/null && "$pg" import git --no-checkout "$source_repo" >/dev/null 2>&1)

sync
for _ in 1 2; do
  measure sh -c "cd '$work/pg' && exec '$pg' fsck"
  pg_secs=$secs pg_mb=$mb
  measure git -C "$source_repo" fsck --no-progress
done
printf 'fsck   pg %8.2fs %6d MB   git %8.2fs %6d MB   time pg/git %s   memory pg/git %s\n' \
  "$pg_secs" "$pg_mb" "$secs" "$mb" "$(ratio "$pg_secs" "$secs")" "$(ratio "$pg_mb" "$mb")"
