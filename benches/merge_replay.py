#!/usr/bin/env python3
"""Scores git's merge engine on the merges `pg bench-merge --json` replayed, and
prints both tools side by side.

    merge_replay.py RECORDS.jsonl GIT_REPO PG_SECONDS

For each replayed merge, `git merge-tree --write-tree --stdin` (one process for
all merges, as pg bench-merge is one process) merges the same two parents; its
tree is compared with the committed merge's tree.
"""
import json
import subprocess
import sys
import time

records_path, repo, pg_seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
records, summary = [], None
for line in open(records_path):
    record = json.loads(line)
    if "summary" in record:
        summary = record["summary"]
    else:
        records.append(record)
if not records:
    sys.exit("no true merges to replay")

pairs = "".join(f"{r['git_parents'][0]} {r['git_parents'][1]}\n" for r in records)
git_seconds = None
for run in range(3):  # best of three, as for pg
    start = time.monotonic()
    out = subprocess.run(["git", "-C", repo, "merge-tree", "--write-tree", "--stdin", "--no-messages", "--name-only"],
                         input=pairs.encode(), stdout=subprocess.PIPE, check=True).stdout
    elapsed = time.monotonic() - start
    git_seconds = elapsed if git_seconds is None else min(git_seconds, elapsed)
fields = out.split(b"\0")
git_results, at = [], 0
while len(git_results) < len(records):
    status, tree = fields[at].decode(), fields[at + 1].decode()
    at += 2
    while fields[at] != b"":
        at += 1
    at += 1
    git_results.append((status == "1", tree))

committed = subprocess.run(["git", "-C", repo, "log", "--no-walk=unsorted", "--stdin", "--format=%T"],
                           input="".join(r["git_commit"] + "\n" for r in records).encode(),
                           stdout=subprocess.PIPE, check=True).stdout.decode().split()

git_counts = {"conflict": 0, "identical": 0, "wrong-clean": 0}
pg_counts = {"conflict": 0, "identical": 0, "wrong-clean": 0}
disagreements = []
for record, (clean, tree), commit_tree in zip(records, git_results, committed):
    git_class = "conflict" if not clean else ("identical" if tree == commit_tree else "wrong-clean")
    git_counts[git_class] += 1
    pg_counts[record["class"]] += 1
    if git_class != record["class"]:
        disagreements.append((record["git_commit"][:12], record["class"], git_class))

n = len(records)
def rate(counts, *classes):
    return 100.0 * sum(counts[c] for c in classes) / n

print(f"{n} true merges replayed")
print(f"{'':16}{'pg':>10}{'git':>10}")
print(f"{'clean rate':16}{rate(pg_counts, 'identical', 'wrong-clean'):9.1f}%{rate(git_counts, 'identical', 'wrong-clean'):9.1f}%")
print(f"{'identical rate':16}{rate(pg_counts, 'identical'):9.1f}%{rate(git_counts, 'identical'):9.1f}%")
print(f"{'wrong-clean':16}{pg_counts['wrong-clean']:10d}{git_counts['wrong-clean']:10d}")
print(f"{'conflicts':16}{pg_counts['conflict']:10d}{git_counts['conflict']:10d}")
print(f"{'time (s)':16}{pg_seconds:10.2f}{git_seconds:10.2f}   ratio pg/git {pg_seconds / git_seconds:.2f}")
if summary:
    settled = ", ".join(f"{name} {count}" for name, count in sorted(summary["settled"].items()))
    print(f"pg: paths both sides changed, settled by: {settled or 'none'}")
if disagreements:
    print(f"{len(disagreements)} merge(s) classed differently (commit, pg, git):")
    for row in disagreements[:20]:
        print("  ", *row)
