#!/usr/bin/env bash
# pg grep against git grep and ripgrep, on a real checkout and its history, in
# the same run.
#
#   benches/grep.sh GIT_REPO [PATTERN] [SAMPLE]
#
# GIT_REPO: a git repository (bare or not), e.g. a `fetch`ed rust-analyzer.
# PATTERN defaults to a Rust-looking regex. Prints, each with peak RSS:
# - the working copy: pg grep, git grep and rg (ripgrep, `apt install ripgrep`),
#   medians of 5 runs, and whether all three found the same lines;
# - the history: pg grep --history over every commit, against git grep PATTERN
#   over SAMPLE commits spread evenly over `git rev-list --all` (all of them would
#   take git hours), scaled to the whole history, and whether every line git
#   found in its sample is among pg's.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 GIT_REPO [PATTERN] [SAMPLE]" >&2; exit 2; }
pattern=${2:-'fn [a-z_]+_hash\('}
sample=${3:-300}
source "$(dirname "$0")/common.sh"
history_or_generated 0 "$1"

git clone -q --no-local "$source_repo" "$work/git"
(cd "$work/git" && git fetch -q origin '+refs/heads/*:refs/heads/*' 2>/dev/null || true)
mkdir "$work/pg"
measure "$pg" -C "$work/pg" init -q
measure "$pg" -C "$work/pg" import git "$work/git"
echo "imported into pg in ${secs}s (${mb} MB)"
echo "checkout: $(git -C "$work/git" ls-files | wc -l) files"

# Median seconds of 5 runs of a command (output dropped); sets $secs and $mb (of the last).
median5() {
  local runs=()
  for _ in 1 2 3 4 5; do measure "$@"; runs+=("$secs"); done
  secs=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 3p)
}
cd "$work/pg"
median5 "$pg" grep -n "$pattern"; pg_s=$secs; pg_mb=$mb
cd "$work/git"
median5 git grep -n -E "$pattern"; git_s=$secs; git_mb=$mb
median5 rg -n --no-heading "$pattern"; rg_s=$secs; rg_mb=$mb
pg_lines=$(cd "$work/pg" && "$pg" grep -n "$pattern" | sort | md5sum)
git_lines=$(git grep -n -E "$pattern" | sort | md5sum)
rg_lines=$(rg -n --no-heading "$pattern" | sort | md5sum)
same=$([ "$pg_lines" = "$git_lines" ] && [ "$pg_lines" = "$rg_lines" ] && echo yes || echo NO)
echo "working copy: pg ${pg_s}s (${pg_mb} MB), git grep ${git_s}s (${git_mb} MB), rg ${rg_s}s (${rg_mb} MB); same lines: $same"
echo "  pg/git $(ratio "$pg_s" "$git_s")  pg/rg $(ratio "$pg_s" "$rg_s")"

cd "$work/pg"
measure "$pg" grep --history --json "$pattern"; hist_s=$secs; hist_mb=$mb
"$pg" grep --history --json "$pattern" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
print("\n".join(sorted({l["text"] for r in rows for l in r["lines"]})))' > "$work/pg-history.txt"
cd "$work/git"
all=$(git rev-list --all | wc -l)
git rev-list --all | awk -v n="$all" -v k="$sample" 'NR % int(n / k > 1 ? n / k : 1) == 0' | head -n "$sample" > "$work/sample"
taken=$(wc -l < "$work/sample")
measure sh -c "git grep -h -I -E '$pattern' \$(cat '$work/sample')"; git_sample_s=$secs; git_hist_mb=$mb
git grep -h -I -E "$pattern" $(cat "$work/sample") | sort -u > "$work/git-sample.txt" || true
missing=$(comm -23 "$work/git-sample.txt" "$work/pg-history.txt" | wc -l)
git_all_s=$(awk -v s="$git_sample_s" -v t="$taken" -v n="$all" 'BEGIN { printf "%.1f", s * n / t }')
echo "history ($all commits): pg --history ${hist_s}s (${hist_mb} MB), $(wc -l < "$work/pg-history.txt") distinct lines"
echo "  git grep over $taken sampled commits ${git_sample_s}s (${git_hist_mb} MB), so ~${git_all_s}s for all; lines git found that pg missed: $missing"
echo "  git/pg $(ratio "$git_all_s" "$hist_s") (pg is this many times faster)"
