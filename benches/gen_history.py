#!/usr/bin/env python3
"""Writes a git fast-import stream of a generated history to stdout, deterministically.

gen_history.py [COMMITS] [FILES]   (defaults: 20000 commits, tree growing to 3000 files)

Each commit edits a few files (appending and changing lines, as development does) and
now and then adds one; every 100 commits a side branch of 5 commits is merged back.
Feed it to `git fast-import` to make the repository the import benchmark starts from.
"""
import random
import sys

def main():
    commits = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    max_files = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    rng = random.Random(7)
    out = sys.stdout.buffer
    words = ["".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randint(3, 9))) for _ in range(2000)]
    files = {}  # path -> list of lines
    mark = 0
    when = 1500000000

    def line():
        return " ".join(rng.choice(words) for _ in range(rng.randint(4, 12)))

    def data(payload):
        out.write(b"data %d\n" % len(payload))
        out.write(payload)
        out.write(b"\n")

    def edit(ops):
        # Grow the tree towards max_files; otherwise edit existing files.
        if len(files) < max_files and (not files or rng.random() < max_files / commits * 1.5):
            path = "src/m%02d/f%04d.txt" % (len(files) % 37, len(files))
            files[path] = [line() for _ in range(rng.randint(5, 60))]
            ops.append(path)
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(list(files))
            body = files[path]
            if rng.random() < 0.6:
                body.append(line())
            else:
                body[rng.randrange(len(body))] = line()
            ops.append(path)

    def commit(ref, parents, message):
        nonlocal mark, when
        ops = []
        edit(ops)
        blob_marks = {}
        for path in dict.fromkeys(ops):
            mark += 1
            out.write(b"blob\nmark :%d\n" % mark)
            data(("\n".join(files[path]) + "\n").encode())
            blob_marks[path] = mark
        mark += 1
        when += 600
        out.write(b"commit %s\nmark :%d\n" % (ref.encode(), mark))
        out.write(b"author Dev %d <dev%d@example.com> %d +0000\n" % (mark % 7, mark % 7, when))
        out.write(b"committer Dev %d <dev%d@example.com> %d +0000\n" % (mark % 7, mark % 7, when))
        data(message.encode())
        for i, parent in enumerate(parents):
            out.write(b"%s :%d\n" % (b"from" if i == 0 else b"merge", parent))
        for path, blob in blob_marks.items():
            out.write(b"M 100644 :%d %s\n" % (blob, path.encode()))
        out.write(b"\n")
        return mark

    main_tip = None
    made = 0
    while made < commits:
        main_tip = commit("refs/heads/main", [main_tip] if main_tip else [], "change %d" % made)
        made += 1
        if made % 100 == 0 and made + 6 <= commits:
            side = main_tip
            for k in range(5):
                side = commit("refs/heads/side", [side], "side work %d.%d" % (made, k))
            main_tip = commit("refs/heads/main", [main_tip, side], "merge side %d" % made)
            made += 6
    out.write(b"done\n")

if __name__ == "__main__":
    main()
