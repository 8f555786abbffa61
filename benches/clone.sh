#!/usr/bin/env bash
# Clone and fetch, pg against git, on the same history in the same run.
#
#   benches/clone.sh [COMMITS]     (default 12000 commits, ~57 MB of blobs;
#                                   benches/gen_history.py)
#   benches/clone.sh GIT_REPO      a real history (copied first: the fetch rounds
#                                   add commits to its HEAD branch)
#
# Serves one repository with `pg serve` (libp2p, TCP on loopback) and the same with
# `git daemon` (git:// on loopback); times `pg clone` against `git clone` (median of
# three each, taking turns), then `pg fetch` against `git fetch` of one new commit,
# twice: a file added at the top, and a file changed three directories down. Prints time ratios pg/git, and bytes two ways, each measured from a
# fourth, untimed clone (and its fetch) through a counting TCP relay
# (benches/tcp_count.py):
#   objects: what carries the objects (pg: its sync/objects and sync/part frames;
#            git: the pack, as GIT_TRACE_PACKFILE records it);
#   wire:    every byte of the TCP connections, both ways (pg: noise, yamux,
#            identify and ping included; git://: none of that exists).
set -euo pipefail
source "$(dirname "$0")/common.sh"

if [ $# -ge 1 ] && [ -d "$1" ]; then
  # Local clones hard-link the packs: the copy is quick, and the original untouched.
  git clone -q --bare "$1" "$work/source.git"
else
  commits=${1:-12000}
  echo "generating $commits commits..."
  git init -q --bare "$work/source.git"
  python3 "$here/gen_history.py" "$commits" | git -C "$work/source.git" fast-import --quiet
  git -C "$work/source.git" gc -q
  # The generated branch is main: HEAD must name it, or git clone checks nothing out.
  git -C "$work/source.git" symbolic-ref HEAD refs/heads/main
fi
branch=$(git -C "$work/source.git" symbolic-ref --short HEAD)
blob_bytes=$(git -C "$work/source.git" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' | awk '$1 == "blob" { s += $2 } END { printf "%.0f\n", s }')
echo "history: $(git -C "$work/source.git" rev-list --count --all) commits, $((blob_bytes / 1000000)) MB of blobs"

mkdir "$work/origin"
(cd "$work/origin" && "$pg" init >/dev/null && "$pg" import git "$work/source.git" >/dev/null 2>&1)
(cd "$work/origin" && exec "$pg" serve --listen /ip4/127.0.0.1/tcp/0 --no-mdns > "$work/serve.out" 2>/dev/null) &
server=$!
port=$((20000 + RANDOM % 10000))
git daemon --export-all --base-path="$work" --listen=127.0.0.1 --port="$port" --reuseaddr 2>/dev/null &
daemon=$!
for _ in $(seq 50); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
url=$(awk '{ print $2 }' "$work/serve.out")
pg_port=$(echo "$url" | sed 's,.*/tcp/\([0-9]*\)/.*,\1,')
# The relays the byte counts go through: one in front of each server.
pg_relay=$((30000 + RANDOM % 5000)) git_relay=$((35000 + RANDOM % 5000))
python3 "$here/tcp_count.py" "$pg_relay" "$pg_port" "$work/pg.wire" &
relays=$!
python3 "$here/tcp_count.py" "$git_relay" "$port" "$work/git.wire" &
relays="$relays $!"
trap 'kill $server $daemon $relays 2>/dev/null || true; rm -rf "$work"' EXIT
relayed_url=$(echo "$url" | sed "s,/tcp/$pg_port/,/tcp/$pg_relay/,")
sleep 0.5

seconds() { local start end; start=$(date +%s.%N); "$@" >"$work/last.out" 2>&1; end=$(date +%s.%N); awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'; }
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
  git_times+=("$(seconds git clone -q "git://127.0.0.1:$port/source.git" "$work/git-clone-$round")")
done
pg_clone=$(median "${pg_times[@]}")
git_clone=$(median "${git_times[@]}")

# Bytes: relayed wire totals (the relay logs a connection when it closes).
wire_total() { sleep 0.3; awk '{ s += $1 + $2 } END { print s + 0 }' "$1"; : > "$1"; }
"$pg" clone "$relayed_url" "$work/pg-relayed" >"$work/last.out" 2>&1
pg_clone_objects=$(grep -o 'wire [0-9]*' "$work/last.out" | awk '{ print $2 }')
pg_clone_wire=$(wire_total "$work/pg.wire")
GIT_TRACE_PACKFILE="$work/clone.pack" git clone -q "git://127.0.0.1:$git_relay/source.git" "$work/git-relayed"
git_clone_objects=$(stat -c %s "$work/clone.pack")
git_clone_wire=$(wire_total "$work/git.wire")

bytes() { printf '%-16s pg %9d  git %9d  ratio pg/git %s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
printf 'clone rounds     pg %s  git %s\n' "${pg_times[*]}" "${git_times[*]}"
printf 'clone (median)   pg %8.2fs  git %8.2fs  time ratio pg/git %s\n' "$pg_clone" "$git_clone" "$(ratio "$pg_clone" "$git_clone")"
bytes 'clone objects' "$pg_clone_objects" "$git_clone_objects"
bytes 'clone wire' "$pg_clone_wire" "$git_clone_wire"

# One new commit writing the file $2, the same in both origins; then a fetch by
# each, timed into the first clones, and measured into the relayed ones.
fetch_round() {
  printf 'commit refs/heads/%s\ncommitter B <b@example.com> 1800000000 +0000\ndata 4\nnew\nfrom refs/heads/%s^0\nM 644 inline %s\ndata 6\nfresh\n\n' "$branch" "$branch" "$2" \
    | git -C "$work/source.git" fast-import --quiet
  (cd "$work/origin" && "$pg" import git "$work/source.git" >/dev/null 2>&1)
  local pg_time git_time pg_objects pg_wire git_objects git_wire
  pg_time=$(cd "$work/pg-clone-1" && seconds "$pg" fetch)
  git_time=$(cd "$work/git-clone-1" && seconds git fetch -q origin)
  (cd "$work/pg-relayed" && "$pg" fetch >"$work/last.out" 2>&1)
  pg_objects=$(grep -o 'wire [0-9]*' "$work/last.out" | awk '{ print $2 }')
  pg_wire=$(wire_total "$work/pg.wire")
  (cd "$work/git-relayed" && GIT_TRACE_PACKFILE="$work/fetch.pack" git fetch -q origin)
  git_objects=$(stat -c %s "$work/fetch.pack")
  rm "$work/fetch.pack"
  git_wire=$(wire_total "$work/git.wire")
  printf '%-16s pg %8.3fs  git %8.3fs  time ratio pg/git %s\n' "$1" "$pg_time" "$git_time" "$(ratio "$pg_time" "$git_time")"
  bytes '  objects' "$pg_objects" "$git_objects"
  bytes '  wire' "$pg_wire" "$git_wire"
}
# A new file at the top, then a change to a file three directories down (whose
# directories are big: their next versions are what costs).
fetch_round 'fetch (1 commit)' bench-new.txt
fetch_round 'fetch (deep)' "$(git -C "$work/source.git" ls-tree -r --name-only "$branch" | sed -n '1500{p;q};${p}')"
