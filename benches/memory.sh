#!/usr/bin/env bash
# Peak memory (and time) of what grows with a history, pg against git on the same
# input in the same run: both imports, fsck, and a clone's client.
#
#   benches/memory.sh GIT_REPO        a repository to measure
#   benches/memory.sh                 a generated history of 100,000 commits
#                                     (benches/gen_history.py)
#   MEMORY_COMMITS=N benches/memory.sh  a generated history of N commits
#
# Rows (peak RSS from /usr/bin/time, in MB; seconds):
#   import git        pg import git (gix, object by object); git has no such step
#   import stream     pg import git-fast-export  vs  git fast-import, same stream
#   fsck              pg fsck of the imported repository  vs  git fsck of the source
#   clone (client)    pg clone from pg serve  vs  git clone from git daemon, loopback
set -euo pipefail
source "$(dirname "$0")/common.sh"

history_or_generated "${MEMORY_COMMITS:-100000}" "$@"

row() { printf '%-16s pg %6d MB %8.2fs   git %6s MB %8ss   memory pg/git %s\n' "$1" "$2" "$3" "$4" "$5" "$6"; }
sync

mkdir "$work/pg" && (cd "$work/pg" && "$pg" init >/dev/null)
measure sh -c "cd '$work/pg' && exec '$pg' import git --no-checkout '$source_repo'"
row "import git" "$mb" "$secs" - - -

git -C "$source_repo" fast-export --all --reencode=no --tag-of-filtered-object=drop > "$work/stream"
echo "stream: $(du -h "$work/stream" | cut -f1)"
mkdir "$work/pg-stream" && (cd "$work/pg-stream" && "$pg" init >/dev/null)
git init -q --bare "$work/git-stream"
measure sh -c "cd '$work/pg-stream' && exec '$pg' import git-fast-export --no-checkout '$work/stream'"
pg_mb=$mb pg_secs=$secs
measure sh -c "exec git -C '$work/git-stream' fast-import --quiet < '$work/stream'"
row "import stream" "$pg_mb" "$pg_secs" "$mb" "$secs" "$(ratio "$pg_mb" "$mb")"
rm -rf "$work/pg-stream" "$work/git-stream" "$work/stream"

measure sh -c "cd '$work/pg' && exec '$pg' fsck"
pg_mb=$mb pg_secs=$secs
measure git -C "$source_repo" fsck --no-progress
row "fsck" "$pg_mb" "$pg_secs" "$mb" "$secs" "$(ratio "$pg_mb" "$mb")"

head=$(git -C "$source_repo" symbolic-ref --short HEAD)
(cd "$work/pg" && "$pg" switch "$head" >/dev/null 2>&1 || true)
(cd "$work/pg" && exec "$pg" serve --listen /ip4/127.0.0.1/tcp/0 --no-mdns > "$work/serve.out" 2>/dev/null) &
server=$!
port=$((20000 + RANDOM % 10000))
ln -s "$source_repo" "$work/source-link.git"
git daemon --export-all --base-path="$work" --listen=127.0.0.1 --port="$port" --reuseaddr 2>/dev/null &
daemon=$!
trap 'kill $server $daemon 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
url=$(awk '{ print $2 }' "$work/serve.out")
sleep 0.5
export PG_HOME="$work/client-home"
measure "$pg" clone "$url" "$work/pg-clone"
pg_mb=$mb pg_secs=$secs
measure git clone -q "git://127.0.0.1:$port/source-link.git" "$work/git-clone"
row "clone (client)" "$pg_mb" "$pg_secs" "$mb" "$secs" "$(ratio "$pg_mb" "$mb")"
