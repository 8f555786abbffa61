#!/usr/bin/env bash
# Clone and fetch, pg against git, on the same history in the same run.
#
#   benches/clone.sh [COMMITS]     (default 10000 commits; benches/gen_history.py)
#
# Serves one repository with `pg serve` (libp2p, TCP on loopback) and the same with
# `git daemon` (git:// on loopback); times `pg clone` against `git clone` (median of
# three each, taking turns), then one
# new commit and `pg fetch` against `git fetch`. Prints time ratios pg/git and bytes
# moved (pg: the sync frames; git: the pack it received).
set -euo pipefail
commits=${1:-10000}
source "$(dirname "$0")/common.sh"

echo "generating $commits commits..."
git init -q --bare "$work/source.git"
python3 "$here/gen_history.py" "$commits" | git -C "$work/source.git" fast-import --quiet
git -C "$work/source.git" gc -q
# The generated branch is main: HEAD must name it, or git clone checks nothing out.
git -C "$work/source.git" symbolic-ref HEAD refs/heads/main
blob_bytes=$(git -C "$work/source.git" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' | awk '$1 == "blob" { s += $2 } END { print s }')
echo "history: $(git -C "$work/source.git" rev-list --count --all) commits, $((blob_bytes / 1000000)) MB of blobs"

mkdir "$work/origin"
(cd "$work/origin" && "$pg" init >/dev/null && "$pg" import git "$work/source.git" >/dev/null 2>&1)
(cd "$work/origin" && exec "$pg" serve --listen /ip4/127.0.0.1/tcp/0 --no-mdns > "$work/serve.out" 2>/dev/null) &
server=$!
port=$((20000 + RANDOM % 20000))
git daemon --export-all --base-path="$work" --listen=127.0.0.1 --port="$port" --reuseaddr 2>/dev/null &
daemon=$!
trap 'kill $server $daemon 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
url=$(awk '{ print $2 }' "$work/serve.out")
sleep 0.5

seconds() { local start end; start=$(date +%s.%N); "$@" >"$work/last.out" 2>&1; end=$(date +%s.%N); awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
sync
# The client is another node: its own key.
export PG_HOME="$work/client-home"
# Three clones each, taking turns (the first of each warms the servers' caches),
# into directories kept until the end: deleting thousands of files just before
# creating as many slows the filesystem for whoever comes next. The median counts.
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
pg_times=() git_times=()
for round in 1 2 3; do
  pg_times+=("$(seconds "$pg" clone "$url" "$work/pg-clone-$round")")
  [ "$round" = 1 ] && pg_clone_bytes=$(grep -o 'wire [0-9]*' "$work/last.out" | awk '{ print $2 }')
  git_times+=("$(seconds git clone -q "git://127.0.0.1:$port/source.git" "$work/git-clone-$round")")
done
pg_clone=$(median "${pg_times[@]}")
git_clone=$(median "${git_times[@]}")
mv "$work/pg-clone-1" "$work/pg-clone"
mv "$work/git-clone-1" "$work/git-clone"
git_clone_bytes=$(du -cb "$work"/git-clone/.git/objects/pack/*.pack | tail -1 | cut -f1)

# One new commit, the same in both origins.
printf 'commit refs/heads/main\ncommitter B <b@example.com> 1800000000 +0000\ndata 4\nnew\nfrom refs/heads/main^0\nM 644 inline bench-new.txt\ndata 6\nfresh\n\n' \
  | git -C "$work/source.git" fast-import --quiet
(cd "$work/origin" && "$pg" import git "$work/source.git" >/dev/null 2>&1)
pg_fetch=$(cd "$work/pg-clone" && seconds "$pg" fetch)
pg_fetch_bytes=$(grep -o 'wire [0-9]*' "$work/last.out" | awk '{ print $2 }')
before=$(du -cb "$work"/git-clone/.git/objects/pack/*.pack 2>/dev/null | tail -1 | cut -f1)
git_fetch=$(cd "$work/git-clone" && seconds git fetch -q origin)
after=$(du -cb "$work"/git-clone/.git/objects/pack/*.pack "$work"/git-clone/.git/objects/??/* 2>/dev/null | tail -1 | cut -f1)
git_fetch_bytes=$((after - before))

printf 'clone rounds   pg %s  git %s\n' "${pg_times[*]}" "${git_times[*]}"
printf 'clone (median) pg %7.2fs  git %7.2fs  time ratio pg/git %s\n' "$pg_clone" "$git_clone" "$(ratio "$pg_clone" "$git_clone")"
printf 'clone bytes    pg %9d  git %9d  ratio pg/git %s\n' "$pg_clone_bytes" "$git_clone_bytes" "$(ratio "$pg_clone_bytes" "$git_clone_bytes")"
printf 'fetch (1 commit) pg %5.3fs  git %5.3fs  time ratio pg/git %s\n' "$pg_fetch" "$git_fetch" "$(ratio "$pg_fetch" "$git_fetch")"
printf 'fetch bytes    pg %9d  git %9d\n' "$pg_fetch_bytes" "$git_fetch_bytes"
