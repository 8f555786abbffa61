#!/usr/bin/env bash
# Builds a git repository in $1 exercising what an importer must survive: merges and an
# octopus merge, renames and copies, symlinks, executable bits, a submodule gitlink,
# annotated and lightweight tags and a tag of a tag, a non-UTF-8 message with an
# encoding header, odd time zones, empty commits, empty files, CRLF and NUL bytes,
# long and quoted paths, several unrelated roots, and notes. Deterministic: fixed
# identities and dates, so object ids are the same on every run.
set -euo pipefail
repo=$1
git init -q -b main "$repo"
cd "$repo"
git config user.name "Fix Ture"
git config user.email "fixture@example.com"
git config core.autocrlf false
n=0
at() { # commit with a fixed date and time zone
  n=$((n + 1))
  GIT_AUTHOR_DATE="$((1600000000 + n * 3600)) $1" GIT_COMMITTER_DATE="$((1600000000 + n * 3600)) $1" \
    git commit -q "${@:2}"
}

printf 'hello\n' > hello.txt
: > empty
printf 'line one\r\nline two\r\n' > crlf.txt
printf 'bin\0ary\0' > nul.bin
mkdir -p "dir with spaces/sub" && printf 'q\n' > "dir with spaces/sub/\"quoted\"\tname.txt"
long=$(printf 'very-long-directory-name-%.0s' 1 2 3 4 5)
mkdir -p "$long/$long" && printf 'deep\n' > "$long/$long/file.txt"
printf '#!/bin/sh\necho run\n' > run.sh && chmod +x run.sh
ln -s hello.txt link
git add -A && at +0000 -m "root: many kinds of files"

git mv hello.txt greeting.txt && at +1345 -m "rename hello"
cp greeting.txt greeting-copy.txt && git add -A && at -0000 -m "copy greeting"
at +0530 --allow-empty -m "an empty commit"
printf 'Gr\xfc\xdfe\n' > latin1.txt && git add latin1.txt
git -c i18n.commitEncoding=ISO-8859-1 commit -q -F - <<< "$(printf 'Gr\xfc\xdfe aus ISO-8859-1')"
chmod -x run.sh && git add run.sh && at -0800 -m "run.sh no longer executable"

git checkout -q -b feature
printf 'feature\n' > feature.txt && git add -A && at +0200 -m "feature work"
git checkout -q main
printf 'main\n' > main.txt && git add -A && at +0200 -m "main work"
GIT_AUTHOR_DATE="1600100000 +0000" GIT_COMMITTER_DATE="1600100000 +0000" git merge -q --no-edit feature

for b in o1 o2 o3; do
  git checkout -q -b "$b" main
  printf '%s\n' "$b" > "$b.txt" && git add -A && at +0100 -m "octopus arm $b"
done
git checkout -q main
GIT_AUTHOR_DATE="1600200000 +0000" GIT_COMMITTER_DATE="1600200000 +0000" git merge -q --no-edit o1 o2 o3 >/dev/null

# A file replaced by a directory, and a directory by a file.
git rm -q empty && mkdir empty && printf 'now a dir\n' > empty/inside && git add -A && at +0000 -m "file becomes directory"
git rm -q -r "dir with spaces" && printf 'now a file\n' > "dir with spaces" && git add -A && at +0000 -m "directory becomes file"

# A submodule gitlink (no .gitmodules needed for the object graph).
git update-index --add --cacheinfo 160000,0123456789abcdef0123456789abcdef01234567,vendor/lib && at +0000 -m "add a gitlink"

git tag light HEAD~2
GIT_COMMITTER_DATE="1600300000 +0100" git tag -a -m "release 1" v1
GIT_COMMITTER_DATE="1600300001 +0100" git -c advice.nestedTag=false tag -a -m "tag of a tag" v1-signed-off v1
GIT_COMMITTER_DATE="1600300002 +0000" git notes add -m "a note on HEAD" HEAD

# A second, unrelated root.
git checkout -q --orphan other
git rm -q -r --cached . && git clean -q -fdx
printf 'other root\n' > other.txt && git add other.txt && at +0900 -m "unrelated root"
git checkout -q main
