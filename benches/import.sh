#!/usr/bin/env bash
# Import speed and size, pg against git, on the same stream in the same run.
#
#   benches/import.sh GIT_REPO     a repository to measure
#   benches/import.sh              a generated history (benches/gen_history.py:
#                                  20,000 commits, a tree growing to 3,000 files)
#
# Exports the repository once with `git fast-export`, then times
# `pg import git-fast-export FILE` against `git fast-import < FILE` into fresh
# repositories, and compares the pg repository's size with git's after `git gc`.
# Then times `pg export git --all` (one pack) of what pg imported against the same
# `git fast-import` (which writes a pack of the same history), and compares the
# packs' sizes. Prints the ratios pg/git and each tool's peak memory.
set -euo pipefail
source "$(dirname "$0")/common.sh"

history_or_generated 20000 "$@"
git -C "$source_repo" fast-export --all --reencode=no --tag-of-filtered-object=drop > "$work/stream"
echo "stream: $(du -h "$work/stream" | cut -f1), $(grep -c '^commit ' "$work/stream" || true) commits"

mkdir "$work/pg" && (cd "$work/pg" && "$pg" init >/dev/null)
git init -q --bare "$work/git"
sync
# --no-checkout: git fast-import writes no working copy either.
measure sh -c "cd '$work/pg' && '$pg' import git-fast-export --no-checkout '$work/stream' 2>/dev/null"
pg_secs=$secs pg_peak=$mb
measure sh -c "git -C '$work/git' fast-import --quiet < '$work/stream'"
git_secs=$secs git_peak=$mb
git_pack=$(du -sk "$work/git/objects/pack" | cut -f1)
measure sh -c "cd '$work/pg' && '$pg' export git --all '$work/exported.git' 2>/dev/null"
export_secs=$secs export_peak=$mb
export_pack=$(du -sk "$work/exported.git/objects/pack" | cut -f1)
git -C "$work/exported.git" fsck --strict --no-progress 2>&1 | grep -v '^notice' || true
git -C "$work/git" gc -q --aggressive 2>/dev/null || git -C "$work/git" gc -q
pg_size=$(du -sk "$work/pg/.pg" | cut -f1)
git_size=$(du -sk "$work/git" | cut -f1)

printf 'import time   pg %7.2fs   git %7.2fs   ratio pg/git %s\n' "$pg_secs" "$git_secs" "$(ratio "$pg_secs" "$git_secs")"
printf 'size          pg %7d KB git %7d KB ratio pg/git %s (git after gc)\n' "$pg_size" "$git_size" "$(ratio "$pg_size" "$git_size")"
printf 'peak memory   pg %7d MB git %7d MB\n' "$pg_peak" "$git_peak"
printf 'export time   pg %7.2fs   git %7.2fs   ratio pg/git %s (pg export git vs git fast-import)\n' "$export_secs" "$git_secs" "$(ratio "$export_secs" "$git_secs")"
printf 'export pack   pg %7d KB git %7d KB ratio pg/git %s (peak memory pg %d MB)\n' "$export_pack" "$git_pack" "$(ratio "$export_pack" "$git_pack")" "$export_peak"
# Same history on both sides: every ref's git id must agree.
(cd "$work/pg" && "$pg" show-ref --git-ids) > "$work/pg.refs"
git -C "$work/git" show-ref > "$work/git.refs"
if diff -q "$work/pg.refs" "$work/git.refs" >/dev/null; then echo "ids: identical for every ref"; else echo "ids: DIFFER"; diff "$work/pg.refs" "$work/git.refs" | head; fi
git -C "$work/exported.git" show-ref > "$work/exported.refs"
if diff -q "$work/exported.refs" "$work/git.refs" >/dev/null; then echo "exported ids: identical for every ref"; else echo "exported ids: DIFFER"; diff "$work/exported.refs" "$work/git.refs" | head; fi
