#!/usr/bin/env bash
# pg's main job on an embedded default: builds pg, then in a temporary directory
# makes a repository, commits, branches, merges (one file by key, one through the
# queue for people), shows the log, provenance and the operation log, undoes, and
# serves it to a second node that clones it and fetches a new commit, and checks
# the repository's integrity.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
# From the root: .cargo/config.toml there (how RocksDB is linked) is read from the
# directory cargo runs in, not from the manifest's.
(cd "$root" && cargo build --quiet --locked -p pg-cli)
pg="${CARGO_TARGET_DIR:-$root/target}/debug/pg"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export PG_HOME="$work/.pg-home" PG_AUTHOR_NAME="Ada Demo" PG_AUTHOR_EMAIL="ada@example.com"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s$ pg %s%s\n' "$bold" "$*" "$plain"; "$pg" "$@"; }

step init
mkdir -p src docs
printf 'fn main() {\n    println!("hello");\n}\n' > src/main.rs
printf '# Demo\n\nA repository made by scripts/demo.sh.\n' > README.md
printf 'target/\n' > .pgignore
mkdir -p target && echo "build output" > target/out
step status
step add -A
step commit -m "Initial commit"
step switch -c feature
printf 'fn main() {\n    println!("hello, pg");\n}\n' > src/main.rs
printf 'Notes\n' > docs/notes.md
step add -A
step diff --staged
step commit -m "Greet pg, add notes"
step switch main
printf 'fn main() {\n    println!("hello, world");\n}\n' > src/main.rs
printf '{\n  "name": "demo",\n  "version": "0.1.0"\n}\n' > package.json
step add -A
step commit -m "Greet the world, add package.json"
step switch -c release
printf '{\n  "name": "demo",\n  "version": "0.2.0"\n}\n' > package.json
step commit -a -m "Release 0.2.0"
step switch main
printf '{\n  "name": "demo",\n  "version": "0.1.0",\n  "license": "MIT"\n}\n' > package.json
step commit -a -m "License"
step merge release
cat package.json
step merge feature || true   # a conflict: both sides changed the same line
step status
cat src/main.rs
printf 'fn main() {\n    println!("hello, world and pg");\n}\n' > src/main.rs
step resolve src/main.rs
step merge --continue
step show --merge-provenance
step log --oneline
step branch
step tag -m "first release" v0.1

# Sync: serve this repository over libp2p (TCP on loopback; no mDNS, so nothing
# leaves this machine), clone it as another node would (its own key in its own
# PG_HOME) by its bare repository id, found through Kademlia from the serving
# peer, then commit here and fetch there.
"$pg" serve --listen /ip4/127.0.0.1/tcp/0 --no-mdns > "$work/serve.out" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
printf '\n%s$ pg serve --listen /ip4/127.0.0.1/tcp/0 --no-mdns%s\n' "$bold" "$plain"
cat "$work/serve.out"
id=$(awk '{ print $1 }' "$work/serve.out")
peer=$(awk '{ print $2 }' "$work/serve.out" | cut -d'#' -f1)
(export PG_HOME="$work/.other-home"; cd "$work" && step clone "$id" "$work/copy" --no-mdns --peer "$peer")
printf 'hello again\n' >> README.md
step commit -a -m "More words"
(export PG_HOME="$work/.other-home"; cd "$work/copy" && step fetch && step log --oneline -n 3 origin/main)
kill $server 2>/dev/null || true
step op log
step undo
step undo
step log --oneline
step fsck
echo
echo "demo finished: every step above ran against a real RocksDB store in $work"
