#!/usr/bin/env bash
# pg blame against git blame on long-lived files of a real history, in the
# same run.
#
#   benches/blame.sh GIT_REPO [FILE...]
#
# GIT_REPO: a git repository, e.g. a `fetch`ed rust-analyzer. FILEs default to
# rust-analyzer's most edited ones. Prints, per file, the median of 3 runs of
# each with peak RSS, the ratio, and how many lines the two blame on a
# different commit (compared by author time, subject, line and path).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 GIT_REPO [FILE...]" >&2; exit 2; }
source "$(dirname "$0")/common.sh"
history_or_generated 0 "$1"
shift
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(Cargo.toml crates/ide/src/lib.rs crates/rust-analyzer/src/config.rs crates/hir/src/lib.rs)

git clone -q --no-local "$source_repo" "$work/git"
mkdir "$work/pg"
measure "$pg" -C "$work/pg" init -q
measure "$pg" -C "$work/pg" import git "$work/git"
echo "imported into pg in ${secs}s (${mb} MB)"

median3() {
  local runs=()
  for _ in 1 2 3; do measure "$@"; runs+=("$secs"); done
  secs=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p)
}
for file in "${files[@]}"; do
  median3 "$pg" -C "$work/pg" blame "$file"; pg_s=$secs; pg_mb=$mb
  median3 git -C "$work/git" blame "$file"; git_s=$secs; git_mb=$mb
  "$pg" -C "$work/pg" blame --json "$file" | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    print(r["author_time"], r["origin_line"], r["path"], r["summary"])' > "$work/pg.txt"
  git -C "$work/git" blame --line-porcelain "$file" | python3 -c '
import sys
origin = time = summary = None
for line in sys.stdin.buffer.read().decode("utf-8", "replace").split("\n"):
    f = line.split(" ")
    if len(f) >= 3 and len(f[0]) == 40 and not line.startswith("\t"):
        origin = f[1]
    elif line.startswith("author-time "):
        time = f[1]
    elif line.startswith("summary "):
        summary = line[8:]
    elif line.startswith("filename "):
        print(time, origin, line[9:], summary)' > "$work/git.txt"
  lines=$(wc -l < "$work/git.txt")
  differ=$(paste -d '\n' "$work/pg.txt" "$work/git.txt" | paste - - | awk -F '\t' '$1 != $2' | wc -l)
  echo "$file ($lines lines): pg ${pg_s}s (${pg_mb} MB), git ${git_s}s (${git_mb} MB), pg/git $(ratio "$pg_s" "$git_s"); lines blamed differently: $differ"
done
