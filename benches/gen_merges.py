#!/usr/bin/env python3
"""Makes a git repository whose history is full of merges, the way teams make them.

    gen_merges.py DIR [MERGES] [SOURCE_DIR]

Real git does every merge; when it conflicts, the "person" resolves each conflicted
file by taking one side, or both sides' lines, or by rewriting the region, and some
clean merges are amended with a follow-up fix (an evil merge), as happens when a
merge is clean but wrong. Files are code-like text; branches edit, add, delete and
rename files. Deterministic (fixed seed). With SOURCE_DIR, the files start as real
source files from it (.rs, .py, .c, .js, .go) and new lines are drawn from those files,
so the history has real code's shape: braces, blank lines, repeated lines.
"""
import os
import random
import subprocess
import sys

rng = random.Random(20261122)
WORDS = "let fn if else return match self value count index name error result map push len".split()


def git(*args, check=True, capture=False):
    out = subprocess.run(["git", *args], cwd=REPO, check=check,
                         stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    return out.stdout.decode() if capture else out.returncode


REAL_LINES = []


def code_line():
    if REAL_LINES:
        return rng.choice(REAL_LINES)
    indent = "    " * rng.randint(0, 3)
    return indent + " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7))) + ";"


def new_file():
    lines = []
    for block in range(rng.randint(3, 12)):
        lines.append(f"fn f{rng.randint(0, 10**6)}() {{")
        lines.extend(code_line() for _ in range(rng.randint(2, 12)))
        lines.append("}")
        lines.append("")
    return lines


def read(path):
    with open(os.path.join(REPO, path)) as f:
        return f.read().split("\n")


def write(path, lines):
    full = os.path.join(REPO, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write("\n".join(lines))


def files():
    out = git("ls-files", capture=True)
    return [p for p in out.split("\n") if p]


def edit_some(count):
    """Edits, adds, deletes or renames a few files, then commits."""
    paths = files()
    for _ in range(count):
        roll = rng.random()
        if roll < 0.75 and paths:
            path = rng.choice(paths)
            lines = read(path)
            at = rng.randrange(len(lines) + 1)
            end = min(len(lines), at + rng.randint(0, 3))
            lines[at:end] = [code_line() for _ in range(rng.randint(0, 4))]
            write(path, lines)
        elif roll < 0.87:
            write(f"src/m{rng.randint(0, 40)}/f{rng.randint(0, 10**6)}.rs", new_file())
        elif roll < 0.94 and len(paths) > 20:
            path = rng.choice(paths)
            git("rm", "-q", "-f", path)
            paths.remove(path)
        elif paths:
            path = rng.choice(paths)
            target = f"src/m{rng.randint(0, 40)}/r{rng.randint(0, 10**6)}.rs"
            os.makedirs(os.path.dirname(os.path.join(REPO, target)), exist_ok=True)
            git("mv", path, target)
            paths.remove(path)
    git("add", "-A")
    git("commit", "-q", "--allow-empty", "-m", f"change {rng.randint(0, 10**9)}")


def resolve_conflicts():
    """Resolves every conflicted file as a person might, then commits."""
    conflicted = [p for p in git("diff", "--name-only", "--diff-filter=U", capture=True).split("\n") if p]
    for path in conflicted:
        choice = rng.random()
        if choice < 0.3:
            if git("checkout", "--ours", "--", path, check=False) != 0:
                git("rm", "-q", "--", path, check=False)
        elif choice < 0.55:
            if git("checkout", "--theirs", "--", path, check=False) != 0:
                git("rm", "-q", "--", path, check=False)
        elif os.path.exists(os.path.join(REPO, path)):
            lines = [l for l in read(path) if not l.startswith(("<<<<<<<", "=======", ">>>>>>>"))]
            if choice > 0.8:
                lines.append(code_line())
            write(path, lines)
        git("add", "-A", "--", path, check=False)
    git("add", "-A")
    git("commit", "-q", "--no-edit")


def real_sources(top):
    """Up to 60 real source files (as lists of lines), and their lines as the pool."""
    found = []
    for root, _, names in sorted(os.walk(top)):
        for name in sorted(names):
            if name.endswith((".rs", ".py", ".c", ".js", ".go")) and len(found) < 60:
                try:
                    with open(os.path.join(root, name)) as f:
                        lines = f.read().split("\n")
                except (UnicodeDecodeError, OSError):
                    continue
                if 20 <= len(lines) <= 2000:
                    found.append(lines)
    REAL_LINES.extend(line for lines in found for line in lines)
    return found


def main():
    global REPO
    REPO = sys.argv[1]
    merges = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    os.makedirs(REPO, exist_ok=True)
    for env in ["GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"]:
        os.environ[env] = "Gen"
    for env in ["GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"]:
        os.environ[env] = "gen@example.com"
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    os.environ["HOME"] = REPO
    git("init", "-q", "-b", "main")
    git("config", "merge.renames", "true")
    sources = real_sources(sys.argv[3]) if len(sys.argv) > 3 else []
    for i in range(60):
        write(f"src/m{i % 12}/f{i}.rs", sources[i % len(sources)] if sources else new_file())
    git("add", "-A")
    git("commit", "-q", "-m", "start")
    branches = []
    for n in range(merges):
        name = f"topic{n}"
        start = "main" if not branches or rng.random() < 0.8 else rng.choice(branches)
        git("checkout", "-q", "-b", name, start)
        for _ in range(rng.randint(1, 3)):
            edit_some(rng.randint(1, 4))
        if branches and rng.random() < 0.15:
            git("merge", "-q", "--no-edit", "main", check=False)
            if git("diff", "--name-only", "--diff-filter=U", capture=True).strip():
                resolve_conflicts()
        git("checkout", "-q", "main")
        for _ in range(rng.randint(0, 2)):
            edit_some(rng.randint(1, 3))
        if git("merge", "-q", "--no-ff", "--no-edit", name, check=False) != 0:
            resolve_conflicts()
        elif rng.random() < 0.05:
            edit_some(1)
            git("reset", "-q", "--soft", "HEAD~1")
            git("commit", "-q", "--amend", "--no-edit")
        branches.append(name)


main()
